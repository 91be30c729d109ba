"""What an inspection asks for, checked before any system is touched.

Pure: the operator's filters as typed (:class:`LoginFilters`, :class:`AuditFilters`), time
parsing (ISO-8601 or relative like ``24h``/``7d``), the resolved :class:`Query` a reader
renders into SQL, and the opaque keyset cursor. A cursor is HMAC-signed with a key derived
from the catalog's ops-log key and bound to the tenant (name and creation time), the kind and
the filters, so a forged, altered, foreign or expired cursor is refused as bad input before any
SQL runs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import struct
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from aptien_ops.domain import validate_email
from aptien_ops.domain.free_text import FILTER_VALUE
from aptien_ops.errors import InvalidInput
from aptien_ops.tenant_schema import DATASHEETS, METADATA_COLUMNS

KINDS = ("logins", "audit")
#: The table each kind reads; a reader selects ``METADATA_COLUMNS[table]`` and nothing else.
TABLES = {"logins": "login_events", "audit": "audit_events"}
MAX_LIMIT = 1000
DEFAULT_LIMIT = 50
CURSOR_TTL = timedelta(hours=24)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_RELATIVE = re.compile(r"(\d{1,6})([mhdw])")
_UNITS = {
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}
_OLDEST = datetime(2000, 1, 1, tzinfo=UTC)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def parse_time(text: str, now: datetime, option: str = "--since") -> datetime:
    """``now`` minus a relative amount (``90m``, ``24h``, ``7d``, ``2w``), ``now``, or ISO-8601.

    An ISO time without a zone is UTC, like every time the console prints; a date alone is
    midnight UTC. Raises: InvalidInput naming ``option`` and the accepted forms.
    """
    value = text.strip()
    shown = value if len(value) <= 40 else value[:37] + "..."
    hint = "use 24h, 7d, 2w, now, 2025-03-01 or 2025-03-01T08:00:00Z"
    if not value or len(value) > 40:
        raise InvalidInput(f"{option}: {shown!r} is not a time", hint=hint)
    if value.lower() == "now":
        return now
    relative = _RELATIVE.fullmatch(value.lower())
    if relative:
        amount = int(relative.group(1)) * _UNITS[relative.group(2)]
        if amount > timedelta(days=3650):
            raise InvalidInput(f"{option}: {shown} reaches back more than ten years", hint=hint)
        return now - amount
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{option}: {shown!r} is not a time", hint=hint) from None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if not _OLDEST <= moment <= now + timedelta(days=366):
        raise InvalidInput(f"{option}: {shown} is out of range (2000 to a year from now)")
    return moment


def _text(option: str, value: str | None) -> str | None:
    if value is None:
        return None
    text = value.strip()
    if not text:
        raise InvalidInput(f"{option} is empty")
    if len(text) > FILTER_VALUE.limit or _CONTROL.search(text):
        raise InvalidInput(f"{option}: {FILTER_VALUE.help}, all printable")
    return text


def check_email(email: str) -> str:
    """The address to look for, lower-cased: the platform stores addresses so, and finds a
    user whatever case the operator typed.

    The console's one e-mail rule decides what is an address (quotes and semicolons are data).
    Raises: InvalidInput saying what is wrong with it.
    """
    address = validate_email(email, what="EMAIL", hint="aptien-ops inspect user greta@acme.example")
    return address.lower()


def check_limit(limit: int) -> int:
    """Raises: InvalidInput outside 1..MAX_LIMIT."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"--limit must be between 1 and {MAX_LIMIT}, got {limit}")
    return limit


@dataclass(frozen=True)
class Position:
    """Where a page ended: the last row's ``(at, id)``; the next page starts strictly below it."""

    at: datetime
    id: int


@dataclass(frozen=True)
class Query:
    """A resolved page request, rendered by a reader into one indexed, parameterised SELECT.

    Conditions are ``column = value`` (``equals``), ``column <> value`` (``not_equals``),
    ``since <= at < until`` and ``(at, id) < after``; rows come newest first on ``(at, id)``.
    """

    kind: str
    since: datetime | None = None
    until: datetime | None = None
    equals: tuple[tuple[str, str], ...] = ()
    not_equals: tuple[tuple[str, str], ...] = ()
    limit: int = DEFAULT_LIMIT
    after: Position | None = None

    @property
    def table(self) -> str:
        return TABLES[self.kind]

    @property
    def columns(self) -> tuple[str, ...]:
        return METADATA_COLUMNS[self.table]

    def following(self, after: Position | None, limit: int | None = None) -> Query:
        """The same query for the page after ``after`` (the first page if None)."""
        return Query(
            self.kind,
            self.since,
            self.until,
            self.equals,
            self.not_equals,
            limit or self.limit,
            after,
        )


def _window(
    since: str | None, until: str | None, now: datetime
) -> tuple[datetime | None, datetime | None]:
    start = parse_time(since, now, "--since") if since is not None else None
    end = parse_time(until, now, "--until") if until is not None else None
    if start is not None and end is not None and start >= end:
        raise InvalidInput(
            "--since must be before --until", hint="times are UTC; --until is exclusive"
        )
    return start, end


