"""Synthetic but realistic platform activity in a tenant database, written as the platform writes it.

For demos and for benchmarking inspection: users, 90 days of logins (business-hours heavy,
with bursts of failures from one IP), change-audit events and the records they touched. Every
payload is sealed the way the platform seals it, with the tenant's own key from ``key_dir``, a
directory the console never reads::

    payload = nonce (12 bytes) || AES-256-GCM ciphertext || tag (16 bytes)
    AAD     = b"<tenant>/<table>/<datasheet>/<record_id>"   (table: audit_events or records)

The plaintext is a small JSON document of made-up record fields. Metadata (times, actors,
actions, ids, IPs) is a pure function of (tenant, seed, now); nonces come from ``os.urandom``,
since a key reused by a rerun must never see a nonce twice. Names, emails and phone numbers are
fictional: built from small lists, on ``*.example`` domains, in reserved phone ranges, with IPs
from the documentation ranges (RFC 5737, RFC 3849).
"""

from __future__ import annotations

import base64
import json
import os
import random
import secrets
import sqlite3
import stat
import time
import zlib
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import chain, islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from aptien_ops.domain import validate_tenant_name
from aptien_ops.errors import (
    Conflict,
    IntegrityFailure,
    InvalidInput,
    NotFound,
    OpsError,
    Unavailable,
)
from aptien_ops.tenant_schema import DATASHEETS

if TYPE_CHECKING:
    import psycopg

BATCH_ROWS = 50_000
#: SQLite page cache while seeding (negative: KiB), restored afterwards.
SQLITE_CACHE_KIB = -262_144
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
KEY_FILE_VERSION = 1

#: (table, columns) in the order rows are generated.
_COLUMNS: dict[str, tuple[str, ...]] = {
    "users": ("email", "display_name", "created_at", "active", "is_admin"),
    "login_events": ("at", "user_email", "ip", "user_agent", "result", "method"),
    "audit_events": (
        "at",
        "actor",
        "action",
        "datasheet",
        "record_id",
        "key_id",
        "payload_size",
        "payload",
    ),
    "records": ("id", "datasheet", "created_at", "updated_at", "key_id", "payload_size", "payload"),
}


@dataclass(frozen=True)
class SeedStats:
    """Rows written per table, and the wall time the seed took."""

    users: int
    logins: int
    audit_events: int
    records: int
    seconds: float


# ----------------------------------------------------------------------------- the tenant key


def platform_key(key_dir: Path, tenant: str, *, create: bool = True) -> tuple[str, bytes]:
    """The tenant's payload key as ``(key_id, 32-byte key)``, from ``key_dir/<tenant>.key``.

    With ``create`` a missing key is generated; the directory is made ``0700`` and the file
    ``0600``, written completely before it appears (a concurrent creator's key wins).

    Raises:
        InvalidInput: invalid tenant name, or the directory or file is open to group/others
            or is not a regular directory/file.
        NotFound: no key file and ``create`` is false.
        IntegrityFailure: the key file is malformed.
        Unavailable: the file system refused.
    """
    validate_tenant_name(tenant)
    key_dir = Path(key_dir)
    path = key_dir / f"{tenant}.key"
    try:
        if create:
            _private_directory(key_dir)
        try:
            return _read_key(path)
        except FileNotFoundError:
            if not create:
                raise NotFound(f"no platform key for tenant {tenant!r} in {key_dir}") from None
        return _write_key(path, tenant)
    except OSError as exc:
        raise Unavailable(
            f"platform key for tenant {tenant!r}: {exc.strerror or exc} ({key_dir})"
        ) from None


def _private_directory(key_dir: Path) -> None:
    try:
        key_dir.mkdir(mode=0o700, parents=True)
        os.chmod(key_dir, 0o700)  # mkdir's mode passes through the umask
    except FileExistsError:
        pass
    info = key_dir.lstat()
    if not stat.S_ISDIR(info.st_mode):
        raise InvalidInput(f"the key directory {key_dir} is not a directory")
    if info.st_mode & 0o077:
        raise InvalidInput(
            f"the key directory {key_dir} is open to group/others", hint=f"chmod 700 {key_dir}"
        )


