"""Domain records shared by services, adapters and both front ends."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import ClassVar

from aptien_ops.errors import InvalidInput

TENANT_NAME = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")
#: Names a tenant may not take: they collide with PostgreSQL's own databases and roles.
RESERVED_TENANT_NAMES = frozenset(
    {"postgres", "template0", "template1", "public", "pg-catalog", "admin", "root"}
)


#: Where the console reads the time: ``OpsContext.clock``, injected by the composition root
#: (tests pass a fixed or manual clock; nothing else reads the time of day).
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The system clock in UTC: the default :data:`Clock`."""
    return datetime.now(UTC)


def iso(ts: datetime | None) -> str | None:
    """UTC ISO-8601 with a ``Z``, as every output of the console shows time."""
    if ts is None:
        return None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


def validate_tenant_name(name: str) -> str:
    """Return ``name`` if it is a valid tenant name.

    Raises:
        InvalidInput: before any system is touched, with the rule spelled out.
    """
    if not isinstance(name, str):
        raise InvalidInput("a tenant name must be text")
    shown = name if len(name) <= 48 else name[:45] + "..."
    if not TENANT_NAME.fullmatch(name):
        raise InvalidInput(
            f"invalid tenant name {shown!r}",
            hint="3-40 characters: lower-case a-z, digits and '-', starting with a letter, not ending with '-'",
        )
    if name in RESERVED_TENANT_NAMES:
        raise InvalidInput(f"tenant name {name!r} is reserved", hint="choose another name")
    return name


#: RFC 5321's limits: 64 characters before the ``@``, 254 in all.
EMAIL_LOCAL_MAX = 64
EMAIL_MAX = 254
#: Unicode categories an address never contains: controls, invisible formatting (bidi
#: controls, zero-width characters), surrogates and every kind of space.
_NOT_IN_EMAIL = frozenset({"Cc", "Cf", "Cs", "Zs", "Zl", "Zp"})


def validate_email(text: str, *, what: str, hint: str | None = None) -> str:
    """The address in ``text`` without surrounding whitespace, if the console accepts it.

    The one e-mail rule of the console (a tenant's contact, a user to look for): one ``@``;
    1-64 characters before it; after it a domain of dot-separated, non-empty parts, at least
    two, the last of two or more characters; 254 characters in all; no space, control or
    invisible character anywhere. Case is kept as typed and never judged (domains are
    case-insensitive); quotes, semicolons and the like are data.

    Raises:
        InvalidInput: ``<what> must be an e-mail address: <why>`` (``what`` names the field,
        e.g. ``the contact e-mail``), one line, quoting at most 60 characters of ``text``
        (escaped), with ``hint`` if given.
    """
    why = _email_fault(text)
    if why is not None:
        raise InvalidInput(f"{what} must be an e-mail address: {why}", hint=hint)
    return text.strip()


def _email_fault(text: object) -> str | None:
    """Why ``text`` (stripped) is not an e-mail address, or None."""
    if not isinstance(text, str):
        return "it is not text"
    address = text.strip()
    if not address:
        return "it is empty"
    shown = repr(address if len(address) <= 60 else address[:57] + "...")
    if len(address) > EMAIL_MAX:
        return f"{shown} is longer than {EMAIL_MAX} characters"
    if any(unicodedata.category(c) in _NOT_IN_EMAIL for c in address):
        return f"{shown} contains a space, control or invisible character"
    local, at, domain = address.partition("@")
    if not at:
        return f"{shown} has no @"
    if "@" in domain:
        return f"{shown} has more than one @"
    if not local:
        return f"{shown} has nothing before the @"
    if len(local) > EMAIL_LOCAL_MAX:
        return f"{shown} has more than {EMAIL_LOCAL_MAX} characters before the @"
    parts = domain.split(".")
    if len(parts) < 2:
        return f"{shown} has no dot in its domain"
    if not all(parts):
        return f"{shown} has an empty part in its domain (a dot at an end, or two dots)"
    if len(parts[-1]) < 2:
        return f"{shown} ends in a one-character domain part"
    return None


class TenantState(StrEnum):
    PROVISIONING = "provisioning"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CANCELLED = "cancelled"
    PURGED = "purged"


@dataclass(frozen=True)
class Tenant:
    name: str
    country: str
    region: str
    cluster: str | None
    state: TenantState
    contact_name: str | None
    contact_email: str | None
    created_at: datetime
    updated_at: datetime
    schema_version: int | None = None
    state_reason: str | None = None
    retain_until: datetime | None = None
    purged_at: datetime | None = None
    backup_recipient: str | None = None
    """The age X25519 recipient backups are encrypted to (public; the identity is sealed)."""
    lease_owner: str | None = None
    """``host:pid:session`` of the process provisioning it right now, if any."""
    lease_until: datetime | None = None

    #: The keys of :meth:`as_json`, in order (``tenant list --json`` has the database write
    #: the same object).
    JSON_KEYS: ClassVar[tuple[str, ...]] = (
        "name",
        "country",
        "region",
        "cluster",
        "state",
        "contact_name",
        "contact_email",
        "created_at",
        "updated_at",
        "schema_version",
        "state_reason",
        "retain_until",
        "purged_at",
        "backup_recipient",
    )

    def as_json(self) -> dict[str, object]:
        out: dict[str, object] = {}
        for key in self.JSON_KEYS:
            value = getattr(self, key)
            if isinstance(value, datetime):
                value = iso(value)
            elif isinstance(value, TenantState):
                value = str(value)
            out[key] = value
        return out


