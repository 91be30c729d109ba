"""Operational notices: the notice rows, their dated steps and their stored scopes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy import func, insert, select, update
from sqlalchemy.sql.elements import ColumnElement

from aptien_ops.backends import catalog_op_notices as n
from aptien_ops.backends import catalog_schema as s
from aptien_ops.backends.sql_catalog.base import Repository
from aptien_ops.backends.sql_catalog.errors import guarded
from aptien_ops.backends.sql_catalog.partners import new_id, split
from aptien_ops.domain.op_notices import (
    Notice,
    NoticeAudience,
    NoticeKind,
    NoticeStatus,
    NoticeStep,
    Scope,
    ScopedTenant,
    Selection,
    StepKind,
)
from aptien_ops.domain.tenants import TenantState
from aptien_ops.errors import Conflict, NotFound
from aptien_ops.ports import NoticeRepository

_N = n.op_notices.c
_T = s.tenants.c
#: The tenants a notice reaches: cancelled and purged ones get nothing.
_REACHED = (str(TenantState.ACTIVE), str(TenantState.SUSPENDED))


def _notice(row: Any) -> Notice:
    return Notice(
        row.id,
        NoticeKind(row.kind),
        row.title,
        row.body,
        row.starts_at,
        row.ends_at,
        NoticeStatus(row.status),
        Scope(Selection(row.selection), split(row.targets)),
        row.created_by,
        row.created_at,
        row.updated_by,
        row.updated_at,
        NoticeAudience(row.audience),
    )


def _where(scope: Scope) -> ColumnElement[bool]:
    column = {Selection.REGIONS: _T.region, Selection.CLUSTERS: _T.cluster}.get(
        scope.selection, _T.name
    )
    reached = _T.state.in_(_REACHED)
    return reached if scope.selection == Selection.ALL else reached & column.in_(scope.targets)


class SqlNotices(Repository):
    """Implements :class:`aptien_ops.ports.NoticeRepository`."""

    @guarded
    def get(self, notice_id: str, *, for_update: bool = False) -> Notice | None:
        stmt = select(n.op_notices).where(_N.id == notice_id)
        row = self.conn.execute(stmt.with_for_update() if for_update else stmt).first()
        return _notice(row) if row is not None else None

    @guarded
    def all(self, *, statuses: Iterable[NoticeStatus] | None = None) -> list[Notice]:
        stmt = select(n.op_notices).order_by(_N.starts_at.desc(), _N.id)
        if statuses is not None:
            stmt = stmt.where(_N.status.in_([str(x) for x in statuses]))
        return [_notice(row) for row in self.conn.execute(stmt)]

    @guarded
    def last_number(self, year: int) -> int:
        prefix = f"NTC-{year:04d}-"
        ids = self.conn.execute(select(_N.id).where(_N.id.startswith(prefix))).scalars()
        return max((int(i[len(prefix) :]) for i in ids if i[len(prefix) :].isdigit()), default=0)

    @guarded
    def insert(self, notice: Notice, scope: Iterable[ScopedTenant]) -> None:
        values = notice.as_json()
        values.pop("scope")
        for key in ("starts_at", "ends_at", "created_at", "updated_at"):
            values[key] = getattr(notice, key)
        values["selection"] = str(notice.scope.selection)
        values["targets"] = ",".join(notice.scope.targets)
        try:
            self.conn.execute(insert(n.op_notices).values(values))
        except sa_exc.IntegrityError:
            raise Conflict(
                f"notice {notice.id} exists already", hint="draft it again: a new id is taken"
            ) from None
        tenants = list(scope)
        self.insert_columns(
            n.op_notice_scope,
            {
                "notice_id": [notice.id] * len(tenants),
                "tenant": [t.tenant for t in tenants],
                "region": [t.region for t in tenants],
                "cluster": [t.cluster for t in tenants],
            },
        )

    @guarded
    def set_status(
        self,
        notice_id: str,
        status: NoticeStatus,
        at: datetime,
        by: str,
        *,
        ends_at: datetime | None = None,
    ) -> None:
        values: dict[str, object] = {"status": str(status), "updated_at": at, "updated_by": by}
        if ends_at is not None:
            values["ends_at"] = ends_at
        stmt = update(n.op_notices).where(_N.id == notice_id).values(values)
        if self.conn.execute(stmt).rowcount == 0:
            raise NotFound(f"no notice {notice_id}")

    @guarded
    def edit(self, notice: Notice) -> None:
        values = {
            "title": notice.title,
            "body": notice.body,
            "starts_at": notice.starts_at,
            "ends_at": notice.ends_at,
            "updated_at": notice.updated_at,
            "updated_by": notice.updated_by,
        }
        stmt = update(n.op_notices).where(_N.id == notice.id).values(values)
        if self.conn.execute(stmt).rowcount == 0:
            raise NotFound(f"no notice {notice.id}")

    @guarded
    def steps(self, notice_id: str) -> list[NoticeStep]:
        u = n.op_notice_updates.c
        stmt = select(n.op_notice_updates).where(u.notice_id == notice_id).order_by(u.id)
        return [
            NoticeStep(
                row.id,
                row.notice_id,
                row.at,
                row.operator,
                StepKind(row.kind),
                NoticeStatus(row.status),
                row.text,
            )
            for row in self.conn.execute(stmt)
        ]

    @guarded
    def add_step(self, step: NoticeStep) -> int:
        values = {
            "notice_id": step.notice_id,
            "at": step.at,
            "operator": step.operator,
            "kind": str(step.kind),
            "status": str(step.status),
            "text": step.text,
        }
        return new_id(self.conn.execute(insert(n.op_notice_updates).values(values)), "update")

    @guarded
    def resolve(self, scope: Scope) -> list[ScopedTenant]:
        stmt = select(_T.name, _T.region, _T.cluster).where(_where(scope)).order_by(_T.name)
        return [ScopedTenant(*row) for row in self.conn.execute(stmt)]

    @guarded
    def scope_counts(self, notice_ids: Iterable[str]) -> dict[str, dict[str, int]]:
        c = n.op_notice_scope.c
        ids = list(notice_ids)
        counts: dict[str, dict[str, int]] = {}
        for at in range(0, len(ids), 500):
            stmt = (
                select(c.notice_id, c.region, func.count())
                .where(c.notice_id.in_(ids[at : at + 500]))
                .group_by(c.notice_id, c.region)
                .order_by(c.notice_id, c.region)
            )
            for notice_id, region, count in self.conn.execute(stmt):
                counts.setdefault(notice_id, {})[region] = int(count)
        return counts

    @guarded
    def scope(self, notice_id: str) -> list[tuple[ScopedTenant, ScopedTenant, TenantState]]:
        c = n.op_notice_scope.c
        stmt = (
            select(c.tenant, c.region, c.cluster, _T.region, _T.cluster, _T.state)
            .join(s.tenants, _T.name == c.tenant)
            .where(c.notice_id == notice_id)
            .order_by(c.tenant)
        )
        return [
            (
                ScopedTenant(name, region, cluster),
                ScopedTenant(name, now_region, now_cluster),
                TenantState(state),
            )
            for name, region, cluster, now_region, now_cluster, state in self.conn.execute(stmt)
        ]


_: type[NoticeRepository] = SqlNotices
