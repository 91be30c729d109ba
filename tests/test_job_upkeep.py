"""The job queue's upkeep on a PostgreSQL catalog: the stalled-job sweep outlives a failed
query, finished jobs are deleted after their retention, and a worker runs as a daemon
(no terminal, stdin closed) as systemd starts it."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import psycopg
import pytest
from jobs_world import EU_TENANT, JobsWorld, jobs_world

from aptien_ops.backends.job_queue import ProcrastinateQueue
from aptien_ops.domain.jobs import JobSpec

__all__ = ["jobs_world"]

pytestmark = pytest.mark.postgres

_STATUS = "SELECT status::text, attempts FROM procrastinate.procrastinate_jobs WHERE id = %(i)s"


def test_the_stalled_job_sweep_goes_on_after_its_query_fails(
    jobs_world: JobsWorld, caplog: pytest.LogCaptureFixture
) -> None:
    world = jobs_world
    [stalled] = world.console.jobs.queue("test").enqueue(
        [JobSpec("backup", "eu", EU_TENANT, "root")]
    )
    assert stalled.job_id is not None
    with psycopg.connect(world.conninfo) as conn:  # taken by a worker that is gone
        conn.execute("SET search_path TO procrastinate")
        conn.execute(
            "UPDATE procrastinate_jobs SET status = 'doing' WHERE id = %(i)s",
            {"i": stalled.job_id},
        )
    sweeper = ProcrastinateQueue(world.console.settings.catalog)
    manager = sweeper.app.job_manager
    real = manager.get_stalled_jobs
    calls: list[int] = []

    async def broken_once(**kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:  # the sweep's connection dies under its query, once
            await manager.connector.execute_query_async(
                "SELECT pg_terminate_backend(pg_backend_pid())"
            )
        return await real(**kwargs)

    manager.get_stalled_jobs = broken_once  # type: ignore[method-assign]

    async def sweep_until_requeued() -> None:
        async with sweeper.app.open_async():
            task = asyncio.create_task(sweeper._requeue_stalled(sweeper.app, ["eu.backup"]))
            try:
                while world.jobs_table(_STATUS, i=stalled.job_id) != [("todo", 1)]:
                    assert not task.done(), task
                    await asyncio.sleep(0.05)
            finally:
                task.cancel()

    with caplog.at_level(logging.WARNING, logger="aptien_ops.backends.job_queue"):
        asyncio.run(asyncio.wait_for(sweep_until_requeued(), timeout=120))
    assert len(calls) >= 2
    [warned] = [r.getMessage() for r in caplog.records if "sweep failed" in r.getMessage()]
    assert "trying again in 4 s" in warned and "terminat" in warned
