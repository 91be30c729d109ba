"""Applying the tenant schema on PostgreSQL: one transaction per version step, as the owner.

Each step runs as the tenant's owner role (the tables are the platform's), takes a lock so
concurrent runs queue, and records its version and the ``tenant_meta`` rows in the same
transaction. The steps themselves are :mod:`tenant_schema`'s, shared with SQLite.
"""

from __future__ import annotations

import psycopg

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


def current_version(conn: psycopg.Connection, dbname: str, owner: str) -> int | None:
    """The version in ``tenant_meta`` read as the owner, None before the first step.

    Raises: IntegrityFailure (a foreign tenant_meta), psycopg.Error.
    """
    with conn.transaction():
        act_as_owner(conn, owner)
        return read_schema_version(conn, dbname)
