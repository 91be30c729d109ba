"""What a PostgreSQL cluster's own catalogs say about its tenant databases.

One query of ``pg_database``, ``pg_roles`` and ``pg_shdescription`` for every tenant database
(owner, its role's LOGIN, CONNECT for PUBLIC and the inspector, the schema version comment),
judged into the ``TenantStore`` port's :class:`DatabaseFacts`; no session in any tenant
database. Used by :class:`~aptien_ops.backends.postgres_tenants.PostgresTenantStore`.
"""

from __future__ import annotations

from typing import Any

import psycopg

from aptien_ops.backends import tenant_schema
from aptien_ops.ports import DatabaseFacts

DB_PREFIX = "tenant_"
#: Every tenant database with what the server's own catalogs say about it, in one query:
#: owner, its own role's LOGIN, CONNECT for PUBLIC and for the inspector, the version comment.
#: The comment is joined, not read with ``shobj_description()``: that function runs a query
#: of its own per database (two thirds of this query's time at 1,000 tenants).
_FACTS = r"""
SELECT d.datname, pg_catalog.pg_get_userbyid(d.datdba), o.rolcanlogin,
       pg_catalog.has_database_privilege('public', d.oid, 'CONNECT'),
       pg_catalog.has_database_privilege(i.oid, d.oid, 'CONNECT'),
       c.description
FROM pg_catalog.pg_database d
LEFT JOIN pg_catalog.pg_roles o ON o.rolname = d.datname || '_owner'
LEFT JOIN pg_catalog.pg_roles i ON i.rolname = %s
LEFT JOIN pg_catalog.pg_shdescription c
  ON c.objoid = d.oid AND c.classoid = 'pg_catalog.pg_database'::pg_catalog.regclass
WHERE d.datname LIKE 'tenant\_%%' ORDER BY d.datname
"""


def tenant_names(conn: psycopg.Connection) -> list[str]:
    """Tenant names of every ``tenant_*`` database, sorted."""
    rows = conn.execute(
        r"SELECT datname FROM pg_database WHERE datname LIKE 'tenant\_%' ORDER BY datname"
    ).fetchall()
    return [row[0][len(DB_PREFIX) :] for row in rows]


def cluster_facts(conn: psycopg.Connection, inspector_role: str | None) -> list[DatabaseFacts]:
    """Every tenant database's facts, ``inspector_role``'s CONNECT judged if one is given."""
    rows = conn.execute(_FACTS, (inspector_role,)).fetchall()
    return [_facts(row, inspector_role) for row in rows]


def _facts(row: tuple[Any, ...], inspector_role: str | None) -> DatabaseFacts:
    """One row of :data:`_FACTS` as the port's facts, its access judged."""
    datname, owner, login, public_connect, inspector_connect, comment = row
    role = f"{datname}_owner"
    access = []
    if owner != role:
        access.append(f"owned by {owner}, not {role}")
    if login is None:
        access.append(f"its role {role} does not exist")
    if public_connect:
        access.append("CONNECT is granted to PUBLIC")
    if inspector_role is not None and not inspector_connect:
        access.append(f"the inspector {inspector_role} may not connect")
    return DatabaseFacts(
        tenant=datname[len(DB_PREFIX) :],
        schema_version=tenant_schema.version_from_comment(comment),
        login=login,
        owner=owner,
        access=tuple(access),
    )
