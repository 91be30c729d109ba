"""Optimistic concurrency: tenants, operators and approvals carry a version that every change
bumps. A change names the version its operator read; a row at another version refuses it with
:class:`~aptien_ops.errors.Stale` (exit 5), saying what the row is now and who changed it."""

from __future__ import annotations

from datetime import datetime

from aptien_ops.domain.people import Approval, Operator
from aptien_ops.domain.tenants import Tenant
from aptien_ops.errors import Stale


def _by(who: str | None, at: datetime | None) -> str:
    parts = ([f"by {who}"] if who else []) + ([f"at {at:%Y-%m-%d %H:%M:%S} UTC"] if at else [])
    return f" ({' '.join(parts)})" if parts else ""


def _stale(what: str, seen: int, now: int, summary: str, reread: str) -> Stale:
    return Stale(
        f"{what} changed since you read it (version {seen}, now {now}): {summary}",
        hint=f"nothing was changed; read it again ({reread}) and retry if it still applies"
        f" (--if-version {now})",
    )


def stale_tenant(current: Tenant, seen: int) -> Stale:
    """What a change of ``current`` that read version ``seen`` is refused with."""
    reason = f' "{current.state_reason}"' if current.state_reason else ""
    summary = f"state is now {current.state}{reason}{_by(current.changed_by, current.updated_at)}"
    reread = f"aptien-ops tenant show {current.name}"
    return _stale(f"tenant {current.name}", seen, current.version, summary, reread)


def stale_operator(current: Operator, seen: int) -> Stale:
    roles = ", ".join(sorted(current.roles)) or "none"
    summary = f"roles are now {roles}{_by(current.changed_by, current.changed_at)}"
    reread = "aptien-ops operator list"
    return _stale(f"operator {current.name}", seen, current.version, summary, reread)


def stale_approval(current: Approval, seen: int) -> Stale:
    summary = f"it is now {current.state}{_by(current.decided_by, current.decided_at)}"
    reread = f"aptien-ops approval list --grep {current.id}"
    return _stale(f"approval #{current.id}", seen, current.version, summary, reread)


def check_tenant(current: Tenant, seen: int | None) -> Tenant:
    """``current``, unless the caller read another version of it. Raises: Stale."""
    if seen is not None and current.version != seen:
        raise stale_tenant(current, seen)
    return current


def check_operator(current: Operator, seen: int | None) -> Operator:
    """Raises: Stale."""
    if seen is not None and current.version != seen:
        raise stale_operator(current, seen)
    return current


def check_approval(current: Approval, seen: int | None) -> Approval:
    """Raises: Stale."""
    if seen is not None and current.version != seen:
        raise stale_approval(current, seen)
    return current
