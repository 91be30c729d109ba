"""The records that change-audit events touch: their state, their plaintext, and sealing.

Every payload is sealed the way the platform seals it, with the tenant's key::

    payload = nonce (12 bytes) || AES-256-GCM ciphertext || tag (16 bytes)
    AAD     = b"<tenant>/<table>/<datasheet>/<record_id>"   (table: audit_events or records)

The plaintext is a small JSON document of made-up record fields, a pure function of the
record's datasheet, number and version. Nonces come from ``os.urandom``, since a key reused by
a rerun must never see a nonce twice.
"""

from __future__ import annotations

import json
import os
from array import array
from collections.abc import Callable, Iterator

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from aptien_ops.backends.sandbox_platform.tables import AuditRow, RecordRow
from aptien_ops.backends.sandbox_platform.timeline import Converter, Timestamp
from aptien_ops.backends.sandbox_platform.vocabulary import (
    COMPANIES,
    COMPANY_DOMAINS,
    DEPARTMENTS,
    FIRST_NAMES,
    JOB_TITLES,
    LAST_NAMES,
    STAGES,
)
from aptien_ops.tenant_schema import DATASHEETS

#: Record id prefix per datasheet (employees, contacts, applicants).
_PREFIXES = ("emp", "con", "app")
STATUS_NAMES = ("active", "archived", "deleted")


def plaintext(
    sheet: int, rid: str, n: int, version: int, status: int, action: str | None, note: str
) -> bytes:
    """A record's fields as JSON; a pure function of (sheet, record number, version)."""
    h = (n * 2654435761 + sheet * 40503) & 0xFFFFFFFF
    first, last = FIRST_NAMES[h % 40], LAST_NAMES[(h >> 6) % 40]
    p = (h >> 3) + version // 4  # people change numbers now and then
    # Ofcom's drama range and the 555-01xx block: numbers that reach nobody.
    phone = f"+44 20 7946 0{p % 1000:03d}" if h & 1 else f"+1 202 555 01{p % 100:02d}"
    head = f'{{"id":"{rid}","version":{version},"status":"{STATUS_NAMES[status]}"'
    if action is not None:
        head += f',"event":"{action}"'
    if sheet == 0:
        title = JOB_TITLES[((h >> 12) + version // 3) % 20]
        fields = f'"job_title":"{title}","department":"{DEPARTMENTS[(h >> 17) % 8]}"'
    elif sheet == 1:
        c = (h >> 12) % 10
        email = f"{first.lower()}.{last.lower()}@{COMPANY_DOMAINS[c]}"
        fields = f'"company":"{COMPANIES[c]}","email":"{email}"'
    else:
        stage = STAGES[min(version - 1, 5)]
        fields = f'"applied_for":"{JOB_TITLES[(h >> 12) % 20]}","stage":"{stage}"'
    body = f',"first_name":"{first}","last_name":"{last}",{fields},"phone":"{phone}"'
    return f"{head}{body}{note}}}".encode()


class RecordBook:
    """The records the audit events touch: their state, and sealing of their payloads."""

    def __init__(self, tenant: str, key_id: str, key: bytes, marker: str | None) -> None:
        self.tenant, self.key_id = tenant, key_id
        self._encrypt = AESGCM(key).encrypt
        self._note = "" if marker is None else f',"note":{json.dumps(marker)}'
        # Compact columns: millions of records must not cost millions of objects.
        self._created = [array("q") for _ in DATASHEETS]
        self._updated = [array("q") for _ in DATASHEETS]
        self._version = [array("I") for _ in DATASHEETS]
        self._status = [array("b") for _ in DATASHEETS]
        self._nonces, self._pos = b"", 0

    @property
    def count(self) -> int:
        return sum(len(c) for c in self._created)

    def _seal(self, message: bytes, aad: bytes) -> bytes:
        if self._pos >= len(self._nonces):
            self._nonces, self._pos = os.urandom(12 * 4096), 0
        nonce = self._nonces[self._pos : self._pos + 12]
        self._pos += 12
        return nonce + self._encrypt(nonce, message, aad)

    def event(
        self,
        us: int,
        at: Timestamp,
        actor: str,
        action: str,
        sheet: int,
        rnd: Callable[[], float],
    ) -> AuditRow:
        """The audit event of ``actor`` doing ``action`` at ``us`` to a record of ``sheet``.

        Updates, archivals, exports and deletions pick an existing record (recent ones more
        often, ``rnd`` deciding) that the action still applies to; with none found, or for
        ``create``, the event creates a new record.
        """
        created, status, version = self._created[sheet], self._status[sheet], self._version[sheet]
        n, i = len(created), -1
        if action != "create" and n:
            allowed = 0 if action in ("update", "archive") else 1  # export/delete also see archived
            for _ in range(4):
                r = rnd()
                j = n - 1 - int(n * r * r)  # recent records are touched more often
                if status[j] <= allowed:
                    i = j
                    break
        if i < 0:
            action, i = "create", n
            created.append(us)
            self._updated[sheet].append(us)
            version.append(1)
            status.append(0)
        elif action != "export":
            self._updated[sheet][i] = us
            if action == "update":
                version[i] += 1
            else:
                status[i] = 1 if action == "archive" else 2
        rid = f"{_PREFIXES[sheet]}-{i + 1:06d}"
        payload = self._seal(
            plaintext(sheet, rid, i, version[i], status[i], action, self._note),
            f"{self.tenant}/audit_events/{DATASHEETS[sheet]}/{rid}".encode(),
        )
        return (at, actor, action, DATASHEETS[sheet], rid, self.key_id, len(payload), payload)

    def records(self, convert: Converter) -> Iterator[RecordRow]:
        """One row per record ever created, with its latest state freshly sealed."""
        for sheet, name in enumerate(DATASHEETS):
            created, updated = self._created[sheet], self._updated[sheet]
            version, status = self._version[sheet], self._status[sheet]
            for i in range(len(created)):
                rid = f"{_PREFIXES[sheet]}-{i + 1:06d}"
                payload = self._seal(
                    plaintext(sheet, rid, i, version[i], status[i], None, self._note),
                    f"{self.tenant}/records/{name}/{rid}".encode(),
                )
                yield (
                    rid,
                    name,
                    convert(created[i]),
                    convert(updated[i]),
                    self.key_id,
                    len(payload),
                    payload,
                )
