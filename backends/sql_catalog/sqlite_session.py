"""The catalog's SQLite connections: their PRAGMAs, how a transaction begins, and the relaxed
commit of :meth:`SqlCatalog.transaction(durable=False) <SqlCatalog.transaction>`."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import Connection

from aptien_ops.backends.sql_catalog import errors


def sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    # Take BEGIN away from pysqlite so that sqlite_on_begin decides DEFERRED vs IMMEDIATE
    # (SQLAlchemy's documented recipe for SQLite transactions).
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    # A lock held longer than this ends the command as "busy" (exit 6), not a long wait.
    cursor.execute(f"PRAGMA busy_timeout = {int(errors.CATALOG_LOCK_WAIT_S * 1000)}")
    cursor.execute("PRAGMA foreign_keys = ON")
    # Deleted rows are zeroed, not left in free pages: sealed secrets are crypto-shredded.
    cursor.execute("PRAGMA secure_delete = ON")
    try:
        if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            _switch_to_wal(cursor)
    finally:
        cursor.close()


def _switch_to_wal(cursor: Any) -> None:
    # Only a new catalog gets here. Switching needs the file to itself and SQLite does not
    # apply busy_timeout to it, so a second process opening the new file at the same moment
    # would fail at once with "database is locked": retry for as long as busy_timeout.
    deadline = time.monotonic() + 10
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def sqlite_on_begin(conn: Connection) -> None:
    # IMMEDIATE takes the write lock up front: two writers queue on busy_timeout instead of
    # failing when a read lock would have to be upgraded.
    immediate = conn.get_execution_options().get("aptien_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def relaxed_sync(conn: Connection, *, relax: bool) -> Iterator[None]:
    """With ``relax``, ``PRAGMA synchronous = NORMAL`` around one transaction of a SQLite catalog
    file, then the connection's own setting again (it goes back to the pool).

    SQLite refuses to change it inside a transaction, so it is set on the driver's connection
    (autocommit, see :func:`sqlite_on_connect`) before ``BEGIN`` and restored after the commit
    or rollback. In WAL mode (every catalog file) a commit at NORMAL is written to the WAL,
    only not fsynced: a killed process loses nothing, an OS crash or power cut may lose the
    last commits, and the database stays consistent either way.
    """
    raw = conn.connection.driver_connection if relax else None
    if raw is None:
        yield
        return
    normal = int(raw.execute("PRAGMA synchronous").fetchone()[0])
    raw.execute("PRAGMA synchronous = NORMAL")
    try:
        yield
    finally:
        # An error that ended the transaction may have closed the connection already.
        if not conn.invalidated:
            try:
                raw.execute(f"PRAGMA synchronous = {normal}")
            except sqlite3.Error:
                conn.invalidate()  # never back into the pool relaxed
                raise
