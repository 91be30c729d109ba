"""A SQLite tenant file's schema: the version steps, ``tenant_meta`` and the header's version.

:class:`~aptien_ops.backends.sqlite_tenants.SqliteTenantStore` runs these on a connection it
opened (autocommit: each step takes its own ``BEGIN IMMEDIATE``); :mod:`sqlite_swap` runs them
on a restored copy before it becomes the tenant's database.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from aptien_ops.backends import tenant_schema
from aptien_ops.domain import Clock
from aptien_ops.errors import IntegrityFailure
from aptien_ops.ports import DatabaseFacts

HAS_META = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tenant_meta'"
UPSERT_META = (
    "INSERT INTO tenant_meta (key, value) VALUES (?, ?)"
    " ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)


def apply_steps(
    conn: sqlite3.Connection,
    tenant: str,
    name: str,
    target_version: int,
    region: str,
    clock: Clock,
) -> int:
    """The steps from the current version up to ``target_version``, one ``BEGIN
    IMMEDIATE`` each, each recording its version in the file header too; returns the
    version reached. Raises: sqlite3.Error, IntegrityFailure."""
    while True:
        with immediate(conn):
            current = read_version(conn, name) or 0
            if current >= target_version:
                if current:  # a file from before user_version gets it now
                    _record_version(conn, current)
                return current
            step = current + 1
            for statement in tenant_schema.statements("sqlite", step):
                conn.execute(statement)
            _record_version(conn, step)
            overwrite, keep = tenant_schema.meta_rows(tenant, region, step, clock())
            conn.executemany(UPSERT_META, overwrite.items())
            conn.executemany(
                "INSERT OR IGNORE INTO tenant_meta (key, value) VALUES (?, ?)",
                [*keep.items(), ("suspended", "0")],
            )


@contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[None]:
    """One write transaction, taken up front so concurrent writers queue instead of failing."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        with suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _record_version(conn: sqlite3.Connection, version: int) -> None:
    """The version in the file header's ``user_version`` too, in the step's transaction, where
    ``cluster_facts`` reads it without knowing the tables."""
    if conn.execute("PRAGMA user_version").fetchone()[0] != version:
        conn.execute(f"PRAGMA user_version = {int(version)}")


def read_version(conn: sqlite3.Connection, name: str) -> int | None:
    """``tenant_meta.schema_version``, None if there is no tenant_meta table.

    Raises: IntegrityFailure if tenant_meta has no version row (this code never leaves one so).
    """
    found = conn.execute(HAS_META).fetchone()
    if found is None:
        return None
    row = conn.execute("SELECT value FROM tenant_meta WHERE key = 'schema_version'").fetchone()
    if row is None:
        raise IntegrityFailure(f"{name}: tenant_meta has no schema_version row")
    return tenant_schema.parse_version(row[0], name)


def file_facts(name: str, path: Path, info: os.stat_result) -> DatabaseFacts:
    """A tenant file's facts: owner and mode from ``info`` (its ``stat``), and from a read-only
    open the header's ``user_version`` and the ``suspended`` flag (None where unreadable)."""
    mode = stat.S_IMODE(info.st_mode)
    access = []
    if mode & 0o077:
        access.append(f"{path.name} is open to others (mode {mode:04o}, not 0600)")
    if info.st_uid != os.getuid():
        access.append(f"{path.name} belongs to uid {info.st_uid}, not the console's")
    version: int | None = None
    login: bool | None = None
    problem: str | None = None
    try:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, isolation_level=None)
        try:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0]) or None
            if conn.execute(HAS_META).fetchone() is not None:
                row = conn.execute(
                    "SELECT value FROM tenant_meta WHERE key = 'suspended'"
                ).fetchone()
                login = row is None or row[0] != "1"
        finally:
            conn.close()
    except sqlite3.Error as exc:
        problem = str(exc)
    return DatabaseFacts(
        tenant=name,
        schema_version=version,
        login=login,
        owner=f"uid {info.st_uid}, mode {mode:04o}",
        access=tuple(access),
        unreadable=problem,
    )
