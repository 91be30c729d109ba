"""What a paged list of tenants asks the catalog: one region, a ``grep`` over the columns the
list shows, an order by one column then by name; the page, a tenant's place and the counts.

Everything that grows with the fleet (filtering, ordering, counting) is done by the database;
Python only ever sees one page of rows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.sql import ColumnElement

from aptien_ops.backends import catalog_schema as s
from aptien_ops.backends.sql_catalog.text_filter import grep_clause
from aptien_ops.domain import TenantQuery

_T = s.tenants.c


def order_key(order: str) -> ColumnElement[Any]:
    """The column a query orders by (a tenant without a cluster sorts as an empty one)."""
    column = _T[order]
    return func.coalesce(column, "") if order == "cluster" else column


def grep_of(text: str) -> ColumnElement[bool]:
    """Tenants whose name, country, region, cluster or state holds ``text``."""
    return grep_clause((_T.name, _T.country, _T.region, _T.cluster, _T.state), text)


def in_region(stmt: Select[Any], query: TenantQuery) -> Select[Any]:
    return stmt if query.region is None else stmt.where(_T.region == query.region)


def found(stmt: Select[Any], query: TenantQuery) -> Select[Any]:
    """``stmt`` narrowed to the tenants ``query`` finds."""
    stmt = in_region(stmt, query)
    return stmt if not query.grep else stmt.where(grep_of(query.grep))


def page_of(columns: Any, query: TenantQuery, offset: int, limit: int) -> Select[Any]:
    key = order_key(query.order)
    stmt = found(select(*columns), query).order_by(key, _T.name)
    return stmt.offset(offset).limit(limit)


def key_of(name: str, query: TenantQuery) -> Select[Any]:
    """The order key of tenant ``name`` if ``query`` finds it (no row if not)."""
    return found(select(order_key(query.order)), query).where(_T.name == name)


def before(name: str, key: object, query: TenantQuery) -> Select[Any]:
    """How many tenants ``query`` finds before ``name`` (whose order key is ``key``)."""
    column = order_key(query.order)
    earlier = or_(column < key, and_(column == key, _T.name < name))
    return found(select(func.count()).select_from(s.tenants), query).where(earlier)


def tally_of(query: TenantQuery) -> Select[Any]:
    """(tenants found, tenants in the region) in one pass over the region's rows."""
    matching: ColumnElement[Any] = func.count()
    if query.grep:
        matching = func.coalesce(func.sum(case((grep_of(query.grep), 1), else_=0)), 0)
    stmt: Select[Any] = select(matching, func.count()).select_from(s.tenants)
    return in_region(stmt, query)
