"""The scratch databases restores go into, and the cluster admin's connections that create,
guard and drop them.

A restore verification's scratch database is owned by the powerless :data:`RESTORER` role; a
``backup restore`` stages the tenant's data in one owned by the tenant's own role, which is
then renamed into place. Each is guarded by an advisory lock for as long as its run lives, so
a sweep (the next verification, backup run or fleet check on the cluster) can tell the ones a
killed run left behind from the ones in use, and drop only the former.

Dropping ends the sessions in the database (``WITH (FORCE)``). When one of them is not the
admin's to end (autovacuum, for an admin without ``pg_signal_backend``), the drop is tried
again a few times; if it still fails, the database is left for the next sweep and the reason,
naming the missing privilege, is reported instead of the run's result being lost.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
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
from aptien_ops.domain import ScratchSweep, validate_tenant_name

#: Owns scratch databases and performs restores into them (NOLOGIN, no privileges).
RESTORER = "aptien_scratch_restorer"
#: ``scratch_<tenant>_<8 hex>``: what :func:`scratch_database` creates, and all the sweep drops.
_SCRATCH_NAME = re.compile(r"scratch_([a-z0-9][a-z0-9-]*[a-z0-9])_[0-9a-f]{8}")
#: Pauses (s) before each further try to drop a scratch database the cluster would not let go
#: of: autovacuum, which an admin without pg_signal_backend may not end, leaves in seconds.
DROP_RETRY_PAUSES: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0)
_DROP = "DROP DATABASE IF EXISTS {} WITH (FORCE)"


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


def new_name(tenant: str) -> str:
    """``scratch_<tenant>_<8 hex>``. Raises: InvalidInput for an invalid tenant name."""
    return f"scratch_{validate_tenant_name(tenant)}_{secrets.token_hex(4)}"


def is_scratch_of(name: str, tenant: str) -> bool:
    """Whether ``name`` is a scratch database of ``tenant`` (as :func:`new_name` makes them)."""
    found = _SCRATCH_NAME.fullmatch(name) if isinstance(name, str) else None
    return found is not None and found.group(1) == tenant


def _scratch_lock(name: str) -> int:
    """The advisory lock a live run holds on its scratch database (a signed 64-bit key)."""
    return int.from_bytes(
        hashlib.sha256(b"aptien-ops scratch " + name.encode()).digest()[:8], "big", signed=True
    )


def drop_database(
    conn: psycopg.Connection, name: str, pauses: tuple[float, ...] = DROP_RETRY_PAUSES
) -> str | None:
    """Drop ``name`` (ending its sessions), trying again after each of ``pauses`` while the
    cluster refuses; None once it is gone, else why it is not, in the operator's words.

    Raises: psycopg.Error only if the connection itself broke.
    """
    why: str | None = None
    for pause in (0.0, *pauses):
        time.sleep(pause)
        try:
            conn.execute(sql.SQL(_DROP).format(sql.Identifier(name)))
            return None
        except psycopg.Error as exc:
            if conn.broken:
                raise
            why = _refusal(conn, exc)
    return why


def _refusal(conn: psycopg.Connection, exc: psycopg.Error) -> str:
    """Why the cluster would not drop a database; a missing pg_signal_backend is named."""
    detail = driver_message(exc)
    if exc.sqlstate != "42501":
        return detail
    try:
        row = conn.execute(
            "SELECT current_user, pg_catalog.pg_has_role('pg_signal_backend', 'MEMBER')"
        ).fetchone()
    except psycopg.Error:
        return detail
    if row is None or row[1]:
        return detail
    return (
        f"another session is in it (autovacuum, most likely) and the cluster admin {row[0]}"
        f" lacks pg_signal_backend, which ending that session needs"
        f" (a DBA runs: GRANT pg_signal_backend TO {row[0]})"
    )


def sweep_scratch(
    conn: psycopg.Connection, cluster: str, tenant: str | None = None
) -> ScratchSweep:
    """Drop the scratch databases (of ``tenant``, else all) no live run holds: those a killed
    one left behind, or one whose drop the cluster refused at the end of its run.

    ``conn`` is an autocommit admin connection to the cluster's own database, where every run
    takes its lock. Raises: InvalidInput (tenant name), psycopg.Error.
    """
    if tenant is not None:
        validate_tenant_name(tenant)
    dropped: list[str] = []
    kept: list[tuple[str, str]] = []
    rows = conn.execute(
        "SELECT datname FROM pg_catalog.pg_database WHERE datname LIKE 'scratch\\_%'"
        " ORDER BY datname"
    ).fetchall()
    for (name,) in rows:
        found = _SCRATCH_NAME.fullmatch(name)
        if found is None or (tenant is not None and found.group(1) != tenant):
            continue
        key = _scratch_lock(name)
        free = conn.execute("SELECT pg_catalog.pg_try_advisory_lock(%s)", (key,)).fetchone()
        if not free or not free[0]:
            continue  # a live run is using it
        try:
            why = drop_database(conn, name, pauses=())
        finally:
            conn.execute("SELECT pg_catalog.pg_advisory_unlock(%s)", (key,))
        if why is None:
            dropped.append(name)
        else:
            kept.append((name, why))
    return ScratchSweep(cluster, tuple(dropped), tuple(kept))


@dataclass
class Scratch:
    """A scratch database of this run: its name, what the sweep on the way in found, and, once
    the block has ended, why it could not be dropped (None: it was)."""

    name: str
    swept: ScratchSweep
    left: str | None = field(default=None)


@contextmanager
def scratch_database(
    cluster: ClusterSettings, tenant: str, *, owner: str | None = None
) -> Iterator[Scratch]:
    """An empty database ``scratch_<tenant>_<random>`` on ``cluster``, dropped on exit.

    Owned by the powerless :data:`RESTORER` role (a verification), or by ``owner`` (the
    tenant's own role, which must exist: a ``backup restore`` staging its data). Stale scratch
    databases are swept on the way in (see :func:`sweep_scratch`). A connection holds an
    advisory lock on the name from before the database exists until it is dropped, so a run
    killed with ``kill -9`` leaves a database nobody holds, which the next sweep drops. A
    database renamed away during the block (swapped in) is not there to drop. If the drop
    fails, :attr:`Scratch.left` says why and the database stays for the next sweep.

    Raises: Unavailable (or Forbidden, Conflict, NotFound) if it cannot be created.
    """
    name = new_name(tenant)
    where = f"cluster {cluster.name!r}"
    holder = None
    try:
        holder = admin_connect(cluster)
        holder.execute("SELECT pg_catalog.pg_advisory_lock(%s)", (_scratch_lock(name),))
        swept = sweep_scratch(holder, cluster.name)
        if owner is None:
            owner = RESTORER
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
                sql.Identifier(name), sql.Identifier(owner)
            )
        )
        # Restored metadata is personal data: nobody but the admin (and owner) may connect.
        holder.execute(
            sql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(
                sql.Identifier(name)
            )
        )
    except psycopg.Error as exc:
        if holder is not None:
            holder.close()
        raise translate_pg_error(exc, f"{where}: create scratch database {name}") from None
    scratch = Scratch(name, swept)
    try:
        yield scratch
    finally:
        try:
            scratch.left = drop_database(holder, name)
        except psycopg.Error:
            scratch.left = _drop_afresh(cluster, name)
        finally:
            holder.close()


def _drop_afresh(cluster: ClusterSettings, name: str) -> str | None:
    """Drop ``name`` over a new connection (the holder's broke); why it is not, or None."""
    try:
        with admin_connect(cluster) as conn:
            return drop_database(conn, name)
    except psycopg.Error as exc:
        return f"the cluster could not be reached to drop it: {driver_message(exc)}"
