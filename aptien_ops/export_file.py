"""An export file of a tenant's login or audit events: metadata only, private, never partial.

The file is written under a hidden temporary name (mode 0600) and linked into place only when
complete, so a reader never sees half an export and an existing file is never replaced; the
SHA-256 of exactly what was written goes into the ops log with the row count. CSV cells that a
spreadsheet would run as a formula are defused.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from aptien_ops.domain import AuditEvent, LoginEvent
from aptien_ops.domain.free_text import REASON
from aptien_ops.errors import Conflict, InvalidInput, Unavailable

EXPORT_FORMATS = ("jsonl", "csv")
#: A spreadsheet would run a cell starting with these as a formula; attackers pick user agents
#: and the addresses of failed logins, so such cells get a leading apostrophe in CSV.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def check_export(kind: str, fmt: str, reason: str, output: Path) -> tuple[str, Path]:
    """The reason with its white space collapsed, and the absolute path to write.

    Raises: InvalidInput (kind, format, reason, missing directory), Conflict (file exists).
    """
    if kind not in ("logins", "audit"):
        raise InvalidInput(f"--kind must be logins or audit, got {kind[:20]!r}")
    if fmt not in EXPORT_FORMATS:
        raise InvalidInput(f"--format must be jsonl or csv, got {fmt[:20]!r}")
    why = REASON.check(
        reason,
        missing="an export of personal data needs a reason",
        hint='--reason "ticket SEC-123: …"',
    )
    return why, new_file(output, "an export")


def new_file(output: Path, what: str) -> Path:
    """The absolute path of ``output``, a file still to be written (``what``: ``an export``).

    Raises: InvalidInput (no such directory, a name the system refuses), Conflict (a file is
    there: ``what`` never overwrites one)."""
    target = output.expanduser().absolute()
    try:
        if not target.parent.is_dir():
            raise InvalidInput(f"--output: the directory {target.parent} does not exist")
        if target.exists() or target.is_symlink():
            raise Conflict(
                f"{target} exists; {what} never overwrites a file", hint="choose a new --output"
            )
    except OSError as refused:  # a name too long, a directory that may not be searched
        raise InvalidInput(f"--output: {refused.strerror}: {target}") from None
    return target


class _Sink:
    """Writes text to the file and hashes exactly what was written."""

    def __init__(self, fh: Any) -> None:
        self.fh, self.digest, self.rows = fh, hashlib.sha256(), 0

    def write(self, text: str) -> int:
        self.fh.write(text)
        self.digest.update(text.encode("utf-8"))
        return len(text)


def _csv_cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value


def write_export(
    target: Path, fmt: str, columns: tuple[str, ...], rows: Iterable[LoginEvent | AuditEvent]
) -> tuple[int, str]:
    """Write ``rows`` to ``target`` (0600), complete or not at all. Returns (rows, sha256).

    Raises: Conflict (the file appeared meanwhile), Unavailable (the file system refused),
    and whatever reading the rows raises; a partial file is always removed.
    """
    partial = target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.partial")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            sink = _Sink(fh)
            table = csv.writer(sink) if fmt == "csv" else None
            if table is not None:
                table.writerow(columns)
            for row in rows:
                data = row.as_json()
                if table is not None:
                    table.writerow([_csv_cell(data[c]) for c in columns])
                else:
                    sink.write(json.dumps({c: data[c] for c in columns}, ensure_ascii=False) + "\n")
                sink.rows += 1
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(partial, target)  # unlike rename, never replaces a file that appeared meanwhile
        except FileExistsError:
            raise Conflict(
                f"{target} appeared during the export; nothing was overwritten"
            ) from None
    except OSError as exc:
        raise Unavailable(f"cannot write the export {target}: {exc.strerror or exc}") from None
    finally:
        partial.unlink(missing_ok=True)
    return sink.rows, sink.digest.hexdigest()
