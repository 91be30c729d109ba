"""Operator events as structlog JSON lines for the SIEM (a file, and stderr with --verbose).

structlog is imported only when the first event is written, so read-only commands do not pay
for it. Parameters arrive already redacted (see :func:`aptien_ops.opslog.redact`), but the
events still hold personal data (looked-up e-mail addresses): the file and its rotations are
private to the account that runs the console (see :class:`PrivateLogFile`).
"""

from __future__ import annotations

import fcntl
import os
import stat
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, cast

from aptien_ops.domain import OpsLogEntry
from aptien_ops.errors import ConfigError

if TYPE_CHECKING:
    from aptien_ops.config import Settings

MIB = 1024 * 1024


class EventLog:
    """Writes each committed ops-log entry as one JSON line."""

    def __init__(
        self,
        path: Path,
        *,
        verbose: bool = False,
        group: str | None = None,
        rotate_bytes: int = 64 * MIB,
        keep: int = 5,
    ) -> None:
        self.path = path
        self.verbose = verbose
        self._file = PrivateLogFile(path, group=group, rotate_bytes=rotate_bytes, keep=keep)
        self._logger: Any = None

    @classmethod
    def for_settings(cls, settings: Settings, *, verbose: bool = False) -> EventLog:
        """The event log ``[logging]`` and ``[bastion] log_group`` describe."""
        log = settings.logging
        return cls(
            log.file,
            verbose=verbose,
            group=settings.bastion.log_group,
            rotate_bytes=log.rotate_mib * MIB,
            keep=log.keep_rotated,
        )

    def _open(self) -> Any:
        if self._logger is None:
            import structlog

            # Not a TextIO, but all that PrintLogger calls (write, flush) is there.
            stream = cast(TextIO, _Tee(self._file, sys.stderr) if self.verbose else self._file)
            self._logger = structlog.wrap_logger(
                structlog.PrintLogger(stream),
                processors=[
                    structlog.processors.add_log_level,
                    structlog.processors.JSONRenderer(sort_keys=True),
                ],
            )
        return self._logger

    def entry(self, entry: OpsLogEntry) -> None:
        self._open().info(
            "ops_action", **{k: v for k, v in entry.as_json().items() if k not in ("prev_hash",)}
        )

    def unrecorded(self, entry: OpsLogEntry, why: str) -> None:
        """An attempt the catalog could not take into the ops log (it was unreachable or
        busy): kept here, unchained (seq 0, no HMAC), so that the SIEM still sees it."""
        fields = {k: v for k, v in entry.as_json().items() if k not in ("seq", "prev_hash", "hmac")}
        self._open().warning("ops_action_unrecorded", why=why, **fields)

    def internal_error(self, exc: BaseException) -> None:
        """The traceback of a bug, for whoever debugs it (never shown to the operator)."""
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self._open().error("internal_error", error=type(exc).__name__, traceback=tb)

    def close(self) -> None:
        self._file.close()
        self._logger = None


class PrivateLogFile:
    """An append-only text file, private whatever the umask and the directory's mode.

    Created (or, if an older run left it open, made) mode 0600, or 0640 owned by ``group``.
    Each complete line is one ``write`` (``O_APPEND``), so lines of consoles running at the
    same moment never interleave. A line that would take the file past ``rotate_bytes`` (0:
    never) first rotates it: ``<file>.1`` … ``<file>.<keep>``, newest first, renamed under a
    lock so that two consoles do not both rotate; a console whose file was rotated by another
    notices and reopens. Renaming keeps each rotated file's mode.
    """

    def __init__(self, path: Path, *, group: str | None, rotate_bytes: int, keep: int) -> None:
        self.path = path
        self.group = group
        self.mode = 0o640 if group else 0o600
        self.rotate_bytes = rotate_bytes
        self.keep = keep
        self._fd: int | None = None
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        if "\n" in self._pending:
            complete, _, self._pending = self._pending.rpartition("\n")
            self._append((complete + "\n").encode("utf-8"))
        return len(text)

    def flush(self) -> None:
        """Lines are written whole as they complete; a partial line waits for its end."""

    def close(self) -> None:
        if self._pending:
            self._append(self._pending.encode("utf-8"))
            self._pending = ""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _append(self, data: bytes) -> None:
        fd = self._rotated_for(len(data))
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]

    def _open(self) -> int:
        """Raises: ConfigError if the file cannot be given to ``group`` (OSError otherwise)."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
        fd = os.open(self.path, flags, self.mode)
        try:
            info = os.fstat(fd)
            if self.group is not None:
                gid = _group_id(self.group)
                if info.st_gid != gid:
                    try:
                        os.fchown(fd, -1, gid)
                    except PermissionError:
                        raise ConfigError(
                            f"the event log {self.path} cannot be given to group {self.group}",
                            hint="the service account must be a member of [bastion] log_group",
                        ) from None
            if stat.S_IMODE(info.st_mode) != self.mode:
                os.fchmod(fd, self.mode)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _reopen(self) -> int:
        if self._fd is not None:
            os.close(self._fd)
        self._fd = self._open()
        return self._fd

    def _rotated_for(self, incoming: int) -> int:
        """The descriptor to append ``incoming`` bytes to, rotating the file first if due."""
        fd = self._fd if self._fd is not None else self._reopen()
        if not self.rotate_bytes:
            return fd
        if not self._is_current(fd):
            fd = self._reopen()  # another console rotated it
        size = os.fstat(fd).st_size
        if size == 0 or size + incoming <= self.rotate_bytes:
            return fd
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            if self._is_current(fd):
                self._shift()
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
        return self._reopen()

    def _is_current(self, fd: int) -> bool:
        try:
            on_disk = os.stat(self.path)
        except FileNotFoundError:
            return False
        mine = os.fstat(fd)
        return (on_disk.st_dev, on_disk.st_ino) == (mine.st_dev, mine.st_ino)

    def _shift(self) -> None:
        def rotated(n: int) -> Path:
            return self.path.with_name(f"{self.path.name}.{n}")

        if self.keep == 0:
            self.path.unlink()
            return
        for n in range(self.keep - 1, 0, -1):
            if rotated(n).exists():
                os.replace(rotated(n), rotated(n + 1))
        os.replace(self.path, rotated(1))


def _group_id(name: str) -> int:
    import grp

    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        raise ConfigError(f"bastion.log_group: there is no group {name!r}") from None


class _Tee:
    def __init__(self, *streams: TextIO | PrivateLogFile) -> None:
        self.streams = streams

    def write(self, text: str) -> int:
        for s in self.streams:
            s.write(text)
        return len(text)

    def flush(self) -> None:
        for s in self.streams:
            s.flush()
