"""Reads the job queue's state for the Jobs screen (a PostgreSQL catalog's; a SQLite catalog
has none)."""

from __future__ import annotations

from typing import Protocol

from aptien_ops.domain.job_board import JobBoard


class JobBoardReader(Protocol):
    def read(self, *, failures: int = 50) -> JobBoard:
        """Queue depth per region, the workers connected, the jobs running and the newest
        ``failures`` failed jobs with their reason. Raises: Unavailable."""
        ...

    def close(self) -> None: ...
