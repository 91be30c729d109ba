"""Seeding a SQLite tenant: large executemany transactions, without an fsync per commit and
with a large page cache while seeding."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from aptien_ops.backends.sandbox_platform.tables import (
    COLUMNS,
    Driver,
    Row,
    Session,
    require_empty_table,
)
from aptien_ops.errors import Conflict, OpsError, Unavailable

#: SQLite page cache while seeding (negative: KiB), restored afterwards.
SQLITE_CACHE_KIB = -262_144

# Spelled out: only these constant statements ever run, and each must match COLUMNS.
_ANY_ROW = {
    "users": "SELECT EXISTS (SELECT 1 FROM users)",
    "login_events": "SELECT EXISTS (SELECT 1 FROM login_events)",
    "audit_events": "SELECT EXISTS (SELECT 1 FROM audit_events)",
    "records": "SELECT EXISTS (SELECT 1 FROM records)",
}
_INSERT = {
    "users": "INSERT INTO users (email, display_name, created_at, active, is_admin)"
    " VALUES (?, ?, ?, ?, ?)",
    "login_events": "INSERT INTO login_events (at, user_email, ip, user_agent, result, method)"
    " VALUES (?, ?, ?, ?, ?, ?)",
    "audit_events": "INSERT INTO audit_events (at, actor, action, datasheet, record_id, key_id,"
    " payload_size, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    "records": "INSERT INTO records (id, datasheet, created_at, updated_at, key_id, payload_size,"
    " payload) VALUES (?, ?, ?, ?, ?, ?, ?)",
}


def session(conn: sqlite3.Connection, what: str) -> Session:
    """Check the tables, and relax durability and grow the cache until the session is restored."""
    for table in COLUMNS:
        found = {row[0] for row in conn.execute("SELECT name FROM pragma_table_info(?)", (table,))}
        rows = bool(found) and conn.execute(_ANY_ROW[table]).fetchone() == (1,)
        require_empty_table(what, table, found, rows)
    if conn.in_transaction:
        conn.commit()
    synchronous = int(conn.execute("PRAGMA synchronous").fetchone()[0])
    cache_size = int(conn.execute("PRAGMA cache_size").fetchone()[0])
    # No fsync per batch (a crash leaves an unfinished seed either way), and room for the
    # indexes' hot pages: inserts into five b-trees per event are bound by page cache misses.
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute(f"PRAGMA cache_size={SQLITE_CACHE_KIB:d}")

    def write_batch(table: str, batch: Iterator[Row]) -> int:
        if not conn.in_transaction:
            conn.execute("BEGIN")  # one transaction per batch, even on an autocommit connection
        cur = conn.executemany(_INSERT[table], batch)
        conn.commit()
        return cur.rowcount

    def restore() -> None:
        conn.rollback()
        conn.execute(f"PRAGMA synchronous={synchronous:d}")
        conn.execute(f"PRAGMA cache_size={cache_size:d}")

    return write_batch, restore


def translate(exc: Exception, what: str) -> OpsError:
    if isinstance(exc, sqlite3.Error):
        message = str(exc)
        busy = isinstance(exc, sqlite3.IntegrityError) or "locked" in message or "busy" in message
        return (Conflict if busy else Unavailable)(f"{what}: {' '.join(message.split())}")
    return Unavailable(f"{what}: {exc}")


DRIVER = Driver(sqlite3.Error, session, translate)
