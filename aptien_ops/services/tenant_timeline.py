"""A tenant's history as an operator reads it: its state changes, and the four-eyes requests
about it (a purge, a restore over it) with who asked, who approved or rejected, and why."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from aptien_ops.domain import Approval, ApprovalState, StateChange, iso

#: Requests whose target is an operator's or a policy key's name, never a tenant's.
_NOT_ABOUT_TENANTS = ("operator.", "policy.")


@dataclass(frozen=True)
class HistoryEntry:
    """One line of a tenant's history."""

    at: datetime
    what: str
    """``cancelled → purged``, ``purge requested (#3)``, ``purge approved (#3)``."""
    operator: str
    reason: str | None = None
    request: int | None = None
    """The four-eyes request the line is about; None for a state change."""

    def as_json(self) -> dict[str, object]:
        return {
            "at": iso(self.at),
            "what": self.what,
            "operator": self.operator,
            "reason": self.reason,
            "request": self.request,
        }


def about_tenant(approval: Approval, tenant: str) -> bool:
    """Whether ``approval`` asks for something done to ``tenant``."""
    return approval.target == tenant and not approval.action.startswith(_NOT_ABOUT_TENANTS)


def request_reason(approval: Approval) -> str | None:
    """Why the request was made, as its requester gave it (a purge before the retention end
    says so)."""
    early = approval.params.get("before_retention_end")
    if isinstance(early, str) and early:
        return f"before the retention end: {early}"
    reason = approval.params.get("reason")
    return reason if isinstance(reason, str) and reason else None


def timeline(changes: Iterable[StateChange], requests: Iterable[Approval]) -> list[HistoryEntry]:
    """State changes and requests (made, approved, rejected), oldest first."""
    entries = [
        HistoryEntry(
            c.at,
            f"{c.from_state} → {c.to_state}" if c.from_state else c.to_state,
            c.operator,
            c.reason,
        )
        for c in changes
    ]
    for a in requests:
        verb = a.action.rpartition(".")[2]
        entries.append(
            HistoryEntry(
                a.requested_at,
                f"{verb} requested (#{a.id})",
                a.requested_by,
                request_reason(a),
                a.id,
            )
        )
        decided = a.state in (ApprovalState.APPROVED, ApprovalState.REJECTED)
        if decided and a.decided_by and a.decided_at:
            entries.append(
                HistoryEntry(
                    a.decided_at, f"{verb} {a.state} (#{a.id})", a.decided_by, a.reason, a.id
                )
            )
    # A purge approved runs at once: its request's decision comes before the state change.
    return sorted(entries, key=lambda e: (e.at, e.request is None))
