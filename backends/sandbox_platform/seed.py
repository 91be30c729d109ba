"""Seeding one tenant: check the request, then write users, logins, audit events and the
records they touched, in that order, in committed batches."""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import chain, islice
from pathlib import Path
from typing import Any

from aptien_ops.backends.sandbox_platform.activity import Activity
from aptien_ops.backends.sandbox_platform.keys import platform_key
from aptien_ops.backends.sandbox_platform.records import RecordBook
from aptien_ops.backends.sandbox_platform.tables import BatchWriter, Driver, Row
from aptien_ops.backends.sandbox_platform.timeline import EPOCH, iso_converter, pg_time
from aptien_ops.domain import validate_tenant_name
from aptien_ops.errors import InvalidInput, OpsError

#: Rows per batch: one COPY or executemany, one commit, one progress report.
BATCH_ROWS = 50_000


@dataclass(frozen=True)
class SeedStats:
    """Rows written per table, and the wall time the seed took."""

    users: int
    logins: int
    audit_events: int
    records: int
    seconds: float


def seed_tenant(
    conn: Any,
    dialect: str,
    tenant: str,
    *,
    users: int,
    audit_events: int,
    logins: int,
    seed: int,
    key_dir: Path,
    now: datetime,
    marker: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SeedStats:
    """Fill an empty tenant database (schema applied) with platform activity, in batches.

    ``conn`` is a ``psycopg.Connection`` (``dialect="postgresql"``) or a ``sqlite3.Connection``
    (``"sqlite"``) to the tenant's database as its owner; each batch is committed on it.
    Logins and audit events cover the 90 days before ``now``. ``marker``, if given, is written
    into every payload plaintext and nowhere else. ``progress(done, total)`` is called after
    every committed batch; ``total`` grows once, when the number of distinct records is known.

    Raises:
        InvalidInput: bad counts, dialect, tenant name or marker, a naive ``now``; key file
            problems as in :func:`platform_key`.
        Conflict: the tables are missing or already hold activity, or the database is busy.
        Forbidden: the role may not write the tables (PostgreSQL).
        Unavailable: the database or the key directory cannot be used.
    """
    started = time.monotonic()
    _check_request(dialect, tenant, users, audit_events, logins, marker, now)
    key_id, key = platform_key(key_dir, tenant)

    now_us = (now - EPOCH) // timedelta(microseconds=1)
    postgres = dialect == "postgresql"
    activity = Activity(
        zlib.crc32(f"{tenant}:{seed}".encode()),
        tenant,
        users,
        now_us,
        pg_time if postgres else iso_converter(),
    )
    book = RecordBook(tenant, key_id, key, marker)
    done, total = 0, users + logins + audit_events

    def advance(rows: int) -> None:
        nonlocal done
        done += rows
        if progress is not None:
            progress(done, total)

    what = f"tenant {tenant!r}: seed platform activity"
    driver = _driver(postgres)
    try:
        write_batch, restore = driver.open(conn, what)
        try:
            _write(write_batch, "users", activity.users(), advance)
            _write(write_batch, "login_events", activity.logins(logins), advance)
            _write(write_batch, "audit_events", activity.audit_events(audit_events, book), advance)
            total += book.count
            _write(write_batch, "records", book.records(activity.convert), advance)
        finally:
            restore()
    except driver.error as exc:
        _rollback(conn, driver.error)
        raise driver.translate(exc, what) from None
    except OpsError:
        _rollback(conn, driver.error)
        raise
    return SeedStats(users, logins, audit_events, book.count, time.monotonic() - started)


def _check_request(
    dialect: str,
    tenant: str,
    users: int,
    audit_events: int,
    logins: int,
    marker: str | None,
    now: datetime,
) -> None:
    validate_tenant_name(tenant)
    if dialect not in ("postgresql", "sqlite"):
        raise InvalidInput(f"unknown dialect {dialect!r}: postgresql or sqlite")
    for name, value in (("users", users), ("audit_events", audit_events), ("logins", logins)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidInput(f"{name} must be a non-negative integer, not {value!r}")
    if users < 1 and (audit_events or logins):
        raise InvalidInput("logins and audit events need at least one user")
    if marker is not None and (not isinstance(marker, str) or not marker):
        raise InvalidInput("the marker must be a non-empty string")
    if now.tzinfo is None or now.utcoffset() is None:
        raise InvalidInput("now must be timezone-aware")


def _write(
    write_batch: BatchWriter, table: str, rows: Iterable[Row], advance: Callable[[int], None]
) -> None:
    """``rows`` into ``table`` in batches of at most :data:`BATCH_ROWS`, each committed, and
    ``advance`` told how many rows each held."""
    it = iter(rows)
    for first in it:
        advance(write_batch(table, chain((first,), islice(it, BATCH_ROWS - 1))))


def _driver(postgres: bool) -> Driver:
    if postgres:
        # Here, so seeding SQLite never loads the PostgreSQL driver.
        from aptien_ops.backends.sandbox_platform.postgres import DRIVER as POSTGRES

        return POSTGRES
    from aptien_ops.backends.sandbox_platform.sqlite import DRIVER as SQLITE

    return SQLITE


def _rollback(conn: Any, driver_error: type[Exception]) -> None:
    try:
        conn.rollback()
    except driver_error:
        pass  # the connection is gone; the original error is the one to report
