"""A light, read-only look at the catalog with the raw driver: the TUI's first frame.

Implements :class:`aptien_ops.ports.CatalogGlance` for SQLite (stdlib ``sqlite3``) and
PostgreSQL (``psycopg``, imported only for a PostgreSQL catalog). No SQLAlchemy: importing it
costs more than everything else the first frame needs. The statements are the raw SQL of
``SqlCatalog``'s ``tenant_counts``, ``cluster_loads``, ``approvals(PENDING)`` and the operator
lookup, all in one read-only transaction; a contract test holds both adapters to the same
answers. Before anything else the glance checks that ``alembic_version`` is this code's
schema head and that the ops log is signed; otherwise it answers None and the console opens
the usual way (creating, upgrading or bootstrapping the catalog as needed).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from aptien_ops.backends.catalog_revision import SCHEMA_HEAD
from aptien_ops.config import CatalogSettings
from aptien_ops.domain import Approval, ApprovalState, ClusterLoad, TenantCount, TenantState
from aptien_ops.errors import InvalidInput, Unavailable
from aptien_ops.glance import DashboardGlance

_REVISION = "SELECT version_num FROM alembic_version"
_SIGNED = "SELECT signature FROM opslog_head WHERE id = 1"
_COUNTS = (
    "SELECT region, state, count(*) FROM tenants GROUP BY region, state ORDER BY region, state"
)
_LOADS = (
    "SELECT region, cluster, count(*) FROM tenants"
    " WHERE cluster IS NOT NULL AND state <> 'purged' GROUP BY region, cluster"
)
_CLUSTERS = "SELECT region, name FROM clusters"
_PENDING = (
    "SELECT id, action, target, params, requested_by, requested_at, state, decided_by, decided_at, reason"
    " FROM approvals WHERE state = 'pending' ORDER BY id"
)
#: The two statements with a parameter, in each driver's placeholder style.
_OPERATOR = {
    "sqlite": "SELECT active FROM operators WHERE name = ?",
    "psycopg": "SELECT active FROM operators WHERE name = %s",
}
_ROLES = {
    "sqlite": "SELECT role FROM operator_roles WHERE operator = ?",
    "psycopg": "SELECT role FROM operator_roles WHERE operator = %s",
}

#: Turns a timestamp as the driver returns it (SQLite: fixed-width text) into aware UTC.
ToTime = Callable[[Any], datetime | None]


def _read(cursor: Any, operator: str, style: str, to_time: ToTime) -> DashboardGlance | None:
    """Everything the dashboard shows, through a DB-API cursor inside a read transaction."""
    cursor.execute(_REVISION)
    if [row[0] for row in cursor.fetchall()] != [SCHEMA_HEAD]:
        return None  # older (needs an upgrade) or newer (refused): the normal start says which
    cursor.execute(_SIGNED)
    head = cursor.fetchone()
    if head is None or not head[0]:
        return None  # not bootstrapped yet
    cursor.execute(_OPERATOR[style], (operator,))
    found = cursor.fetchone()
    roles: frozenset[str] = frozenset()
    if found is not None and found[0]:
        cursor.execute(_ROLES[style], (operator,))
        roles = frozenset(row[0] for row in cursor.fetchall())
    cursor.execute(_COUNTS)
    counts = [
        TenantCount(region, TenantState(state), int(n)) for region, state, n in cursor.fetchall()
    ]
    cursor.execute(_LOADS)
    loads = {(region, cluster): int(n) for region, cluster, n in cursor.fetchall()}
    cursor.execute(_CLUSTERS)
    for region, cluster in cursor.fetchall():
        loads.setdefault((region, cluster), 0)
    cursor.execute(_PENDING)
    pending = [_approval(row, to_time) for row in cursor.fetchall()]
    return DashboardGlance(
        operator=operator,
        roles=roles,
        counts=counts,
        loads=[ClusterLoad(region, cluster, n) for (region, cluster), n in sorted(loads.items())],
        pending=pending,
    )


def _approval(row: Sequence[Any], to_time: ToTime) -> Approval:
    requested_at = to_time(row[5])
    assert requested_at is not None, "approvals.requested_at is NOT NULL"
    return Approval(
        row[0],
        row[1],
        row[2],
        json.loads(row[3]),
        row[4],
        requested_at,
        ApprovalState(row[6]),
        row[7],
        to_time(row[8]),
        row[9],
    )


def _sqlite_time(value: Any) -> datetime | None:
    # Stored as fixed-width "YYYY-MM-DDTHH:MM:SS.ffffffZ" (catalog_schema.UtcDateTime).
    return None if value is None else datetime.fromisoformat(value).astimezone(UTC)


def _pg_time(value: Any) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


class SqliteCatalogGlance:
    """The glance at a ``sqlite:///path`` catalog, with the stdlib driver."""

    PREFIX = "sqlite:///"

    def __init__(self, settings: CatalogSettings) -> None:
        url = settings.url
        path = url[len(self.PREFIX) :] if url.startswith(self.PREFIX) else ""
        # Escapes and query options are SQLAlchemy's business: leave such URLs to it.
        self.path = (
            path if path and path != ":memory:" and not any(c in path for c in "?%") else None
        )

    def glance(self, operator: str) -> DashboardGlance | None:
        """See :class:`aptien_ops.ports.CatalogGlance`. Raises: Unavailable."""
        if self.path is None or not os.path.isfile(self.path):
            return None  # first use: the normal start creates the catalog
        try:
            # mode=rw: never create the file; the read transaction sees one consistent state.
            conn = sqlite3.connect(
                f"file:{quote(self.path)}?mode=rw", uri=True, timeout=10, isolation_level=None
            )
        except sqlite3.Error as exc:
            raise Unavailable(f"cannot reach the catalog at {self.path}: {exc}") from None
        try:
            cursor = conn.cursor()
            cursor.execute("BEGIN")
            return _read(cursor, operator, "sqlite", _sqlite_time)
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return None  # a file the schema was never (fully) created in
            raise Unavailable(f"cannot read the catalog at {self.path}: {exc}") from None
        except sqlite3.Error as exc:
            raise Unavailable(f"cannot read the catalog at {self.path}: {exc}") from None
        finally:
            conn.close()


class PostgresCatalogGlance:
    """The glance at a ``postgresql+psycopg://`` catalog, with psycopg (no SQLAlchemy)."""

    def __init__(self, settings: CatalogSettings) -> None:
        self.settings = settings

    def glance(self, operator: str) -> DashboardGlance | None:
        """See :class:`aptien_ops.ports.CatalogGlance`. Raises: Unavailable, ConfigError."""
        # Imported here: a SQLite catalog's glance must not pay for psycopg.
        import psycopg
        from psycopg import errors as pg_errors
        from psycopg.conninfo import make_conninfo

        from aptien_ops.backends.pg_common import conninfo_params, translate_pg_error

        try:
            params = conninfo_params(self.settings.url)
        except InvalidInput:
            return None  # a URL the full catalog may still read (or reject with its own words)
        secret = self.settings.password.read()
        if secret:
            params["password"] = secret
        params.setdefault("connect_timeout", "10")
        params.setdefault("application_name", "aptien-ops")
        where = f"the catalog {params.get('dbname', '')}".rstrip()
        try:
            with psycopg.connect(make_conninfo("", **params)) as conn:
                conn.read_only = True
                with conn.cursor() as cursor:
                    return _read(cursor, operator, "psycopg", _pg_time)
        except pg_errors.UndefinedTable:
            return None  # an empty database the schema was never created in
        except psycopg.Error as exc:
            raise translate_pg_error(exc, f"cannot reach {where}", secrets=[secret]) from None
