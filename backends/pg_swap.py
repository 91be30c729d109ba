"""Putting a restored database in a tenant's place on PostgreSQL (``backup restore``).

The restore goes into a staging database owned by the tenant's own role; once its rows match
the backup's manifest it is finished there (schema, ``tenant_meta``, the grants a tenant
database has) and then swapped in: both renames (``ALTER DATABASE … RENAME``, which the owner
role's member, the cluster admin, may run) in one transaction, so the tenant's database is at
every moment either the old one, untouched, or the restored one.
"""

from __future__ import annotations

import time

import psycopg
from psycopg import sql

from aptien_ops.backends import pg_tenant_access as access
from aptien_ops.backends import pg_tenant_schema
from aptien_ops.backends.pg_common import act_as_owner, end_client_sessions
from aptien_ops.domain import Clock
from aptien_ops.errors import Conflict

#: How long the swap keeps ending sessions that come back before it gives up.
SWAP_SECONDS = 10.0


def finish_staged(
    conn: psycopg.Connection,
    tenant: str,
    staged: str,
    owner: str,
    region: str,
    schema_version: int,
    inspector: str,
    clock: Clock,
) -> None:
    """On ``conn`` (the staging database as the admin, autocommit): schema steps up to
    ``schema_version``, ``tenant_meta`` naming ``tenant`` in ``region``, schema ``public`` the
    owner's alone, and the inspector's column-level grants.

    Raises: Conflict (no schema), IntegrityFailure (a foreign tenant_meta), psycopg.Error.
    """
    pg_tenant_schema.apply_steps(conn, tenant, staged, owner, schema_version, region, clock)
    with conn.transaction():
        act_as_owner(conn, owner)
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO public.tenant_meta (key, value) VALUES (%s, %s)"
                " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                [("tenant", tenant), ("region", region)],
            )
    access.lock_down_public_schema(conn, owner)
    access.grant_metadata_columns(conn, staged, owner, inspector)


def grant_database(conn: psycopg.Connection, staged: str, owner: str, inspector: str) -> None:
    """On the admin connection: who may connect to the staging database once it is the
    tenant's (the owner and the inspector; ``PUBLIC`` was refused when it was made).

    Raises: psycopg.Error.
    """
    db = sql.Identifier(staged)
    conn.execute(
        sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(db, sql.Identifier(owner))
    )
    conn.execute(
        sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(db, sql.Identifier(inspector))
    )


def swap_databases(
    conn: psycopg.Connection, cluster: str, live: str, staged: str, aside: str
) -> None:
    """On the admin connection: rename ``live`` (if it exists) to ``aside`` and ``staged`` to
    ``live`` in one transaction, after ending the sessions in both; both renames happen, or
    neither.

    Raises: Conflict (sessions kept coming back for :data:`SWAP_SECONDS`; nothing was
    renamed), psycopg.Error (e.g. a session the admin may not end).
    """
    deadline = time.monotonic() + SWAP_SECONDS
    while True:
        end_client_sessions(conn, [live, staged])
        try:
            with conn.transaction():
                found = conn.execute(
                    "SELECT 1 FROM pg_catalog.pg_database WHERE datname = %s", (live,)
                ).fetchone()
                if found is not None:
                    conn.execute(
                        sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                            sql.Identifier(live), sql.Identifier(aside)
                        )
                    )
                conn.execute(
                    sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                        sql.Identifier(staged), sql.Identifier(live)
                    )
                )
            return
        except psycopg.errors.ObjectInUse:
            if time.monotonic() > deadline:
                raise Conflict(
                    f"cluster {cluster!r}: {live} stayed in use for {SWAP_SECONDS:.0f}s:"
                    " nothing was replaced",
                    hint="rerun when the platform's sessions have ended (suspend the tenant)",
                ) from None
            time.sleep(0.05)
