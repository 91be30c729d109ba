"""The job queue on a PostgreSQL catalog (procrastinate): fleet work spread over workers
pinned to a region. Absent on a SQLite catalog, where the same work runs in-process."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from aptien_ops.domain.jobs import Enqueued, JobRecord, JobRetention, JobSpec, PrunedJobs

#: Runs one job in the worker: ``(kind, task_kwargs, job_id)``. An ``Unavailable`` is
#: transient (the job is retried with backoff); any other error fails the job for good.
JobHandler = Callable[[str, Mapping[str, Any], int], None]


class JobQueue(Protocol):
    def enqueue(self, specs: Sequence[JobSpec], *, behind: bool = False) -> list[Enqueued]:
        """Put each job on its region's queue of its kind; a spec whose lock already has a
        job waiting or running is not queued again (``already``). ``behind``: queued even if
        a job of its lock is running (it starts once that one ended), not if one waits.
        Raises: Unavailable."""
        ...

    def jobs(
        self, *, state: str | None = None, region: str | None = None, limit: int = 200
    ) -> list[JobRecord]:
        """The newest jobs first. Raises: Unavailable."""
        ...

    def job(self, job_id: int) -> JobRecord | None:
        """Raises: Unavailable."""
        ...

    def retry(self, job_id: int) -> bool:
        """Queue a failed, cancelled or aborted job again; False if it is in no such state.
        Raises: Unavailable."""
        ...

    def cancel(self, job_id: int) -> bool:
        """Cancel a waiting job (a running one is asked to abort); False if it is neither.
        Raises: Unavailable."""
        ...

    def prune(self, retention: JobRetention, *, region: str | None = None) -> PrunedJobs:
        """Delete the finished jobs (of ``region``'s queues) past ``retention``; a job still
        waiting or running is never deleted. Raises: Unavailable."""
        ...

    def work(
        self,
        *,
        region: str,
        kinds: Sequence[str],
        concurrency: int,
        name: str,
        handler: JobHandler,
        until_idle: bool = False,
        schedule: tuple[str, JobSpec] | None = None,
        retention: JobRetention | None = None,
    ) -> None:
        """Run a worker on ``region``'s queues of ``kinds`` until SIGINT/SIGTERM (or, with
        ``until_idle``, until they are empty); jobs of workers whose heartbeat stopped are
        queued again. ``schedule`` (cron, job): the job is queued at each tick of the cron
        expression, once whatever the number of workers doing the same. ``retention``: the
        region's finished jobs past it are deleted from the start and hourly.
        Raises: Unavailable, ConfigError (a cron expression the queue cannot read)."""
        ...

    def close(self) -> None: ...
