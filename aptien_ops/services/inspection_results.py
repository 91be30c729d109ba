"""What inspection hands back: pages of events, a tenant's login activity, an export done,
and where an address is a user across the fleet. Typed and frozen; ``as_json()`` is what the
command line prints with ``--json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from aptien_ops.domain import AuditEvent, LoginEvent, Tenant, TenantState, UserRecord, iso
from aptien_ops.login_activity import LoginActivity

Row = LoginEvent | AuditEvent


def state_notice(tenant: Tenant) -> str | None:
    """One line saying a tenant is suspended or cancelled (inspection works all the same)."""
    if tenant.state == TenantState.SUSPENDED:
        why = f" ({tenant.state_reason})" if tenant.state_reason else ""
        return (
            f"tenant {tenant.name} is suspended{why}: "
            "its users cannot log in; inspection still works"
        )
    if tenant.state == TenantState.CANCELLED:
        until = f", retained until {iso(tenant.retain_until)}" if tenant.retain_until else ""
        return (
            f"tenant {tenant.name} is cancelled{until}: "
            "its users cannot log in; inspection still works"
        )
    return None


@dataclass(frozen=True)
class _OfTenant:
    """A result about one tenant; its notice says when the tenant is suspended or cancelled."""

    tenant: Tenant

    @property
    def notice(self) -> str | None:
        return state_notice(self.tenant)

    def _head(self, *, region: bool = True) -> dict[str, object]:
        """The tenant's keys that start the JSON: name, region (if asked), state, notice."""
        where = {"region": self.tenant.region} if region else {}
        return {
            "tenant": self.tenant.name,
            **where,
            "state": str(self.tenant.state),
            "notice": self.notice,
        }


@dataclass(frozen=True)
class Page(_OfTenant):
    """One page of events, newest first, and the cursor of the next (None on the last)."""

    kind: str
    rows: list[Row]
    next_cursor: str | None

    def as_json(self) -> dict[str, object]:
        return {
            **self._head(),
            "kind": self.kind,
            "rows": [r.as_json() for r in self.rows],
            "next_cursor": self.next_cursor,
        }


@dataclass(frozen=True)
class UserHit:
    """A tenant where the address is a user, with the user's last login and last attempt."""

    tenant: Tenant
    user: UserRecord

    def as_json(self) -> dict[str, object]:
        u = self.user
        return {
            **self.tenant.placement(),
            "state": str(self.tenant.state),
            "email": u.email,
            "created_at": iso(u.created_at),
            "active": u.active,
            "is_admin": u.is_admin,
            "last_login": iso(u.last_login),
            "last_login_ip": u.last_login_ip,
            "last_attempt": iso(u.last_attempt),
            "last_attempt_result": u.last_attempt_result,
        }


@dataclass(frozen=True)
class SearchFailure:
    """A tenant that could not be searched, and why."""

    tenant: Tenant
    code: str
    error: str

    def as_json(self) -> dict[str, object]:
        return {
            **self.tenant.placement(),
            "code": self.code,
            "error": self.error,
        }


@dataclass
class UserSearch:
    """Where an e-mail address is a user, across the fleet."""

    email: str
    hits: list[UserHit] = field(default_factory=list)
    failures: list[SearchFailure] = field(default_factory=list)
    searched: int = 0
    skipped_purged: int = 0


@dataclass(frozen=True)
class TenantActivity(_OfTenant):
    """A tenant's login activity over a window (``inspect summary``, the TUI's chart)."""

    activity: LoginActivity

    def as_json(self, listed: int | None = None) -> dict[str, object]:
        """As :meth:`LoginActivity.as_json`: ``listed`` caps the lists of bursts and
        first-seen addresses."""
        return {**self._head(), **self.activity.as_json(listed)}


@dataclass(frozen=True)
class ExportResult(_OfTenant):
    """An export written: where, how many rows, and the SHA-256 of the file's bytes."""

    kind: str
    format: str
    output: Path
    rows: int
    sha256: str

    def as_json(self) -> dict[str, object]:
        return {
            **self._head(region=False),
            "kind": self.kind,
            "format": self.format,
            "output": str(self.output),
            "rows": self.rows,
            "sha256": self.sha256,
        }