@dataclass(frozen=True)
class StepRecord:
    """One completed provisioning step of a tenant."""

    step: str
    done_at: datetime
    detail: str | None = None

    def as_json(self) -> dict[str, object]:
        return {"step": self.step, "done_at": iso(self.done_at), "detail": self.detail}


@dataclass(frozen=True)
class StateChange:
    """One transition in a tenant's life, kept for accountability (also after purge)."""

    at: datetime
    from_state: str | None
    to_state: str
    operator: str
    reason: str | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "at": iso(self.at),
            "from": self.from_state,
            "to": self.to_state,
            "operator": self.operator,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class TenantCount:
    region: str
    state: TenantState
    count: int


@dataclass(frozen=True)
class Operator:
    name: str
    roles: frozenset[str]
    added_by: str | None
    added_at: datetime
    active: bool = True

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "roles": sorted(self.roles),
            "added_by": self.added_by,
            "added_at": iso(self.added_at),
            "active": self.active,
        }


class ApprovalState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    FAILED = "failed"


@dataclass(frozen=True)
class Approval:
    id: int
    action: str
    target: str
    params: dict[str, object]
    requested_by: str
    requested_at: datetime
    state: ApprovalState
    decided_by: str | None = None
    decided_at: datetime | None = None
    reason: str | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "action": self.action,
            "target": self.target,
            "params": self.params,
            "requested_by": self.requested_by,
            "requested_at": iso(self.requested_at),
            "state": str(self.state),
            "decided_by": self.decided_by,
            "decided_at": iso(self.decided_at),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Identity:
    """Who is acting: the operator, their OS account, where from, and this run's session."""

    operator: str
    os_account: str
    ssh_origin: str | None
    session_id: str


@dataclass(frozen=True)
class OpsLogEntry:
    seq: int
    at: str
    """UTC ISO-8601 with microseconds, exactly as hashed."""
    operator: str
    os_account: str
    ssh_origin: str | None
    session_id: str
    action: str
    target: str
    params: str
    """Canonical JSON of the redacted parameters, exactly as hashed."""
    outcome: str
    approval_id: int | None
    prev_hash: str
    hmac: str

    @property
    def logged_at(self) -> datetime:
        """``at`` as an aware UTC datetime (``at`` stays the text the HMAC covers)."""
        return datetime.fromisoformat(self.at).astimezone(UTC)

    def as_json(self) -> dict[str, object]:
        return {
            "seq": self.seq,
            "at": self.at,
            "operator": self.operator,
            "os_account": self.os_account,
            "ssh_origin": self.ssh_origin,
            "session_id": self.session_id,
            "action": self.action,
            "target": self.target,
            "params": self.params,
            "outcome": self.outcome,
            "approval_id": self.approval_id,
            "prev_hash": self.prev_hash,
            "hmac": self.hmac,
        }


@dataclass(frozen=True)
class OpsLogHead:
    """The signed checkpoint of the log's last entry, kept outside the log table."""

    seq: int
    hmac: str
    signature: str


@dataclass(frozen=True)
class ClusterLoad:
    region: str
    cluster: str
    tenants: int


@dataclass
class CatalogInfo:
    schema_revision: str
    created: bool = False
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class BackupManifest:
    """What a backup holds, signed by the region and written last. No payload, no secret."""

    backup_id: str
    tenant: str
    region: str
    cluster: str
    database: str
    kind: str
    """``postgresql-custom`` (pg_dump -Fc) or ``sqlite``."""
    server_version: str
    dump_tool: str
    snapshot: str | None
    started_at: str
    finished_at: str
    plaintext_size: int
    ciphertext_size: int
    plaintext_sha256: str
    ciphertext_sha256: str
    recipient_fingerprint: str
    row_counts: dict[str, int]
    archive_list_sha256: str | None
    format: int = 1

    def as_json(self) -> dict[str, object]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class VerifyResult:
    backup_id: str
    level: str
    """quick, full or restore."""
    ok: bool
    detail: str
    at: datetime | None = None
    """When it was verified; None until the service stamps it."""
    operator: str = ""

    def as_json(self) -> dict[str, object]:
        return {**self.__dict__, "at": iso(self.at) or ""}


@dataclass(frozen=True)
class LoginEvent:
    id: int
    at: datetime
    user_email: str
    ip: str
    user_agent: str
    result: str
    method: str

    def as_json(self) -> dict[str, object]:
        return {**self.__dict__, "at": iso(self.at)}


@dataclass(frozen=True)
class AuditEvent:
    """Change-audit metadata. There is deliberately no payload field."""

    id: int
    at: datetime
    actor: str
    action: str
    datasheet: str
    record_id: str
    key_id: str
    payload_size: int

    def as_json(self) -> dict[str, object]:
        return {**self.__dict__, "at": iso(self.at)}


@dataclass(frozen=True)
class UserRecord:
    """A user of one tenant, found by exact e-mail, with their last login and last attempt."""

    email: str
    created_at: datetime
    active: bool
    is_admin: bool
    last_login: datetime | None
    last_login_ip: str | None
    last_attempt: datetime | None
    last_attempt_result: str | None
