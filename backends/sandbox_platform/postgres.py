"""Seeding a PostgreSQL tenant: binary COPY in committed batches, with column types read from
the catalog so the wire format matches.

Imported only to seed PostgreSQL, so seeding SQLite never loads the PostgreSQL driver.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from aptien_ops.backends.pg_common import translate_pg_error
from aptien_ops.backends.sandbox_platform.tables import (
    COLUMNS,
    Driver,
    Row,
    Session,
    require_empty_table,
)
from aptien_ops.errors import OpsError, Unavailable

_TYPES = (
    "SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid"
    " WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped"
)


def session(conn: psycopg.Connection[TupleRow], what: str) -> Session:
    """Check the tables, and turn off commit waits on ``conn`` until the session is restored."""
    types: dict[str, list[str]] = {}
    for table, columns in COLUMNS.items():
        found: dict[str, str] = dict(conn.execute(_TYPES, (f"public.{table}",)).fetchall())
        rows = bool(found) and conn.execute(
            sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.Identifier("public", table))
        ).fetchone() == (True,)
        require_empty_table(what, table, set(found), rows)
        types[table] = [found[c] for c in columns]
    copy_into = {
        table: sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
            sql.Identifier("public", table), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        for table, columns in COLUMNS.items()
    }
    conn.execute("SET synchronous_commit TO off")  # throwaway demo data: commit waits buy nothing
    conn.commit()

    def write_batch(table: str, batch: Iterator[Row]) -> int:
        written = 0
        with conn.cursor() as cur, cur.copy(copy_into[table]) as copy:
            copy.set_types(types[table])
            write_row = copy.write_row
            for row in batch:
                write_row(row)
                written += 1
        conn.commit()
        return written

    def restore() -> None:
        if not conn.broken:
            conn.rollback()
            conn.execute("RESET synchronous_commit")
            conn.commit()

    return write_batch, restore


def translate(exc: Exception, what: str) -> OpsError:
    if isinstance(exc, psycopg.Error):
        return translate_pg_error(exc, what)
    return Unavailable(f"{what}: {exc}")


DRIVER = Driver(psycopg.Error, session, translate)