def _read_key(path: Path) -> tuple[str, bytes]:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise InvalidInput(f"the key file {path} is not a regular file")
        if info.st_mode & 0o077:
            raise InvalidInput(
                f"the key file {path} is open to group/others", hint=f"chmod 600 {path}"
            )
        raw = fh.read(4096)
    try:
        doc = json.loads(raw)
        key_id, key = doc["key_id"], base64.b64decode(doc["key"], validate=True)
    except (ValueError, KeyError, TypeError):
        raise IntegrityFailure(f"the key file {path} is malformed") from None
    if not isinstance(key_id, str) or not key_id or len(key) != 32:
        raise IntegrityFailure(f"the key file {path} does not hold a 256-bit key and a key id")
    return key_id, key


def _write_key(path: Path, tenant: str) -> tuple[str, bytes]:
    key_id, key = f"tk-{secrets.token_hex(8)}", AESGCM.generate_key(bit_length=256)
    doc = {
        "version": KEY_FILE_VERSION,
        "tenant": tenant,
        "alg": "AES-256-GCM",
        "key_id": key_id,
        "key": base64.b64encode(key).decode("ascii"),
    }
    partial = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.partial")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            # link, unlike rename, never replaces a key a concurrent run already created.
            os.link(partial, path)
        except FileExistsError:
            return _read_key(path)
    finally:
        partial.unlink(missing_ok=True)
    return key_id, key


# ----------------------------------------------------------------------------- fictional pools

FIRST_NAMES = (
    "Amara",
    "Bjorn",
    "Chen",
    "Dalia",
    "Emeka",
    "Farah",
    "Goran",
    "Hana",
    "Ines",
    "Jonas",
    "Kofi",
    "Leila",
    "Mateo",
    "Nadia",
    "Oskar",
    "Priya",
    "Quentin",
    "Rosa",
    "Sanjay",
    "Tamsin",
    "Umar",
    "Vera",
    "Wei",
    "Ximena",
    "Yusuf",
    "Zofia",
    "Aiko",
    "Bruno",
    "Carmen",
    "Dmitri",
    "Elena",
    "Felix",
    "Greta",
    "Hugo",
    "Ingrid",
    "Jamal",
    "Kaori",
    "Lars",
    "Mina",
    "Nikolai",
)
LAST_NAMES = (
    "Abara",
    "Berg",
    "Castillo",
    "Dubois",
    "Eriksen",
    "Fontaine",
    "Garcia",
    "Haddad",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quispe",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Underwood",
    "Varga",
    "Weber",
    "Xu",
    "Yamamoto",
    "Zielinski",
    "Adeyemi",
    "Bauer",
    "Costa",
    "Dahl",
    "Esposito",
    "Fischer",
    "Gomez",
    "Horvath",
    "Iqbal",
    "Janssen",
    "Kim",
    "Larsen",
    "Mendes",
    "Novak",
)
JOB_TITLES = (
    "Accountant",
    "Account Executive",
    "Backend Engineer",
    "Data Analyst",
    "Facilities Coordinator",
    "Finance Manager",
    "Frontend Engineer",
    "HR Business Partner",
    "IT Support Specialist",
    "Legal Counsel",
    "Marketing Manager",
    "Office Manager",
    "Operations Lead",
    "Payroll Specialist",
    "Product Designer",
    "Product Manager",
    "Recruiter",
    "Sales Manager",
    "Site Reliability Engineer",
    "Support Engineer",
)
DEPARTMENTS = (
    "Engineering",
    "Finance",
    "Legal",
    "Marketing",
    "Operations",
    "People",
    "Sales",
    "Support",
)
#: Well-known fictitious company names.
COMPANIES = (
    "Northwind Traders",
    "Contoso",
    "Fabrikam",
    "Tailspin Toys",
    "Wide World Importers",
    "Adventure Works",
    "Litware",
    "Proseware",
    "Woodgrove Bank",
    "Alpine Ski House",
)
_COMPANY_DOMAINS = tuple(c.lower().replace(" ", "") + ".example" for c in COMPANIES)
STAGES = ("applied", "screening", "interview", "offer", "hired", "rejected")
BROWSER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.67",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36",
    "AptienMobile/3.8.1 (iOS 17.4; iPhone15,2)",
)
SCRIPT_AGENTS = (
    "python-requests/2.31.0",
    "curl/8.5.0",
    "Go-http-client/1.1",
    "Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1)",
)
#: Mailboxes credential-stuffing lists try on every domain; no real user's address looks like these.
STUFFING_NAMES = (
    "admin",
    "info",
    "hr",
    "payroll",
    "it",
    "finance",
    "office",
    "support",
    "ceo",
    "accounts",
)

