"""The four tables seeding fills, the rows it writes into them, and what a database driver
provides to write them (:mod:`.postgres`, :mod:`.sqlite`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aptien_ops.backends.sandbox_platform.timeline import Timestamp
from aptien_ops.errors import Conflict, OpsError

#: (table, columns) in the order rows are generated.
COLUMNS: dict[str, tuple[str, ...]] = {
    "users": ("email", "display_name", "created_at", "active", "is_admin"),
    "login_events": ("at", "user_email", "ip", "user_agent", "result", "method"),
    "audit_events": (
        "at",
        "actor",
        "action",
        "datasheet",
        "record_id",
        "key_id",
        "payload_size",
        "payload",
    ),
    "records": ("id", "datasheet", "created_at", "updated_at", "key_id", "payload_size", "payload"),
}

# One row of each table, its values in the order of COLUMNS.
UserRow = tuple[str, str, Timestamp, bool, bool]
LoginRow = tuple[Timestamp, str, str, str, str, str]
AuditRow = tuple[Timestamp, str, str, str, str, str, int, bytes]
RecordRow = tuple[str, str, Timestamp, Timestamp, str, int, bytes]
Row = tuple[str | int | bytes | datetime, ...]

BatchWriter = Callable[[str, Iterator[Row]], int]
"""``write_batch(table, rows)``: writes one batch of rows into a table in one transaction,
commits it and returns the number of rows written."""
Session = tuple[BatchWriter, Callable[[], None]]
"""A batch writer, and what restores the connection's settings once seeding ends or fails."""


@dataclass(frozen=True)
class Driver:
    """One dialect's way of writing the tables."""

    #: The driver's base exception: what :attr:`translate` turns into an :class:`OpsError`.
    error: type[Exception]
    #: ``open(conn, what)``: checks the tables exist and are empty, prepares ``conn`` (the
    #: driver's own connection type, hence ``Any``) and returns the session.
    open: Callable[[Any, str], Session]
    translate: Callable[[Exception, str], OpsError]


def require_empty_table(what: str, table: str, columns: set[str], holds_rows: bool) -> None:
    """Refuse a table that lacks a column of :data:`COLUMNS` or already holds rows.

    Raises:
        Conflict: the table is missing or incomplete (the schema was not applied), or not empty.
    """
    missing = [c for c in COLUMNS[table] if c not in columns]
    if missing:
        lacking = (
            f"no table {table}" if not columns else f"table {table} lacks {', '.join(missing)}"
        )
        raise Conflict(f"{what}: {lacking}; apply the tenant schema before seeding")
    if holds_rows:
        raise Conflict(
            f"{what}: table {table} already holds rows", hint="seed a freshly provisioned tenant"
        )