@dataclass(frozen=True)
class LoginFilters:
    """Login filters as the operator typed them (the cursor is bound to exactly these)."""

    since: str | None = None
    until: str | None = None
    user: str | None = None
    ip: str | None = None
    failed: bool = False
    result: str | None = None

    def resolve(self, now: datetime, limit: int = DEFAULT_LIMIT) -> Query:
        """Raises: InvalidInput for bad times, texts, limit, or ``--failed --result success``."""
        since, until = _window(self.since, self.until, now)
        user, ip, result = (
            _text("--user", self.user),
            _text("--ip", self.ip),
            _text("--result", self.result),
        )
        if self.failed and result == "success":
            raise InvalidInput("--failed and --result success contradict each other")
        equals = [
            (c, v)
            for c, v in (
                ("user_email", user.lower() if user else None),
                ("ip", ip),
                ("result", result),
            )
            if v
        ]
        not_equals = (("result", "success"),) if self.failed else ()
        return Query("logins", since, until, tuple(equals), not_equals, check_limit(limit))

    def typed(self) -> dict[str, object]:
        return {k: v for k, v in asdict(self).items() if v not in (None, False)}


@dataclass(frozen=True)
class AuditFilters:
    """Change-audit filters as the operator typed them."""

    since: str | None = None
    until: str | None = None
    actor: str | None = None
    action: str | None = None
    datasheet: str | None = None
    record: str | None = None

    def resolve(self, now: datetime, limit: int = DEFAULT_LIMIT) -> Query:
        """Raises: InvalidInput for bad times, texts, limit or an unknown datasheet."""
        since, until = _window(self.since, self.until, now)
        datasheet = _text("--datasheet", self.datasheet)
        if datasheet is not None and datasheet not in DATASHEETS:
            raise InvalidInput(
                f"unknown datasheet {datasheet[:40]!r}", hint=f"one of {', '.join(DATASHEETS)}"
            )
        pairs = (
            ("actor", _text("--actor", self.actor)),
            ("action", _text("--action", self.action)),
            ("datasheet", datasheet),
            ("record_id", _text("--record", self.record)),
        )
        return Query(
            "audit", since, until, tuple((c, v) for c, v in pairs if v), (), check_limit(limit)
        )

    def typed(self) -> dict[str, object]:
        return {k: v for k, v in asdict(self).items() if v is not None}


# ----------------------------------------------------------------------------- cursors

_LAYOUT = struct.Struct(">BQqq8s")  # version, issued (s), at (µs since epoch), id, scope tag
_MAC_BYTES = 16
_VERSION = 1
_FOREIGN = "the cursor is not one this console issued (altered, forged or from another catalog)"
_START_OVER = "rerun the command without --after to start from the newest row"


def cursor_key(catalog_key: bytes) -> bytes:
    """The cursor signing key, derived from the catalog's ops-log key (never used for both)."""
    return hmac.new(catalog_key, b"aptien-ops/inspect-cursor/v1", hashlib.sha256).digest()


def cursor_scope(
    tenant: str, tenant_created: datetime, kind: str, filters: LoginFilters | AuditFilters
) -> bytes:
    """What a cursor is valid for: this tenant (a re-created one is another), kind and filters."""
    doc = {
        "tenant": tenant,
        "created": tenant_created.astimezone(UTC).isoformat(),
        "kind": kind,
        "filters": filters.typed(),
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _us(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


class CursorCodec:
    """Encodes page positions as short opaque strings and checks them on the way back."""

    def __init__(self, key: bytes, ttl: timedelta = CURSOR_TTL) -> None:
        self._key = key
        self._ttl = ttl

    def _tag(self, scope: bytes) -> bytes:
        return hmac.new(self._key, b"scope\0" + scope, hashlib.sha256).digest()[:8]

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._key, b"cursor\0" + body, hashlib.sha256).digest()[:_MAC_BYTES]

    def encode(self, scope: bytes, position: Position, now: datetime) -> str:
        body = _LAYOUT.pack(
            _VERSION, int(now.timestamp()), _us(position.at), position.id, self._tag(scope)
        )
        return base64.urlsafe_b64encode(body + self._mac(body)).rstrip(b"=").decode("ascii")

    def decode(self, token: str, scope: bytes, now: datetime) -> Position:
        """Raises: InvalidInput for a cursor that is malformed, forged, for another query, or
        expired."""
        text = token.strip()
        try:
            raw = (
                base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)) if len(text) < 100 else b""
            )
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != _LAYOUT.size + _MAC_BYTES or raw[0] != _VERSION:
            raise InvalidInput("--after: not a cursor of this console", hint=_START_OVER)
        body, mac = raw[: _LAYOUT.size], raw[_LAYOUT.size :]
        if not hmac.compare_digest(mac, self._mac(body)):
            raise InvalidInput(f"--after: {_FOREIGN}", hint=_START_OVER)
        _, issued, at_us, row_id, tag = _LAYOUT.unpack(body)
        if not hmac.compare_digest(tag, self._tag(scope)):
            raise InvalidInput(
                "--after: the cursor belongs to another tenant, kind of event or set of filters",
                hint="repeat the filters of the page it came from, or drop --after",
            )
        age = now.timestamp() - issued
        if age > self._ttl.total_seconds() or age < -300:
            raise InvalidInput(
                f"--after: the cursor expired (valid for {self._ttl.total_seconds() / 3600:.0f} h)",
                hint=_START_OVER,
            )
        try:
            return Position(EPOCH + timedelta(microseconds=at_us), row_id)
        except OverflowError:
            raise InvalidInput(f"--after: {_FOREIGN}", hint=_START_OVER) from None
