"""What a paged list of tenants asks the catalog: one region, a ``grep`` over the columns the
list shows, the licence states wanted, an order by one column then by name; the page (each
tenant with its licence state, joined in the same query), a tenant's place and the counts.

Everything that grows with the fleet (filtering, ordering, counting) is done by the database;
Python only ever sees one page of rows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import FromClause, Select, String, and_, case, func, literal, or_, select
from sqlalchemy.sql import ColumnElement

from aptien_ops.backends import catalog_billing as b
from aptien_ops.backends import catalog_schema as s
from aptien_ops.backends.sql_catalog.text_filter import grep_clause
from aptien_ops.domain import TenantQuery
from aptien_ops.domain.billing import LicenceState

_T = s.tenants.c
_B = b.tenant_billing.c


def licence() -> ColumnElement[Any]:
    """A tenant's licence state: its subscription's status, ``none`` when it is not linked."""
    return func.coalesce(_B.subscription_status, literal(str(LicenceState.NONE), String))


def with_billing() -> FromClause:
    """The tenants, each with its billing row if it has one (at most one: its primary key)."""
    return s.tenants.outerjoin(b.tenant_billing, _B.tenant == _T.name)


def order_key(order: str) -> ColumnElement[Any]:
    """The column a query orders by (a tenant without a cluster sorts as an empty one)."""
    if order == "licence":
        return licence()
    column = _T[order]
    return func.coalesce(column, "") if order == "cluster" else column


def grep_of(text: str) -> ColumnElement[bool]:
    """Tenants whose name, country, region, cluster or state holds ``text``."""
    return grep_clause((_T.name, _T.country, _T.region, _T.cluster, _T.state), text)


def licence_in(states: frozenset[LicenceState]) -> ColumnElement[bool]:
    """Tenants whose licence is one of ``states`` (``none``: the ones not linked too)."""
    wanted: ColumnElement[bool] = _B.subscription_status.in_(sorted(map(str, states)))
    if LicenceState.NONE in states:
        wanted = or_(wanted, _B.tenant.is_(None))
    return wanted


def in_region(stmt: Select[Any], query: TenantQuery) -> Select[Any]:
    return stmt if query.region is None else stmt.where(_T.region == query.region)


def _narrowed(query: TenantQuery) -> list[ColumnElement[bool]]:
    """What ``query`` asks of a tenant of its region."""
    wanted = []
    if query.grep:
        wanted.append(grep_of(query.grep))
    if query.licences is not None:
        wanted.append(licence_in(query.licences))
    return wanted


def found(stmt: Select[Any], query: TenantQuery) -> Select[Any]:
    """``stmt`` (over :func:`with_billing`) narrowed to the tenants ``query`` finds."""
    return in_region(stmt, query).where(*_narrowed(query))


def page_of(columns: Any, query: TenantQuery, offset: int, limit: int) -> Select[Any]:
    """``columns`` and the licence state of a page of the tenants ``query`` finds."""
    key = order_key(query.order)
    stmt: Select[Any] = select(*columns, licence()).select_from(with_billing())
    stmt = found(stmt, query).order_by(key, _T.name)
    return stmt.offset(offset).limit(limit)


def key_of(name: str, query: TenantQuery) -> Select[Any]:
    """The order key of tenant ``name`` if ``query`` finds it (no row if not)."""
    stmt = select(order_key(query.order)).select_from(with_billing())
    return found(stmt, query).where(_T.name == name)


def before(name: str, key: object, query: TenantQuery) -> Select[Any]:
    """How many tenants ``query`` finds before ``name`` (whose order key is ``key``)."""
    column = order_key(query.order)
    earlier = or_(column < key, and_(column == key, _T.name < name))
    return found(select(func.count()).select_from(with_billing()), query).where(earlier)


def tally_of(query: TenantQuery) -> Select[Any]:
    """(tenants found, tenants in the region) in one pass over the region's rows (joined with
    their billing only when the licence is asked about)."""
    matching: ColumnElement[Any] = func.count()
    wanted = _narrowed(query)
    if wanted:
        matching = func.coalesce(func.sum(case((and_(*wanted), 1), else_=0)), 0)
    source = with_billing() if query.licences is not None else s.tenants
    stmt: Select[Any] = select(matching, func.count()).select_from(source)
    return in_region(stmt, query)
