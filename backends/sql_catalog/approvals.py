"""Four-eyes requests and their decisions."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from aptien_ops.backends import catalog_schema as s
from aptien_ops.backends.sql_catalog.base import Repository
from aptien_ops.backends.sql_catalog.errors import guarded
from aptien_ops.backends.sql_catalog.text_filter import grep_clause, minute_text, number_text
from aptien_ops.domain import Approval, ApprovalState
from aptien_ops.domain.versions import stale_approval
from aptien_ops.errors import InternalError, NotFound
from aptien_ops.ports import ApprovalRepository


def _approval(row: Any) -> Approval:
    return Approval(
        row.id,
        row.action,
        row.target,
        json.loads(row.params),
        row.requested_by,
        row.requested_at,
        ApprovalState(row.state),
        row.decided_by,
        row.decided_at,
        row.reason,
        row.version,
    )


class SqlApprovals(Repository):
    """Implements :class:`aptien_ops.ports.ApprovalRepository`."""

    @guarded
    def insert(
        self, action: str, target: str, params: dict[str, object], requested_by: str, at: datetime
    ) -> int:
        """Record a pending request; returns its id (never reused)."""
        result = self.conn.execute(
            insert(s.approvals).values(
                action=action,
                target=target,
                params=json.dumps(params, sort_keys=True, separators=(",", ":")),
                requested_by=requested_by,
                requested_at=at,
                state=str(ApprovalState.PENDING),
            )
        )
        key = result.inserted_primary_key
        if key is None:
            raise InternalError("the catalog returned no id for the new approval")
        return int(key[0])

    @guarded
    def get(self, approval_id: int, *, for_update: bool = False) -> Approval | None:
        stmt = select(s.approvals).where(s.approvals.c.id == approval_id)
        row = self.conn.execute(stmt.with_for_update() if for_update else stmt).first()
        return _approval(row) if row is not None else None

    @guarded
    def all(self, state: ApprovalState | None = None, *, grep: str | None = None) -> list[Approval]:
        """Requests by id; with ``grep``, those whose shown columns (id, state, action,
        target, requester, time of the request, decider) hold it."""
        a = s.approvals.c
        stmt = select(s.approvals).order_by(a.id)
        if state is not None:
            stmt = stmt.where(a.state == str(state))
        if grep:
            shown = (
                number_text(a.id),
                a.state,
                a.action,
                a.target,
                a.requested_by,
                minute_text(a.requested_at, pg=self.tx.pg),
                a.decided_by,
            )
            stmt = stmt.where(grep_clause(shown, grep))
        return [_approval(row) for row in self.conn.execute(stmt)]

    @guarded
    def decide(
        self, approval: Approval, state: ApprovalState, by: str, at: datetime, reason: str | None
    ) -> None:
        """Decide ``approval`` if its row is at ``approval.version`` (``WHERE version =
        :read``), bumping it. Raises: NotFound, Stale (decided meanwhile)."""
        a = s.approvals.c
        result = self.conn.execute(
            update(s.approvals)
            .where(a.id == approval.id, a.version == approval.version)
            .values(
                state=str(state),
                decided_by=by,
                decided_at=at,
                reason=reason,
                version=approval.version + 1,
            )
        )
        if result.rowcount == 0:
            current = self.get(approval.id)
            if current is None:
                raise NotFound(f"approval {approval.id} does not exist")
            raise stale_approval(current, approval.version)


_: type[ApprovalRepository] = SqlApprovals
