"""Verdicts on a backup: its file against its manifest (``quick``), and what decrypting and
walking it (``full``) or restoring it (``restore``) showed, the first mismatch named."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from aptien_ops.backends.backup_codec import Opened


@dataclass(frozen=True)
class Walked:
    """A decrypted backup as its database tool saw it (the archive walked, or restored)."""

    opened: Opened
    archive_list_sha256: str | None = None
    row_counts: dict[str, int] | None = None
    """Rows per table of the scratch restore (``restore`` level only)."""
    problem: str | None = None
    """What the tool refused (pg_restore's error, a failed integrity check), or None."""
    note: str | None = None
    """Something the operator should know that does not bear on the verdict (e.g. stale
    scratch databases that were dropped on the way)."""


def _counts_problem(expected: dict[str, int], restored: dict[str, int]) -> str | None:
    problems = []
    for table in sorted(set(expected) | set(restored)):
        if table not in restored:
            problems.append(f"table {table} is missing from the restore")
        elif table not in expected:
            problems.append(f"table {table} is not in the manifest")
        elif restored[table] != expected[table]:
            problems.append(f"row count of {table} {restored[table]:,} ≠ {expected[table]:,}")
    if not problems:
        return None
    more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
    return "; ".join(problems[:3]) + more


def judge_file(path: os.PathLike[str] | str, size: int, sha256: str) -> tuple[bool, str]:
    """The ``quick`` check of a data file against its manifest's size and SHA-256."""
    try:
        actual = os.stat(path).st_size
        if actual < size:
            return (
                False,
                f"truncated: the file has {actual:,} of {size:,} bytes (ciphertext hash mismatch)",
            )
        if actual > size:
            return (
                False,
                f"size mismatch: the file has {actual:,} bytes, the manifest says {size:,}",
            )
        with open(path, "rb") as fh:
            digest = hashlib.file_digest(fh, "sha256").hexdigest()
    except FileNotFoundError:
        return False, "the data file is missing"
    except OSError as exc:
        return False, f"cannot read the backup file: {exc.strerror or exc}"
    if digest != sha256:
        return False, "ciphertext hash mismatch"
    return True, f"size ({size:,} bytes), ciphertext SHA-256 and manifest signature match"


def judge_walk(
    walked: Walked,
    *,
    ciphertext: tuple[int, str],
    plaintext: tuple[int, str],
    archive_list_sha256: str | None,
    row_counts: dict[str, int] | None,
) -> tuple[bool, str]:
    """The ``full``/``restore`` verdict: the first thing that does not match, most specific first.

    ``row_counts`` is None at the ``full`` level (nothing restored to count).
    """
    opened = walked.opened
    if opened.sink_error is not None and walked.problem:
        return False, walked.problem
    if opened.problem:
        return False, opened.problem
    if (opened.ciphertext_size, opened.ciphertext_sha256) != ciphertext:
        return (
            False,
            "ciphertext hash mismatch (the file decrypts, but is not the file that was backed up)",
        )
    if (opened.plaintext_size, opened.plaintext_sha256) != plaintext:
        return False, "plaintext hash mismatch"
    if walked.problem:
        return False, walked.problem
    if archive_list_sha256 is not None and walked.archive_list_sha256 != archive_list_sha256:
        return (
            False,
            "archive listing hash mismatch: its table of contents differs from the backup's",
        )
    if row_counts is None:
        return (
            True,
            f"decrypted {opened.plaintext_size:,} bytes; "
            "plaintext SHA-256 and archive listing match",
        )
    problem = _counts_problem(row_counts, walked.row_counts or {})
    if problem:
        return False, problem
    return True, (
        f"restored into a scratch database: {len(row_counts)} tables, "
        f"{sum(row_counts.values()):,} rows, every count matches"
    )
