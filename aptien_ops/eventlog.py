"""Operator events as structlog JSON lines for the SIEM (a file, and stderr with --verbose).

structlog is imported only when the first event is written, so read-only commands do not pay
for it. Parameters arrive already redacted (see :func:`aptien_ops.opslog.redact`).
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import Any, TextIO

from aptien_ops.domain import OpsLogEntry


class EventLog:
    """Writes each committed ops-log entry as one JSON line."""

    def __init__(self, path: Path, *, verbose: bool = False) -> None:
        self.path = path
        self.verbose = verbose
        self._logger: Any = None
        self._file: TextIO | None = None

    def _open(self) -> Any:
        if self._logger is None:
            import structlog

            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._file = open(self.path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - held for the process
            stream: TextIO = _Tee(self._file, sys.stderr) if self.verbose else self._file  # type: ignore[assignment]
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
        if self._file is not None:
            self._file.close()
            self._file = None
            self._logger = None


class _Tee:
    def __init__(self, *streams: TextIO) -> None:
        self.streams = streams

    def write(self, text: str) -> int:
        for s in self.streams:
            s.write(text)
        return len(text)

    def flush(self) -> None:
        for s in self.streams:
            s.flush()
