"""Named locks held across processes and hosts that share one catalog (``Catalog.exclusive``).

Two runs that must not overlap — two deliveries of one notice campaign, whose rows both would
send — take the campaign's lock first; the second is refused at once. A lock is released when
its holder's block ends and, whatever stops the holder (``kill -9``, a lost connection), when
the process or its session dies: nothing is left to clean up by hand.

- **PostgreSQL**: a session-level advisory lock (``pg_try_advisory_lock``) on a connection of
  its own, kept for the block; no privilege is needed, and the server drops it with the session.
- **SQLite**: ``flock`` on a file beside the catalog's (every process of the catalog is on its
  host); an in-memory catalog uses a lock of the process.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy import exc as sa_exc

from aptien_ops.errors import Conflict, Unavailable
from aptien_ops.terminal_text import shown

_PROCESS_LOCKS: dict[str, threading.Lock] = {}
_GUARD = threading.Lock()


def _key(name: str) -> int:
    """A signed 64-bit key for ``name`` (an advisory lock's number)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def _busy(name: str) -> Conflict:
    return Conflict(
        f"another run holds {shown(name)} now",
        hint="wait for it to end (or for its process to be gone), then run again",
    )


@contextmanager
def exclusive(engine: Engine, dialect: str, sqlite_path: Path | None, name: str) -> Iterator[None]:
    """Hold ``name`` for the block. Raises: Conflict (held elsewhere), Unavailable."""
    if dialect == "postgresql":
        with _advisory(engine, name):
            yield
    elif sqlite_path is not None:
        with _file_lock(sqlite_path, name):
            yield
    else:
        with _GUARD:
            lock = _PROCESS_LOCKS.setdefault(name, threading.Lock())
        if not lock.acquire(blocking=False):
            raise _busy(name)
        try:
            yield
        finally:
            lock.release()


@contextmanager
def _advisory(engine: Engine, name: str) -> Iterator[None]:
    key = _key(name)
    try:
        conn = engine.connect()
    except sa_exc.SQLAlchemyError:
        raise Unavailable(f"the catalog cannot be reached to take {shown(name)}") from None
    try:
        try:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
            conn.commit()
        except sa_exc.SQLAlchemyError:
            raise Unavailable(f"the catalog failed while taking {shown(name)}") from None
        if not got:
            raise _busy(name)
        try:
            yield
        finally:
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
            except sa_exc.SQLAlchemyError:
                conn.invalidate()  # the session ends, and its lock with it
    finally:
        conn.close()


@contextmanager
def _file_lock(catalog: Path, name: str) -> Iterator[None]:
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    path = catalog.with_name(f"{catalog.name}.lock-{digest}")
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise Unavailable(f"cannot open the lock file {path.name}: {exc.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _busy(name) from None
        yield
    finally:
        os.close(fd)  # releases the lock
