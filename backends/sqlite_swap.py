"""Swapping a restored SQLite copy in as a tenant's database file.

The copy is finished first (:func:`finish_copy`); the current file is taken out of WAL mode
under an exclusive lock (:func:`quiesce`), so no ``-wal`` of it can be read as the new one's;
then :meth:`~aptien_ops.backends.sqlite_tenants.SqliteTenantStore.swap_in` links it aside and
renames the copy over it.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

from aptien_ops.backends import sqlite_scratch
from aptien_ops.backends.sqlite_tenant_schema import UPSERT_META, apply_steps, immediate
from aptien_ops.domain import Clock
from aptien_ops.errors import Conflict, Unavailable


def finish_copy(
    copy: Path,
    tenant: str,
    staged: str,
    region: str,
    schema_version: int,
    login: bool,
    clock: Clock,
) -> None:
    """Bring a restored copy up to the tenant's database as it must be: schema up to
    ``schema_version``, ``tenant_meta`` naming ``tenant`` in ``region``, the login flag, WAL
    mode, synced to disk.

    Raises: sqlite3.Error."""
    conn = sqlite3.connect(copy, isolation_level=None, timeout=10)
    try:
        apply_steps(conn, tenant, staged, schema_version, region, clock)
        with immediate(conn):
            rows = [("tenant", tenant), ("region", region), ("suspended", str(int(not login)))]
            conn.executemany(UPSERT_META, rows)
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()  # the last connection: its -wal is checkpointed and removed
    fsync_path(copy)


def quiesce(
    cluster: str,
    path: Path,
    unavailable: Callable[[str, OSError | sqlite3.Error], Unavailable],
) -> sqlite3.Connection | None:
    """The current database out of WAL mode, under an exclusive lock held by the returned
    connection (None: there is no current database).

    Raises: Conflict (in use), ``unavailable(...)`` if it cannot be opened."""
    if not path.exists():
        return None
    try:
        conn = sqlite3.connect(
            f"{path.as_uri()}?mode=rw", uri=True, timeout=10, isolation_level=None
        )
    except sqlite3.Error as exc:
        raise unavailable(f"open {path.name}", exc) from None
    try:
        mode = conn.execute("PRAGMA journal_mode=DELETE").fetchone()
        if mode is None or str(mode[0]).lower() != "delete":
            raise sqlite3.OperationalError("database is locked (other connections use it)")
        conn.execute("BEGIN EXCLUSIVE")
    except sqlite3.Error as exc:
        back_to_wal(conn)
        conn.close()
        raise Conflict(
            f"cluster {cluster!r}: {path.name} is in use and cannot be replaced: {exc}",
            hint="nothing was changed; rerun when its sessions have ended",
        ) from None
    return conn


def back_to_wal(conn: sqlite3.Connection) -> None:
    """Best effort: the database as it was before :func:`quiesce`."""
    with suppress(sqlite3.Error):
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        conn.execute("PRAGMA journal_mode=WAL")


def fsync_path(path: Path) -> None:
    """Flush a file (or, opened ``O_DIRECTORY``, a directory's entries) to disk."""
    flags = os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0)
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_file(
    cluster: str,
    path: Path,
    new: Path,
    aside: Path,
    unavailable: Callable[[str, OSError | sqlite3.Error], Unavailable],
) -> str | None:
    """Rename the finished copy ``new`` over ``path``, the current file linked to ``aside``
    first and removed last: at every moment ``path`` is the old database or the new one.
    Returns a note if the replaced file was left behind, else None.

    Raises: Conflict (the database stays in use; nothing was changed), ``unavailable(...)``.
    """
    old = quiesce(cluster, path, unavailable)
    try:
        if old is not None:
            os.link(path, aside)
        os.rename(new, path)
        fsync_path(path.parent)
    except OSError as exc:
        if old is not None:
            aside.unlink(missing_ok=True)
            back_to_wal(old)
        raise unavailable(f"swap {new.stem} in as {path.name}", exc) from None
    finally:
        if old is not None:
            old.close()
    try:
        sqlite_scratch.remove(aside)
    except OSError as exc:
        return f"the replaced copy {aside.name} stays until the next sweep: {exc.strerror}"
    return None