METHOD_MIX = ("sso",) * 5 + ("totp",) * 3 + ("password",) * 2
#: Per login method, 1000 outcomes to draw from: mostly success, a realistic tail of failures.
OUTCOMES: dict[str, tuple[str, ...]] = {
    "password": ("failure:bad_password",) * 30
    + ("failure:unknown_user",) * 6
    + ("failure:locked",) * 3
    + ("success",) * 961,
    "totp": ("failure:bad_password",) * 24
    + ("failure:mfa",) * 14
    + ("failure:unknown_user",) * 6
    + ("failure:locked",) * 3
    + ("success",) * 953,
    "sso": ("failure:mfa",) * 6 + ("failure:locked",) * 2 + ("success",) * 992,
}
ACTIONS = (
    ("create",) * 22 + ("update",) * 53 + ("export",) * 10 + ("archive",) * 9 + ("delete",) * 6
)
#: Datasheet index per tenth: employees 50%, contacts 30%, applicants 20%.
SHEET_MIX = (0,) * 5 + (1,) * 3 + (2,) * 2
_PREFIXES = ("emp", "con", "app")
STATUS_NAMES = ("active", "archived", "deleted")

US = 1_000_000
HOUR_US = 3600 * US
WINDOW_HOURS = 90 * 24
#: Relative activity per UTC hour, weekdays then weekends: office hours carry most of it.
_WEEKDAY = (1, 1, 1, 1, 1, 1, 4, 12, 30, 30, 30, 30, 20, 28, 28, 28, 28, 14, 5, 5, 5, 5, 2, 2)
_WEEKEND = (1, 1, 1, 1, 1, 1, 1, 1, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 2, 2, 2, 2)

Converter = Callable[[int], Any]
"""Microseconds since the epoch to the dialect's timestamp value."""


