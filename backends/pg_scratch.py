"""The scratch databases a restore verification restores into, and the cluster admin's
connections that create, guard and drop them.

Each scratch database is owned by the powerless :data:`RESTORER` role and guarded by an
advisory lock for as long as its verification lives, so the next verification on the cluster
can tell the ones a killed run left behind from the ones in use, and drop only the former.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from aptien_ops.backends.pg_common import (
    conninfo_params,
    converge_role,
    driver_message,
    translate_pg_error,
)
from aptien_ops.config import ClusterSettings
from aptien_ops.errors import Unavailable

#: Owns scratch databases and performs restores into them (NOLOGIN, no privileges).
RESTORER = "aptien_scratch_restorer"
#: ``scratch_<tenant>_<8 hex>``: what :func:`scratch_database` creates, and all the sweep drops.
_SCRATCH_NAME = re.compile(r"scratch_[a-z0-9][a-z0-9_-]*_[0-9a-f]{8}")


def admin_connect(cluster: ClusterSettings, dbname: str | None = None) -> psycopg.Connection:
    """An autocommit admin connection (to ``dbname``, else the URL's database).

    Raises: psycopg.Error (for the caller to translate), InvalidInput, ConfigError.
    """
    params = conninfo_params(cluster.url)
    if dbname is not None:
        params["dbname"] = dbname
    params.setdefault("connect_timeout", "10")
    password = cluster.password.read()
    extra: dict[str, Any] = {"password": password} if password else {}
    return psycopg.connect(make_conninfo(**params), autocommit=True, **extra)


def _scratch_lock(name: str) -> int:
    """The advisory lock a live verification holds on its scratch database (a signed 64-bit key)."""
    return int.from_bytes(
        hashlib.sha256(b"aptien-ops scratch " + name.encode()).digest()[:8], "big", signed=True
    )


def sweep_scratch(conn: psycopg.Connection) -> list[str]:
    """Drop the scratch databases no live verification holds: those a killed one left behind.

    ``conn`` is an autocommit admin connection to the cluster's own database, where every
    verification takes its lock. Raises: psycopg.Error.
    """
    dropped = []
    rows = conn.execute(
        "SELECT datname FROM pg_catalog.pg_database WHERE datname LIKE 'scratch\\_%'"
    ).fetchall()
    for (name,) in rows:
        if not _SCRATCH_NAME.fullmatch(name):
            continue
        key = _scratch_lock(name)
        free = conn.execute("SELECT pg_catalog.pg_try_advisory_lock(%s)", (key,)).fetchone()
        if not free or not free[0]:
            continue  # a verification is using it
        try:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            dropped.append(name)
        except psycopg.errors.DatabaseError:
            # E.g. not the admin's to drop: the verification goes on; the database stays for
            # a human.
            pass
        finally:
            conn.execute("SELECT pg_catalog.pg_advisory_unlock(%s)", (key,))
    return dropped


@contextmanager
def scratch_database(cluster: ClusterSettings, tenant: str) -> Iterator[tuple[str, list[str]]]:
    """An empty database ``scratch_<tenant>_<random>`` on ``cluster`` owned by the powerless
    :data:`RESTORER` role, dropped on exit; yields its name and the stale scratch databases
    dropped on the way in (see :func:`sweep_scratch`).

    A connection holds an advisory lock on the name from before the database exists until it
    is dropped, so a verification killed with ``kill -9`` leaves a database nobody holds,
    which the next restore verification on the cluster drops.

    Raises: Unavailable (or Forbidden, Conflict) if it cannot be created or dropped.
    """
    name = f"scratch_{tenant}_{secrets.token_hex(4)}"
    where = f"cluster {cluster.name!r}"
    holder = None
    try:
        holder = admin_connect(cluster)
        holder.execute("SELECT pg_catalog.pg_advisory_lock(%s)", (_scratch_lock(name),))
        swept = sweep_scratch(holder)
        converge_role(
            holder,
            RESTORER,
            create=sql.SQL("NOLOGIN NOCREATEDB NOCREATEROLE"),
            alter=None,
            refusal=f"{where}: refusing to restore backups as {RESTORER}",
        )
        superuser = holder.execute("SELECT current_setting('is_superuser')").fetchone()
        if superuser is None or superuser[0] != "on":
            holder.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(sql.Identifier(RESTORER)))
        holder.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(RESTORER)
            )
        )
        # Restored metadata is personal data: nobody but the admin may connect.
        holder.execute(
            sql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(
                sql.Identifier(name)
            )
        )
    except psycopg.Error as exc:
        if holder is not None:
            holder.close()
        raise translate_pg_error(exc, f"{where}: create scratch database {name}") from None
    try:
        yield name, swept
    finally:
        try:
            with holder:
                holder.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
        except psycopg.Error:
            _drop_afresh(cluster, name)


def _drop_afresh(cluster: ClusterSettings, name: str) -> None:
    """Drop ``name`` over a new connection (the holder's broke). Raises: Unavailable."""
    try:
        with admin_connect(cluster) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    except psycopg.Error as exc:
        raise Unavailable(
            f"cluster {cluster.name!r}: the scratch database {name} could not be dropped:"
            f" {driver_message(exc)}",
            hint="drop it by hand",
        ) from None
