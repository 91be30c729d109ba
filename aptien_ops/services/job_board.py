"""The job queue at a glance for the TUI's Jobs screen and the dashboard (``job.view``, every
member of staff, not logged): queue depth per region, the workers connected, the jobs running
and the failed jobs with their reason. Retry and cancel are ``JobService``'s (logged).

On a SQLite catalog (the sandbox) there is no queue: :meth:`JobBoardService.read` says so in
one line instead of failing, and fleet work runs in the process that asks for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aptien_ops.domain.job_board import JobBoard
from aptien_ops.permissions import Action
from aptien_ops.ports.job_board import JobBoardReader
from aptien_ops.services.context import OpsContext
from aptien_ops.services.jobs import NEEDS_POSTGRESQL

#: What the Jobs screen says on a SQLite catalog.
NO_QUEUE = f"The job queue {NEEDS_POSTGRESQL}; here fleet work runs in-process."


@dataclass(frozen=True)
class JobsAtGlance:
    """``board`` is None on a catalog without a queue, and ``note`` says why."""

    board: JobBoard | None
    regions: tuple[str, ...]
    note: str = ""


class JobBoardService:
    def __init__(self, ctx: OpsContext, reader_factory: Callable[[], JobBoardReader]) -> None:
        self.ctx = ctx
        self._factory = reader_factory
        self._reader: JobBoardReader | None = None

    @property
    def available(self) -> bool:
        return self.ctx.settings.catalog.url.startswith("postgresql")

    def read(self) -> JobsAtGlance:
        """Raises: Forbidden, Unavailable."""
        regions = tuple(self.ctx.settings.regions)
        self.ctx.view(Action.JOB_VIEW, "jobs", lambda tx: None)
        if not self.available:
            return JobsAtGlance(None, regions, NO_QUEUE)
        if self._reader is None:
            self._reader = self._factory()
        return JobsAtGlance(self._reader.read(), regions)

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None


__all__ = ["NO_QUEUE", "JobBoardService", "JobsAtGlance"]