def _pg_time(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def _iso_converter() -> Converter:
    """``YYYY-MM-DDTHH:MM:SS.ffffffZ`` strings, formatting each hour's date part only once."""
    hours: dict[int, str] = {}

    def convert(us: int) -> str:
        hour, rest = divmod(us, HOUR_US)
        prefix = hours.get(hour)
        if prefix is None:
            prefix = hours[hour] = (EPOCH + timedelta(hours=hour)).strftime("%Y-%m-%dT%H:")
        minute, rest = divmod(rest, 60 * US)
        second, frac = divmod(rest, US)
        return f"{prefix}{minute:02d}:{second:02d}.{frac:06d}Z"

    return convert


def _plaintext(
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
        body = (
            f',"first_name":"{first}","last_name":"{last}","job_title":"{JOB_TITLES[((h >> 12) + version // 3) % 20]}",'
            f'"department":"{DEPARTMENTS[(h >> 17) % 8]}","phone":"{phone}"'
        )
    elif sheet == 1:
        c = (h >> 12) % 10
        body = (
            f',"first_name":"{first}","last_name":"{last}","company":"{COMPANIES[c]}",'
            f'"email":"{first.lower()}.{last.lower()}@{_COMPANY_DOMAINS[c]}","phone":"{phone}"'
        )
    else:
        body = (
            f',"first_name":"{first}","last_name":"{last}","applied_for":"{JOB_TITLES[(h >> 12) % 20]}",'
            f'"stage":"{STAGES[min(version - 1, 5)]}","phone":"{phone}"'
        )
    return f"{head}{body}{note}}}".encode()


class _RecordBook:
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

    def _seal(self, plaintext: bytes, aad: bytes) -> bytes:
        if self._pos >= len(self._nonces):
            self._nonces, self._pos = os.urandom(12 * 4096), 0
        nonce = self._nonces[self._pos : self._pos + 12]
        self._pos += 12
        return nonce + self._encrypt(nonce, plaintext, aad)

    def event(
        self, us: int, at: Any, actor: str, action: str, sheet: int, rnd: Callable[[], float]
    ) -> tuple[Any, ...]:
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
            _plaintext(sheet, rid, i, version[i], status[i], action, self._note),
            f"{self.tenant}/audit_events/{DATASHEETS[sheet]}/{rid}".encode(),
        )
        return (at, actor, action, DATASHEETS[sheet], rid, self.key_id, len(payload), payload)

    def records(self, convert: Converter) -> Iterator[tuple[Any, ...]]:
        """One row per record ever created, with its latest state freshly sealed."""
        for sheet, name in enumerate(DATASHEETS):
            created, updated = self._created[sheet], self._updated[sheet]
            version, status = self._version[sheet], self._status[sheet]
            for i in range(len(created)):
                rid = f"{_PREFIXES[sheet]}-{i + 1:06d}"
                payload = self._seal(
                    _plaintext(sheet, rid, i, version[i], status[i], None, self._note),
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


class _Activity:
    """Users, logins and audit events of one tenant, generated in time order."""

    def __init__(self, seed: int, tenant: str, users: int, now_us: int, convert: Converter) -> None:
        root = random.Random(seed)
        # Separate streams: the audit trail does not change when only the login count does.
        self._seeds = {name: root.getrandbits(64) for name in ("people", "logins", "audit")}
        self.domain, self.convert = f"{tenant}.example", convert
        self.start_us = now_us - WINDOW_HOURS * HOUR_US
        self._people(random.Random(self._seeds["people"]), users, now_us)

    def _people(self, rng: random.Random, n: int, now_us: int) -> None:
        self.offices = [f"198.51.100.{rng.randrange(2, 250)}" for _ in range(rng.randint(2, 5))]
        taken: dict[str, int] = {}
        self.emails, self.typos, self.ips, self.agents, self.methods = [], [], [], [], []
        self.rows: list[tuple[Any, ...]] = []
        admins = min(8, 1 + n // 40)
        for i in range(n):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            base = f"{first}.{last}".lower()
            taken[base] = taken.get(base, 0) + 1
            local = base if taken[base] == 1 else f"{base}{taken[base]}"
            email = f"{local}@{self.domain}"
            ips = [rng.choice(self.offices), f"192.0.2.{rng.randrange(1, 255)}"]
            if rng.random() < 0.3:
                ips.append(
                    f"2001:db8:{rng.randrange(1, 0x1000):x}:{rng.randrange(0x10000):x}::{rng.randrange(1, 0x10000):x}"
                )
            if rng.random() < 0.4:
                ips.append(f"192.0.2.{rng.randrange(1, 255)}")
            self.emails.append(email)
            self.typos.append(
                f"{local.replace('.', '')}@{self.domain}"
            )  # a dropped dot: no such user
            self.ips.append(tuple(ips))
            self.agents.append(tuple(rng.sample(BROWSER_AGENTS, rng.randint(1, 2))))
            self.methods.append(rng.choice(METHOD_MIX))
            created = now_us - rng.randrange(91 * 24 * HOUR_US, 3 * 365 * 24 * HOUR_US)
            active = i == 0 or rng.random() >= 0.05
            self.rows.append((email, f"{first} {last}", created, active, i < admins))
        active_ids = [i for i, row in enumerate(self.rows) if row[3]]
        size = max(4096, 4 * len(active_ids))
        # A few people log in and edit far more than the rest.
        weights = [min(rng.paretovariate(1.2), 25.0) for _ in active_ids]
        self.login_pool = rng.choices(active_ids, weights, k=size) if active_ids else []
        editors = [w * (20.0 if rng.random() < 0.2 else 1.0) for w in weights]
        self.actor_pool = (
            [self.emails[i] for i in rng.choices(active_ids, editors, k=size)] if active_ids else []
        )

    def users(self) -> Iterator[tuple[Any, ...]]:
        convert = self.convert
        for email, name, created, active, admin in self.rows:
            yield (email, name, convert(created), active, admin)

    def _hourly_counts(self, rng: random.Random, total: int) -> list[int]:
        """``total`` spread over the window's hours by weekday, hour of day and a daily swing."""
        swing = [rng.uniform(0.7, 1.3) for _ in range(WINDOW_HOURS // 24 + 1)]
        cum, acc = [], 0
        for b in range(WINDOW_HOURS):
            mid = EPOCH + timedelta(microseconds=self.start_us + b * HOUR_US + HOUR_US // 2)
            table = _WEEKDAY if mid.weekday() < 5 else _WEEKEND
            acc += int(table[mid.hour] * swing[b // 24] * 1000)
            cum.append(acc)
        # Integer arithmetic so the counts add up to exactly ``total``.
        edges = [total * c // acc for c in cum]
        return [edges[0]] + [edges[b] - edges[b - 1] for b in range(1, WINDOW_HOURS)]

    def logins(self, total: int) -> Iterator[tuple[Any, ...]]:
        rng = random.Random(self._seeds["logins"])
        rnd, convert = rng.random, self.convert
        bursts, burst_rows = self._bursts(rng, total)
        pool, size = self.login_pool, len(self.login_pool)
        emails, typos, ips, agents, methods = (
            self.emails,
            self.typos,
            self.ips,
            self.agents,
            self.methods,
        )
        for b, count in enumerate(self._hourly_counts(rng, total - burst_rows)):
            base = self.start_us + b * HOUR_US
            rows = []
            for off in sorted([int(rnd() * HOUR_US) for _ in range(count)]):
                u = pool[int(rnd() * size)]
                mine, uas, method = ips[u], agents[u], methods[u]
                result = OUTCOMES[method][int(rnd() * 1000)]
                email = typos[u] if result == "failure:unknown_user" else emails[u]
                rows.append(
                    (
                        convert(base + off),
                        email,
                        mine[int(rnd() * len(mine))],
                        uas[int(rnd() * len(uas))],
                        result,
                        method,
                    )
                )
            if b in bursts:
                rows.extend(bursts[b])
                rows.sort(key=lambda row: row[0])
            yield from rows

    def _bursts(
        self, rng: random.Random, total: int
    ) -> tuple[dict[int, list[tuple[Any, ...]]], int]:
        """Bursts of 20-50 failed logins within minutes from one IP, by hour of the window."""
        bursts: dict[int, list[tuple[Any, ...]]] = {}
        if total < 100 or not self.login_pool:
            return bursts, 0
        used = 0
        for n in range(max(1, total // 20_000)):
            size = rng.randint(20, 50)
            if used + size + 1 > total // 4:
                break
            b = rng.randrange(WINDOW_HOURS)
            span = rng.randint(90, 420) * US
            start = self.start_us + b * HOUR_US + rng.randrange(HOUR_US - span)
            times = sorted(start + rng.randrange(span) for _ in range(size + 1))
            # The first burst always comes from an address the tenant has never seen.
            rows = list(
                self._burst_rows(
                    rng, [self.convert(t) for t in times], rng.random() * (0.85 if n == 0 else 1)
                )
            )
            bursts.setdefault(b, []).extend(rows)
            used += len(rows)
        return bursts, used

    def _burst_rows(
        self, rng: random.Random, times: list[Any], kind: float
    ) -> Iterator[tuple[Any, ...]]:
        """Failed logins at ``times[:-1]``; at ``times[-1]`` only if the attacker got in.

        ``kind`` < 0.45: guessing one account's password; < 0.85: credential stuffing across
        accounts and generic mailboxes; else a compromised or misconfigured office machine.
        """
        if kind < 0.85:
            # A first-seen address: nobody at the tenant ever used 203.0.113.0/24.
            ip = (
                f"203.0.113.{rng.randrange(1, 255)}"
                if rng.random() < 0.9
                else f"2001:db8:ffff:{rng.randrange(0x10000):x}::{rng.randrange(1, 0x10000):x}"
            )
        else:
            ip = rng.choice(self.offices)
        victims = [
            self.emails[rng.choice(self.login_pool)]
            for _ in range(1 if kind < 0.45 else rng.randint(2, 5))
        ]
        if 0.45 <= kind < 0.85:
            victims += [
                f"{name}@{self.domain}" for name in rng.sample(STUFFING_NAMES, rng.randint(2, 6))
            ]
        agent = rng.choice(SCRIPT_AGENTS if kind < 0.45 else BROWSER_AGENTS)
        real, tries = set(self.emails), dict.fromkeys(victims, 0)
        lock_after = rng.randint(5, 10)
        for j, at in enumerate(times[:-1]):
            email = victims[j % len(victims)]
            tries[email] += 1
            if email not in real:
                result = "failure:unknown_user"
            else:
                result = "failure:locked" if tries[email] > lock_after else "failure:bad_password"
            yield (at, email, ip, agent, result, "password")
        if 0.45 <= kind < 0.85 and rng.random() < 0.2:
            # The stuffing list held one valid password: the detection story inspection is for.
            yield (times[-1], victims[0], ip, agent, "success", "password")

    def audit_events(self, total: int, book: _RecordBook) -> Iterator[tuple[Any, ...]]:
        rng = random.Random(self._seeds["audit"])
        rnd, convert, event = rng.random, self.convert, book.event
        actors, size = self.actor_pool, len(self.actor_pool)
        for b, count in enumerate(self._hourly_counts(rng, total)):
            base = self.start_us + b * HOUR_US
            for off in sorted([int(rnd() * HOUR_US) for _ in range(count)]):
                us = base + off
                yield event(
                    us,
                    convert(us),
                    actors[int(rnd() * size)],
                    ACTIONS[int(rnd() * 100)],
                    SHEET_MIX[int(rnd() * 10)],
                    rnd,
                )


# ----------------------------------------------------------------------------- seeding


def seed_tenant(
    conn: Any,
    dialect: str,
    tenant: str,
    *,
    users: int,
    audit_events: int,
    logins: int,
    seed: int,
    key_dir: Path,
    now: datetime,
    marker: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SeedStats:
    """Fill an empty tenant database (schema applied) with platform activity, in batches.

    ``conn`` is a ``psycopg.Connection`` (``dialect="postgresql"``) or a ``sqlite3.Connection``
    (``"sqlite"``) to the tenant's database as its owner; each batch is committed on it.
    Logins and audit events cover the 90 days before ``now``. ``marker``, if given, is written
    into every payload plaintext and nowhere else. ``progress(done, total)`` is called after
    every committed batch; ``total`` grows once, when the number of distinct records is known.

    Raises:
        InvalidInput: bad counts, dialect, tenant name or marker, a naive ``now``; key file
            problems as in :func:`platform_key`.
        Conflict: the tables are missing or already hold activity, or the database is busy.
        Forbidden: the role may not write the tables (PostgreSQL).
        Unavailable: the database or the key directory cannot be used.
    """
    started = time.monotonic()
    validate_tenant_name(tenant)
    if dialect not in ("postgresql", "sqlite"):
        raise InvalidInput(f"unknown dialect {dialect!r}: postgresql or sqlite")
    for name, value in (("users", users), ("audit_events", audit_events), ("logins", logins)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidInput(f"{name} must be a non-negative integer, not {value!r}")
    if users < 1 and (audit_events or logins):
        raise InvalidInput("logins and audit events need at least one user")
    if marker is not None and (not isinstance(marker, str) or not marker):
        raise InvalidInput("the marker must be a non-empty string")
    if now.tzinfo is None or now.utcoffset() is None:
        raise InvalidInput("now must be timezone-aware")
    key_id, key = platform_key(key_dir, tenant)

    now_us = (now - EPOCH) // timedelta(microseconds=1)
    postgres = dialect == "postgresql"
    activity = _Activity(
        zlib.crc32(f"{tenant}:{seed}".encode()),
        tenant,
        users,
        now_us,
        _pg_time if postgres else _iso_converter(),
    )
    book = _RecordBook(tenant, key_id, key, marker)
    done, total = 0, users + logins + audit_events

    def advance(rows: int) -> None:
        nonlocal done
        done += rows
        if progress is not None:
            progress(done, total)

    what = f"tenant {tenant!r}: seed platform activity"
    if postgres:
        import psycopg  # here, so seeding SQLite never loads the PostgreSQL driver

        driver_error: type[Exception] = psycopg.Error
    else:
        driver_error = sqlite3.Error
    try:
        write, restore = _pg_session(conn, what) if postgres else _sqlite_session(conn, what)
        try:
            write("users", activity.users(), advance)
            write("login_events", activity.logins(logins), advance)
            write("audit_events", activity.audit_events(audit_events, book), advance)
            total += book.count
            write("records", book.records(activity.convert), advance)
        finally:
            restore()
    except driver_error as exc:
        _rollback(conn, driver_error)
        raise _translate(exc, what) from None
    except OpsError:
        _rollback(conn, driver_error)
        raise
    return SeedStats(users, logins, audit_events, book.count, time.monotonic() - started)


def _rollback(conn: Any, driver_error: type[Exception]) -> None:
    try:
        conn.rollback()
    except driver_error:
        pass  # the connection is gone; the original error is the one to report


def _translate(exc: Exception, what: str) -> OpsError:
    if isinstance(exc, sqlite3.Error):
        busy = isinstance(exc, sqlite3.IntegrityError) or "locked" in str(exc) or "busy" in str(exc)
        return (Conflict if busy else Unavailable)(f"{what}: {' '.join(str(exc).split())}")
    import psycopg

    from aptien_ops.backends.pg_common import translate_pg_error

    if isinstance(exc, psycopg.Error):
        return translate_pg_error(exc, what)
    return Unavailable(f"{what}: {exc}")


def _missing_or_busy(what: str, table: str, columns: set[str], holds_rows: bool) -> None:
    missing = [c for c in _COLUMNS[table] if c not in columns]
    if missing:
        lacking = (
            f"no table {table}" if not columns else f"table {table} lacks {', '.join(missing)}"
        )
        raise Conflict(f"{what}: {lacking}; apply the tenant schema before seeding")
    if holds_rows:
        raise Conflict(
            f"{what}: table {table} already holds rows", hint="seed a freshly provisioned tenant"
        )


# PostgreSQL: binary COPY, with column types read from the catalog so the wire format matches.

Writer = Callable[[str, Iterable[tuple[Any, ...]], Callable[[int], None]], None]


def _pg_session(conn: psycopg.Connection, what: str) -> tuple[Writer, Callable[[], None]]:
    from psycopg import sql

    types: dict[str, list[str]] = {}
    for table, columns in _COLUMNS.items():
        found: dict[str, str] = dict(
            conn.execute(
                "SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid"
                " WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped",
                (f"public.{table}",),
            ).fetchall()
        )
        rows = bool(found) and conn.execute(
            sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.Identifier("public", table))
        ).fetchone() == (True,)
        _missing_or_busy(what, table, set(found), rows)
        types[table] = [found[c] for c in columns]
    conn.execute("SET synchronous_commit TO off")  # throwaway demo data: commit waits buy nothing
    conn.commit()

    def write(table: str, rows: Iterable[tuple[Any, ...]], advance: Callable[[int], None]) -> None:
        stmt = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
            sql.Identifier("public", table),
            sql.SQL(", ").join(map(sql.Identifier, _COLUMNS[table])),
        )
        it = iter(rows)
        for first in it:
            written = 1
            with conn.cursor() as cur, cur.copy(stmt) as copy:
                copy.set_types(types[table])
                write_row = copy.write_row
                write_row(first)
                for row in islice(it, BATCH_ROWS - 1):
                    write_row(row)
                    written += 1
            conn.commit()
            advance(written)

    def restore() -> None:
        if not conn.broken:
            conn.rollback()
            conn.execute("RESET synchronous_commit")
            conn.commit()

    return write, restore


# SQLite: large executemany transactions, without an fsync per commit while seeding.


# Spelled out: only these constant statements ever run, and each must match _COLUMNS.
_SQLITE_ANY_ROW = {
    "users": "SELECT EXISTS (SELECT 1 FROM users)",
    "login_events": "SELECT EXISTS (SELECT 1 FROM login_events)",
    "audit_events": "SELECT EXISTS (SELECT 1 FROM audit_events)",
    "records": "SELECT EXISTS (SELECT 1 FROM records)",
}
_SQLITE_INSERT = {
    "users": "INSERT INTO users (email, display_name, created_at, active, is_admin) VALUES (?, ?, ?, ?, ?)",
    "login_events": "INSERT INTO login_events (at, user_email, ip, user_agent, result, method)"
    " VALUES (?, ?, ?, ?, ?, ?)",
    "audit_events": "INSERT INTO audit_events (at, actor, action, datasheet, record_id, key_id, payload_size,"
    " payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    "records": "INSERT INTO records (id, datasheet, created_at, updated_at, key_id, payload_size, payload)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)",
}


def _sqlite_session(conn: sqlite3.Connection, what: str) -> tuple[Writer, Callable[[], None]]:
    for table in _COLUMNS:
        found = {row[0] for row in conn.execute("SELECT name FROM pragma_table_info(?)", (table,))}
        rows = bool(found) and conn.execute(_SQLITE_ANY_ROW[table]).fetchone() == (1,)
        _missing_or_busy(what, table, found, rows)
    if conn.in_transaction:
        conn.commit()
    synchronous = int(conn.execute("PRAGMA synchronous").fetchone()[0])
    cache_size = int(conn.execute("PRAGMA cache_size").fetchone()[0])
    # No fsync per batch (a crash leaves an unfinished seed either way), and room for the
    # indexes' hot pages: inserts into five b-trees per event are bound by page cache misses.
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute(f"PRAGMA cache_size={SQLITE_CACHE_KIB:d}")

    def write(table: str, rows: Iterable[tuple[Any, ...]], advance: Callable[[int], None]) -> None:
        insert = _SQLITE_INSERT[table]
        it = iter(rows)
        for first in it:
            if not conn.in_transaction:
                conn.execute("BEGIN")  # one transaction per batch, even on an autocommit connection
            cur = conn.executemany(insert, chain((first,), islice(it, BATCH_ROWS - 1)))
            conn.commit()
            advance(cur.rowcount)

    def restore() -> None:
        conn.rollback()
        conn.execute(f"PRAGMA synchronous={synchronous:d}")
        conn.execute(f"PRAGMA cache_size={cache_size:d}")

    return write, restore
