"""Files a live process holds: created private and locked at once, removed by others only
when nobody holds them any more.

The holder keeps an exclusive ``flock`` on the file from the moment it exists. The kernel drops
the lock when that process dies, however it dies (``kill -9`` included), so a sweep that takes
the lock without waiting removes exactly the files a crashed run left, and never one a live
run (in this or another process) is using.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from aptien_ops.errors import Conflict


def create_held(path: Path) -> int:
    """Create ``path`` (0600, never an existing file) and lock it; returns the open descriptor,
    which holds the lock until it is closed.

    Raises: Conflict if the file exists already (another run has it) or vanished while being
    locked (a sweep took it); OSError.
    """
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        raise Conflict(f"{path.name} is being written by another run", hint="rerun later") from None
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        same = os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        same = False
    if not same:  # a sweep removed it between open and lock
        os.close(fd)
        raise Conflict(f"{path.name} was removed while being created", hint="rerun")
    return fd


def remove_if_unheld(path: Path) -> bool:
    """Remove ``path`` if no live process holds it; whether it was removed.

    Raises: OSError (other than the file being gone already).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False  # a live run holds it
    try:
        path.unlink(missing_ok=True)  # while holding the lock, so no run can take it over
    finally:
        os.close(fd)
    return True
