"""Applying the tenant schema on PostgreSQL: one transaction per version step, as the owner.

Each step runs as the tenant's owner role (the tables are the platform's), takes a lock so
concurrent runs queue, and records its version and the ``tenant_meta`` rows in the same
transaction, together with the database's comment, where the cluster shows the version to
``fleet check`` without a session in the database. The steps themselves are
:mod:`tenant_schema`'s, shared with SQLite.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from aptien_ops.backends import tenant_schema
from aptien_ops.backends.pg_common import act_as_owner, read_schema_version
from aptien_ops.domain import Clock

#: Serialises schema steps within one tenant database.
_SCHEMA_LOCK = 0x61707469656E01


def apply_steps(
    conn: psycopg.Connection,
    tenant: str,
    dbname: str,
    owner: str,
    target_version: int,
    region: str,
    clock: Clock,
) -> int:
    """Run the steps from the current version up to ``target_version`` on ``conn`` (the
    tenant's database as the admin, in autocommit); returns the version reached.

    Raises: IntegrityFailure (a foreign tenant_meta), psycopg.Error (the step is rolled back).
    """
    while True:
        with conn.transaction():
            act_as_owner(conn, owner)
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            current = read_schema_version(conn, dbname) or 0
            if current >= target_version:
                if current:  # a tenant from before the comment gets it now (fleet migrate)
                    _record_version(conn, dbname, current)
                return current
            step = current + 1
            for statement in tenant_schema.statements("postgresql", step):
                conn.execute(statement)
            overwrite, keep = tenant_schema.meta_rows(tenant, region, step, clock())
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO public.tenant_meta (key, value) VALUES (%s, %s)"
                    " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                    list(overwrite.items()),
                )
                cur.executemany(
                    "INSERT INTO public.tenant_meta (key, value) VALUES (%s, %s)"
                    " ON CONFLICT (key) DO NOTHING",
                    list(keep.items()),
                )
            _record_version(conn, dbname, step)


def _record_version(conn: psycopg.Connection, dbname: str, version: int) -> None:
    """Make the database's comment record ``version``, unless it does already.

    Raises: psycopg.Error.
    """
    wanted = tenant_schema.version_comment(version)
    row = conn.execute(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_catalog.pg_database"
        " WHERE datname = current_database()"
    ).fetchone()
    if row is None or row[0] != wanted:
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(dbname), sql.Literal(wanted)
            )
        )


def current_version(conn: psycopg.Connection, dbname: str, owner: str) -> int | None:
    """The version in ``tenant_meta`` read as the owner, None before the first step.

    Raises: IntegrityFailure (a foreign tenant_meta), psycopg.Error.
    """
    with conn.transaction():
        act_as_owner(conn, owner)
        return read_schema_version(conn, dbname)
