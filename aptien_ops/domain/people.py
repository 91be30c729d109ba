"""Operators, their four-eyes requests, and who is acting."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from aptien_ops.domain.values import iso


@dataclass(frozen=True)
class Operator:
    name: str
    roles: frozenset[str]
    added_by: str | None
    added_at: datetime
    active: bool = True
    version: int = 1
    """Bumped by every change of the operator's roles: a change names the version it read."""
    changed_by: str | None = None
    changed_at: datetime | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "roles": sorted(self.roles),
            "added_by": self.added_by,
            "added_at": iso(self.added_at),
            "active": self.active,
            "version": self.version,
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
    version: int = 1
    """Bumped when it is decided: a decision names the version it read."""

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
            "version": self.version,
        }


@dataclass(frozen=True)
class Identity:
    """Who is acting: the operator, the OS account the console runs as (in a sandbox the
    operator's own; in production the service account sudo made them), where from, and this
    run's session."""

    operator: str
    os_account: str
    ssh_origin: str | None
    session_id: str
    requested: str | None = None
    """The operator ``APTIEN_OPS_OPERATOR`` asked for: honoured in a sandbox only (a production
    catalog refuses to open when it is set)."""
