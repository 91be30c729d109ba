"""Files a live process holds: created private and locked at once, removed by others only
when nobody holds them any more.

The holder keeps an exclusive ``flock`` on the file from the moment it has a name: the file is
made nameless (``O_TMPFILE``), locked, and only then linked into its directory, so a sweep in
another thread or process can never find it unlocked. The kernel drops the lock when the holder
dies, however it dies (``kill -9`` included), so a sweep that takes the lock without waiting
removes exactly the files a crashed run left, and never one a live run is using. (A run killed
before the link leaves nothing: a nameless file goes with its last descriptor.)

On a filesystem without ``O_TMPFILE`` the file is created by name and locked at once; a sweep
that slips in between is detected and the creation is retried under the caller's name once the
sweep has gone.
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

from aptien_ops.errors import Conflict


def create_held(path: Path) -> int:
    """Create ``path`` (0600, never an existing file) and lock it; returns the open descriptor,
    which holds the lock until it is closed.

    Raises: Conflict if the file exists already (another run has it); OSError.
    """
    directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        try:
            fd = os.open(".", os.O_TMPFILE | os.O_RDWR | os.O_CLOEXEC, 0o600, dir_fd=directory)
        except OSError as exc:
            if exc.errno not in _NO_TMPFILE:
                raise
            return _create_by_name(path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            # linkat(AT_SYMLINK_FOLLOW) through /proc gives the nameless file its name; a
            # directory descriptor makes Python call linkat rather than link.
            os.link(f"/proc/self/fd/{fd}", path.name, dst_dir_fd=directory, follow_symlinks=True)
        except FileExistsError:
            os.close(fd)
            raise _taken(path) from None
        except BaseException:
            os.close(fd)
            raise
        return fd
    finally:
        os.close(directory)


#: What ``open`` says when the filesystem (or kernel) cannot make a nameless file.
_NO_TMPFILE = frozenset({errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT})
#: Tries to create by name while sweeps keep taking the new file away.
_BY_NAME_TRIES = 5


def _taken(path: Path) -> Conflict:
    return Conflict(f"{path.name} is being written by another run", hint="rerun later")


def _create_by_name(path: Path) -> int:
    """:func:`create_held` without ``O_TMPFILE``: create, then lock; a sweep that removed the
    file in between (it found it unlocked) makes this try again."""
    for _ in range(_BY_NAME_TRIES):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        except FileExistsError:
            raise _taken(path) from None
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)  # a sweep removed it between open and lock: the name is free again
    raise Conflict(
        f"{path.name} was removed while being created, {_BY_NAME_TRIES} times", hint="rerun"
    )


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
