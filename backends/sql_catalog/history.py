"""What happened to each tenant: provisioning steps done and every change of state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, select

from aptien_ops.backends import catalog_schema as s
from aptien_ops.backends.sql_catalog.base import Repository
from aptien_ops.backends.sql_catalog.errors import guarded
from aptien_ops.domain import StateChange, StepRecord
from aptien_ops.ports import TenantHistory


class SqlTenantHistory(Repository):
    """Implements :class:`aptien_ops.ports.TenantHistory`."""

    @guarded
    def steps(self, tenant: str) -> list[StepRecord]:
        st = s.tenant_steps.c
        stmt = (
            select(st.step, st.done_at, st.detail)
            .where(st.tenant == tenant)
            .order_by(st.done_at, st.step)
        )
        return [StepRecord(*row) for row in self.conn.execute(stmt)]

    @guarded
    def mark_step(self, tenant: str, step: str, at: datetime, detail: str | None = None) -> None:
        """Record a completed step; a step recorded already keeps its first record."""
        stmt = self.upsert(s.tenant_steps).values(
            tenant=tenant, step=step, done_at=at, detail=detail
        )
        self.conn.execute(stmt.on_conflict_do_nothing(index_elements=["tenant", "step"]))

    @guarded
    def state_changes(self, tenant: str) -> list[StateChange]:
        h = s.tenant_history.c
        stmt = (
            select(h.at, h.from_state, h.to_state, h.operator, h.reason)
            .where(h.tenant == tenant)
            .order_by(h.id)
        )
        return [StateChange(*row) for row in self.conn.execute(stmt)]

    @guarded
    def last_entered(self, state: str) -> dict[str, datetime]:
        h = s.tenant_history.c
        stmt = select(h.tenant, func.max(h.at)).where(h.to_state == state).group_by(h.tenant)
        return {tenant: at for tenant, at in self.conn.execute(stmt)}

    @guarded
    def add_state_change(self, tenant: str, change: StateChange) -> None:
        self.conn.execute(
            insert(s.tenant_history).values(
                tenant=tenant,
                at=change.at,
                from_state=change.from_state,
                to_state=change.to_state,
                operator=change.operator,
                reason=change.reason,
            )
        )


_: type[TenantHistory] = SqlTenantHistory
