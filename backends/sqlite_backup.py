"""SQLite side of backups: the online backup API into a copy in the region's store, and checks
of a decrypted copy (``PRAGMA integrity_check``, the schema listing, row counts).

The copy is switched to rollback-journal mode so that the backup is one self-contained file
(a stock-tools restore yields a database that opens without any ``-wal`` file).
"""

from __future__ import annotations

import errno
import hashlib
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from aptien_ops.backends.backup_codec import DumpInfo, Opened, Sink, Source
from aptien_ops.backends.backup_verdicts import Walked
from aptien_ops.errors import Unavailable

KIND = "sqlite"
_SQLITE_FULL = 13
_SQLITE_IOERR = 10
_SIDE_FILES = ("-journal", "-wal", "-shm")


def quote(identifier: str) -> str:
    """An SQLite identifier in double quotes, inner quotes doubled."""
    return '"' + identifier.replace('"', '""') + '"'


def count_rows(conn: sqlite3.Connection) -> dict[str, int]:
    """Rows of every table but SQLite's own. Raises: sqlite3.Error."""
    names = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master"
            " WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
        )
    ]
    # Names come from the database's own catalog and are quoted; no value is interpolated.
    counts = {}
    for name in names:
        statement = "SELECT count(*) FROM " + quote(name)  # noqa: S608
        counts[name] = int(conn.execute(statement).fetchone()[0])
    return counts


def schema_listing_sha256(conn: sqlite3.Connection) -> str:
    """SHA-256 of the schema (type, name, table, SQL of every object), SQLite's table of
    contents."""
    digest = hashlib.sha256()
    for row in conn.execute(
        "SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_master ORDER BY type, name"
    ):
        digest.update(("\x1f".join(row) + "\n").encode("utf-8"))
    return digest.hexdigest()


def _raise_for(exc: sqlite3.Error, what: str) -> None:
    """Disk full and I/O errors become OSError (the store's problem); the rest Unavailable."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    if code == _SQLITE_FULL:
        raise OSError(errno.ENOSPC, "No space left on device") from None
    if code == _SQLITE_IOERR:
        raise OSError(errno.EIO, f"I/O error: {exc}") from None
    raise Unavailable(f"{what}: {exc}") from None


def remove_side_files(path: Path) -> None:
    for suffix in _SIDE_FILES:
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def backup(store: Any, tenant: str, copy: Path, consume: Callable[[Source], None]) -> DumpInfo:
    """Copy the tenant's database into ``copy`` (an empty file) with the online backup API,
    count and list it, then hand its bytes to ``consume``.

    Raises: NotFound (no such database), Unavailable, OSError (ENOSPC/EIO writing the copy).
    """
    what = f"tenant {tenant!r}: online backup"
    try:
        with store.connect(tenant) as source:
            # Caught in here: the store would turn a full disk into a vague Unavailable.
            try:
                target = sqlite3.connect(copy, isolation_level=None)
                try:
                    source.backup(target)
                    target.execute("PRAGMA journal_mode=DELETE")
                    counts, listing = count_rows(target), schema_listing_sha256(target)
                finally:
                    target.close()
            except sqlite3.Error as exc:
                _raise_for(exc, what)
    finally:
        remove_side_files(copy)
    with open(copy, "rb") as fh:
        consume(fh)
    return DumpInfo(
        f"tenant_{tenant}.db",
        f"SQLite {sqlite3.sqlite_version}",
        "sqlite3 online backup API",
        None,
        counts,
        listing,
    )


class _FileSink:
    def __init__(self, fh: BinaryIO) -> None:
        self._fh = fh

    def write(self, data: bytes) -> int:
        return self._fh.write(data)


def walk(scratch: Path, restore: bool, feed: Callable[[Sink], Opened]) -> Walked:
    """Decrypt into the scratch file ``scratch`` and check it: integrity, schema listing and
    (``restore``) row counts. The caller removes the file.

    Raises: OSError if the scratch file cannot be written for lack of space or I/O errors.
    """
    with open(scratch, "wb") as fh:
        opened = feed(_FileSink(fh))
    if opened.problem is not None and opened.sink_error is None:
        return Walked(opened)
    if opened.sink_error is not None:
        if isinstance(opened.sink_error, OSError):
            raise opened.sink_error
        return Walked(opened)
    try:
        conn = sqlite3.connect(f"{scratch.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        return Walked(opened, problem=f"the decrypted copy does not open as SQLite: {exc}")
    try:
        checked = [str(r[0]) for r in conn.execute("PRAGMA integrity_check").fetchall()]
        if checked != ["ok"]:
            return Walked(
                opened, problem="SQLite integrity check failed: " + "; ".join(checked[:3])
            )
        return Walked(opened, schema_listing_sha256(conn), count_rows(conn) if restore else None)
    except sqlite3.DatabaseError as exc:
        return Walked(opened, problem=f"the decrypted copy is not a sound SQLite database: {exc}")
    finally:
        conn.close()
        remove_side_files(scratch)
