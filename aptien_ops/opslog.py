"""The tamper-evident ops log: an HMAC chain with a signed head kept outside the log table.

Each entry's HMAC covers every field, including the previous entry's HMAC (``prev_hash``), so
editing, deleting or reordering an entry breaks the chain at that entry. The head (last seq and
its HMAC, signed) lives in its own row, so cutting entries off the end is detected too. The key
is a file outside the catalog: someone who can write the catalog cannot forge entries.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from aptien_ops import keyfiles
from aptien_ops.domain import Identity, OpsLogEntry, OpsLogHead, iso
from aptien_ops.errors import IntegrityFailure

if TYPE_CHECKING:
    from aptien_ops.witness import WitnessReport

GENESIS = "0" * 64
_SECRETISH = re.compile(r"pass|secret|token|key|credential", re.IGNORECASE)


def load_or_create_key(path: Path, *, create: bool, strict_modes: bool = False) -> bytes:
    """The HMAC key. Created (0600, in a 0700 directory) only when ``create`` is true.

    Raises:
        ConfigError: the key file is missing (and may not be created) or unreadable.
        IntegrityFailure: ``strict_modes`` (production) and the file is not private.
    """
    return keyfiles.load_or_create_key(
        path,
        create=create,
        what=keyfiles.OPSLOG_KEY,
        hint=f"{keyfiles.ESCROW_HINT}; without it the log cannot be verified or extended",
        strict_modes=strict_modes,
    )


def redact(params: Mapping[str, object]) -> dict[str, object]:
    """Parameters fit to store: anything that looks like a secret is replaced."""
    out: dict[str, object] = {}
    for name, value in params.items():
        out[name] = "[redacted]" if _SECRETISH.search(name) else value
    return out


def canonical_params(params: Mapping[str, object]) -> str:
    return json.dumps(
        redact(params), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )


def _mac(key: bytes, fields: Iterable[object]) -> str:
    message = json.dumps(list(fields), separators=(",", ":"), ensure_ascii=False).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def entry_mac(key: bytes, e: OpsLogEntry) -> str:
    return _mac(
        key,
        (
            e.seq,
            e.at,
            e.operator,
            e.os_account,
            e.ssh_origin,
            e.session_id,
            e.action,
            e.target,
            e.params,
            e.outcome,
            e.approval_id,
            e.prev_hash,
        ),
    )


def head_signature(key: bytes, seq: int, last_hmac: str) -> str:
    return _mac(key, ("ops-log-head", seq, last_hmac))


def head_is_signed(key: bytes, head: OpsLogHead) -> bool:
    """Whether ``head`` carries the signature only the ops-log key makes."""
    return hmac.compare_digest(head_signature(key, head.seq, head.hmac), head.signature)


@dataclass(frozen=True)
class Event:
    """What happened, before it gets its place in the chain."""

    action: str
    target: str
    params: Mapping[str, object]
    outcome: str
    approval_id: int | None = None


RESTORE_HINT = (
    "restore the catalog from a backup; aptien-ops ops-log verify --witness names what is lost"
)


def head_missing() -> IntegrityFailure:
    """The head checkpoint row is gone: the log was wiped, never a reason to start afresh."""
    return IntegrityFailure(
        "the ops log's head checkpoint row is missing from the catalog", hint=RESTORE_HINT
    )


def head_blanked() -> IntegrityFailure:
    """The head was reset to an empty, unsigned one on a log that has entries."""
    return IntegrityFailure(
        "the ops log has entries but its head checkpoint was blanked: refusing to start a new log",
        hint=RESTORE_HINT,
    )


def extendable_head(key: bytes, head: OpsLogHead | None) -> OpsLogHead:
    """``head``, checked before an entry is chained onto it.

    Raises:
        IntegrityFailure: the head row is missing, blanked or does not carry its signature:
            extending the log from there would hide what happened to it.
    """
    if head is None:
        raise head_missing()
    if not head.signature:
        raise head_blanked()
    if not hmac.compare_digest(head_signature(key, head.seq, head.hmac), head.signature):
        raise IntegrityFailure(
            "the ops log head checkpoint was tampered with: refusing to extend the log",
            hint=RESTORE_HINT,
        )
    return head


def genesis_head(key: bytes) -> OpsLogHead:
    """The signed head of an empty log, written when the catalog is created."""
    return OpsLogHead(seq=0, hmac=GENESIS, signature=head_signature(key, 0, GENESIS))


def draft(who: Identity, event: Event, at: datetime, seq: int = 0, prev: str = "") -> OpsLogEntry:
    """``event`` as an entry not yet chained (no HMAC; seq 0 until it has its place)."""
    return OpsLogEntry(
        seq=seq,
        at=iso(at) or "",
        operator=who.operator,
        os_account=who.os_account,
        ssh_origin=who.ssh_origin,
        session_id=who.session_id,
        action=event.action,
        target=event.target,
        params=canonical_params(event.params),
        outcome=event.outcome,
        approval_id=event.approval_id,
        prev_hash=prev,
        hmac="",
    )


def next_entry(
    key: bytes, head: OpsLogHead | None, who: Identity, event: Event, at: datetime
) -> tuple[OpsLogEntry, OpsLogHead]:
    """Chain ``event`` after ``head``; returns the entry and the new signed head."""
    seq = (head.seq if head else 0) + 1
    prev = head.hmac if head and head.seq else GENESIS
    unsigned = draft(who, event, at, seq, prev)
    mac = entry_mac(key, unsigned)
    entry = replace(unsigned, hmac=mac)
    return entry, OpsLogHead(seq=seq, hmac=mac, signature=head_signature(key, seq, mac))


@dataclass(frozen=True)
class VerifyReport:
    entries: int
    head_seq: int
    witness: WitnessReport | None = None
    """What the witnesses outside the catalog saw (``ops-log verify --witness``)."""

    def as_json(self) -> dict[str, object]:
        body: dict[str, object] = {"ok": True, "entries": self.entries, "head_seq": self.head_seq}
        if self.witness is not None:
            body["witness"] = self.witness.as_json()
        return body


def verify_chain(
    key: bytes, entries: Iterable[OpsLogEntry], head: OpsLogHead | None
) -> VerifyReport:
    """Walk the chain in ``seq`` order.

    Raises:
        IntegrityFailure: naming the first entry that was edited, removed or reordered, a
            tampered head, or a truncated tail.
    """
    expected_seq, prev, count = 1, GENESIS, 0
    for e in entries:
        if e.seq != expected_seq:
            if e.seq > expected_seq:
                missing = (
                    f"#{expected_seq}"
                    if e.seq == expected_seq + 1
                    else f"#{expected_seq}–#{e.seq - 1}"
                )
                raise IntegrityFailure(
                    f"ops log entry {missing} is missing (deleted) before entry #{e.seq}"
                )
            raise IntegrityFailure(
                f"ops log entry #{e.seq} is out of order (expected #{expected_seq})"
            )
        if not hmac.compare_digest(entry_mac(key, e), e.hmac):
            raise IntegrityFailure(
                f"ops log entry #{e.seq} was edited: its HMAC does not match its content"
            )
        if e.prev_hash != prev:
            raise IntegrityFailure(
                f"ops log entry #{e.seq} does not follow entry #{e.seq - 1}: "
                "entries were removed or reordered"
            )
        prev, expected_seq, count = e.hmac, e.seq + 1, count + 1
    last_seq = expected_seq - 1
    if head is None:
        raise IntegrityFailure("the ops log head checkpoint is missing")
    if not head_is_signed(key, head):
        raise IntegrityFailure("the ops log head checkpoint was tampered with")
    if head.seq > last_seq:
        raise IntegrityFailure(
            f"the ops log was truncated: "
            f"entries #{last_seq + 1}–#{head.seq} are missing from the end"
        )
    if head.seq < last_seq:
        raise IntegrityFailure(
            f"ops log entries after #{head.seq} were not appended through the console"
        )
    if not hmac.compare_digest(head.hmac, prev):
        raise IntegrityFailure(f"ops log entry #{head.seq} does not match the signed head")
    return VerifyReport(entries=count, head_seq=head.seq)
