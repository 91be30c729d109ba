"""What a list of backups asks the index: every backup judged by its verifications (failed,
verified at its region's level, or not), a page of them newest first, and their counts.

The judgement is :func:`aptien_ops.backup_policy.check` in SQL: a backup failed when its
latest verification failed; it is verified when it has not failed and some verification
passed at its region's level or a stronger one. Everything that grows with the index
(judging, filtering, ordering, counting) is done by the database.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any

from sqlalchemy import (
    Select,
    Subquery,
    case,
    false,
    func,
    literal,
    select,
    true,
)
from sqlalchemy.sql import ColumnElement

from aptien_ops.backends import catalog_schema as s
from aptien_ops.backends.sql_catalog.text_filter import grep_clause, minute_text
from aptien_ops.domain.backup_index import BackupQuery, DueRule

_B = s.backups.c
_V = s.backup_verifications.c


def per_region(
    rules: Sequence[DueRule], column: ColumnElement[Any], value: Callable[[DueRule], Any]
) -> Any:
    """``value`` of the rule of ``column``'s region (the rule without a region otherwise)."""
    named = [(column == r.region, value(r)) for r in rules if r.region is not None]
    other = next(value(r) for r in rules if r.region is None)
    return case(*named, else_=other) if named else other


def judged(rules: Sequence[DueRule]) -> Subquery:
    """Every indexed backup with ``bad`` (1: its latest verification failed), ``verified``
    (1: passed at its region's level and not failed since) and ``status`` (pruned, failed,
    verified, unverified)."""
    ranked = select(
        _V.backup_id,
        _V.ok,
        func.row_number()
        .over(partition_by=_V.backup_id, order_by=(_V.at.desc(), _V.id.desc()))
        .label("rank"),
    ).subquery("ranked")
    latest = select(ranked.c.backup_id, ranked.c.ok).where(ranked.c.rank == 1).subquery("latest")
    level_ok = per_region(rules, _B.region, lambda r: _V.level.in_(r.levels))
    passed = select(_V.id).where(_V.backup_id == _B.id, _V.ok == true(), level_ok).exists()
    bad = latest.c.ok == false()
    verified = (latest.c.ok == true()) & passed
    status = case(
        (_B.state == "pruned", literal("pruned")),
        (bad, literal("failed")),
        (verified, literal("verified")),
        else_=literal("unverified"),
    )
    return (
        select(
            *_B,
            case((bad, 1), else_=0).label("bad"),
            case((verified, 1), else_=0).label("verified"),
            status.label("status"),
        )
        .outerjoin(latest, latest.c.backup_id == _B.id)
        .subquery("judged")
    )


def _grep_of(j: Subquery, text: str, missing: Collection[str], *, pg: bool) -> Any:
    """Backups whose id, tenant, region, cluster, minute of creation or status holds
    ``text`` (``missing`` from the store: their status reads "missing")."""
    c = j.c
    status = (
        case((c.id.in_(list(missing)), literal("missing")), else_=c.status) if missing else c.status
    )
    shown = (c.id, c.tenant, c.region, c.cluster, minute_text(c.created_at, pg=pg), status)
    return grep_clause(shown, text)


def found(
    j: Subquery, query: BackupQuery, missing: Collection[str], *, pg: bool
) -> ColumnElement[bool]:
    """What ``query`` finds among the complete backups ``j`` judged."""
    wanted: ColumnElement[bool] = j.c.state == "complete"
    if query.region is not None:
        wanted = wanted & (j.c.region == query.region)
    if query.grep:
        wanted = wanted & _grep_of(j, query.grep, missing, pg=pg)
    return wanted


def page_of(
    query: BackupQuery,
    rules: Sequence[DueRule],
    missing: Collection[str],
    offset: int,
    limit: int,
    *,
    pg: bool,
) -> Select[Any]:
    """The backups ``query`` finds, newest first, from ``offset``."""
    j = judged(rules)
    stmt = select(*(j.c[c.name] for c in _B)).where(found(j, query, missing, pg=pg))
    return stmt.order_by(j.c.created_at.desc(), j.c.id.desc()).offset(offset).limit(limit)


def tally_of(
    query: BackupQuery, rules: Sequence[DueRule], missing: Collection[str], *, pg: bool
) -> Select[Any]:
    """(found, in the region, tenants found, found failed (not missing), found missing from
    the stores) in one pass."""
    j = judged(rules)
    hit = found(j, query, missing, pg=pg)
    in_region: ColumnElement[bool] = j.c.state == "complete"
    if query.region is not None:
        in_region = in_region & (j.c.region == query.region)
    gone = j.c.id.in_(list(missing)) if missing else false()
    counts: list[Any] = [
        func.count().filter(hit),
        func.count(),
        func.count(func.distinct(j.c.tenant)).filter(hit),
        func.count().filter(hit & (j.c.bad == 1) & ~gone),
        func.count().filter(hit & gone),
    ]
    return select(*counts).where(in_region)
