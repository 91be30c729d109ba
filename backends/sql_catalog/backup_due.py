"""What is due, asked of the catalog: the tenants that need a backup and the backups that need
verifying under each region's policy, a page of them most urgent first, and their counts.

:func:`aptien_ops.backup_policy.backup_due` and :func:`~aptien_ops.backup_policy.verification_due`
in SQL, over the latest good backup of each tenant (a grouped ``max()``) and the judged backups
of :mod:`~aptien_ops.backends.sql_catalog.backup_query`; the database walks the fleet, Python
only ever sees the items shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, Subquery, case, func, literal, select, union_all
from sqlalchemy.sql import ColumnElement

from aptien_ops.backends import catalog_schema as s
from aptien_ops.backends.sql_catalog.backup_query import judged, per_region
from aptien_ops.domain.backup_index import (
    BACKED_UP_STATES,
    CANCELLED,
    FAILED,
    NONE_YET,
    STALE,
    DueRule,
)
from aptien_ops.domain.tenants import TenantState

_T = s.tenants.c
_H = s.tenant_history.c


def _time(value: Any) -> ColumnElement[Any]:
    return literal(value, s.UtcDateTime())


def _eligible(region: str | None) -> ColumnElement[bool]:
    """Tenants that are backed up: live or cancelled (not yet purged), on a cluster."""
    wanted: ColumnElement[bool] = _T.state.in_([str(st) for st in BACKED_UP_STATES])
    wanted = wanted & _T.cluster.is_not(None) & (_T.cluster != "")
    return wanted if region is None else wanted & (_T.region == region)


def _backups_due(rules: Sequence[DueRule], region: str | None) -> Select[Any]:
    """One row per tenant that needs a backup (``why`` > 0)."""
    j = judged(rules)
    live = (
        select(
            j.c.tenant,
            j.c.id,
            j.c.created_at,
            j.c.bad,
            # Python's max() keeps the first of equal times (the index lists by time, id).
            func.row_number()
            .over(partition_by=j.c.tenant, order_by=(j.c.created_at.desc(), j.c.id.asc()))
            .label("rank"),
        )
        .where(j.c.state == "complete")
        .subquery("live")
    )
    facts = (
        select(
            live.c.tenant,
            func.max(case((live.c.bad == 0, live.c.created_at))).label("last_good"),
            func.max(case(((live.c.rank == 1) & (live.c.bad == 1), live.c.id))).label("failed"),
        )
        .group_by(live.c.tenant)
        .subquery("facts")
    )
    cancelled = (
        select(_H.tenant, func.max(_H.at).label("at"))
        .where(_H.to_state == str(TenantState.CANCELLED))
        .group_by(_H.tenant)
        .subquery("cancelled")
    )
    before = per_region(rules, _T.region, lambda r: _time(r.backup_before))
    is_cancelled = (_T.state == str(TenantState.CANCELLED)) & cancelled.c.at.is_not(None)
    last_good, failed = facts.c.last_good, facts.c.failed
    why = case(
        (is_cancelled & (last_good >= cancelled.c.at), 0),
        (is_cancelled, CANCELLED),
        (failed.is_not(None), FAILED),
        (last_good.is_(None), NONE_YET),
        (last_good <= before, STALE),
        else_=0,
    )
    since = case(
        (is_cancelled, cancelled.c.at), (last_good.is_(None), _T.created_at), else_=last_good
    )
    overdue = case((~is_cancelled & failed.is_not(None), 1), (since <= before, 1), else_=0)
    rows = (
        select(
            literal("backup").label("kind"),
            _T.name.label("tenant"),
            _T.region,
            why.label("why"),
            overdue.label("overdue"),
            since.label("since"),
            failed.label("backup_id"),
        )
        .outerjoin(facts, facts.c.tenant == _T.name)
        .outerjoin(cancelled, cancelled.c.tenant == _T.name)
        .where(_eligible(region))
        .subquery("backup_rows")
    )
    return select(*rows.c).where(rows.c.why > 0)


def _checks_due(rules: Sequence[DueRule], region: str | None) -> Select[Any]:
    """One row per complete backup that neither failed nor passed at its level."""
    j = judged(rules)
    before = per_region(rules, _T.region, lambda r: _time(r.verify_before))
    return (
        select(
            literal("verify").label("kind"),
            _T.name.label("tenant"),
            _T.region,
            literal(0).label("why"),
            case((j.c.created_at < before, 1), else_=0).label("overdue"),
            j.c.created_at.label("since"),
            j.c.id.label("backup_id"),
        )
        .join(j, j.c.tenant == _T.name)
        .where(
            _eligible(region),
            _T.state != str(TenantState.PURGED),
            j.c.state == "complete",
            j.c.bad == 0,
            j.c.verified == 0,
        )
    )


def due_of(rules: Sequence[DueRule], region: str | None) -> Subquery:
    """Every due item: kind, tenant, region, why, overdue (1/0), since, backup_id."""
    return union_all(_backups_due(rules, region), _checks_due(rules, region)).subquery("due")


def items_of(
    rules: Sequence[DueRule],
    region: str | None,
    kind: str | None,
    offset: int,
    limit: int | None,
    *,
    pg: bool,
) -> Select[Any]:
    """Due items most urgent first: overdue ones, then by region, tenant, kind and backup."""
    due = due_of(rules, region)

    def text(column: ColumnElement[Any]) -> ColumnElement[Any]:
        # Ordered as Python orders strings, whatever the cluster's locale.
        return column.collate("C") if pg else column

    stmt = select(*due.c).order_by(
        due.c.overdue.desc(),
        text(due.c.region),
        text(due.c.tenant),
        due.c.kind,
        text(func.coalesce(due.c.backup_id, "")),
    )
    if kind is not None:
        stmt = stmt.where(due.c.kind == kind)
    return stmt.offset(offset).limit(limit)


def counts_of(rules: Sequence[DueRule], region: str | None) -> Select[Any]:
    """Per region: items due, overdue backups, overdue verifications, tenants due a backup."""
    due = due_of(rules, region)
    backup = due.c.kind == "backup"
    late = due.c.overdue == 1
    return (
        select(
            due.c.region,
            func.count(),
            func.count().filter(late & backup),
            func.count().filter(late & ~backup),
            func.count().filter(backup),
        )
        .group_by(due.c.region)
        .order_by(due.c.region)
    )
