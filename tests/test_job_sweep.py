"""A worker's stalled-job sweep is one query for all its queues, and puts back only the jobs
of its own queues: a stalled job of another region waits for that region's workers."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import pytest
from jobs_world import EU_TENANT, US_TENANT, JobsWorld, jobs_world

from aptien_ops.backends.job_queue import ProcrastinateQueue
from aptien_ops.domain.jobs import JobSpec

__all__ = ["jobs_world"]

pytestmark = pytest.mark.postgres

_STATUS = "SELECT status::text, attempts FROM procrastinate.procrastinate_jobs WHERE id = %(i)s"


def test_the_sweep_puts_back_its_own_queues_stalled_jobs_only(jobs_world: JobsWorld) -> None:
    world = jobs_world
    queue = world.console.jobs.queue("test")
    eu, us = queue.enqueue(
        [JobSpec("backup", "eu", EU_TENANT, "root"), JobSpec("backup", "us", US_TENANT, "root")]
    )
    with psycopg.connect(world.conninfo) as conn:  # both taken by workers that are gone
        conn.execute("SET search_path TO procrastinate")  # where its triggers' types are
        conn.execute(
            "UPDATE procrastinate_jobs SET status = 'doing' WHERE id = ANY(%(i)s)",
            {"i": [eu.job_id, us.job_id]},
        )
    sweeper = ProcrastinateQueue(world.console.settings.catalog)
    manager = sweeper.app.job_manager
    real = manager.get_stalled_jobs
    queries: list[dict[str, Any]] = []

    async def counted(**kwargs: Any) -> Any:
        queries.append(kwargs)
        return await real(**kwargs)

    manager.get_stalled_jobs = counted  # type: ignore[method-assign]

    async def sweep() -> None:
        async with sweeper.app.open_async():
            task = asyncio.create_task(
                sweeper._requeue_stalled(sweeper.app, ["eu.backup", "eu.verify", "eu.prune"])
            )
            try:
                while world.jobs_table(_STATUS, i=eu.job_id) != [("todo", 1)]:
                    assert not task.done(), task
                    await asyncio.sleep(0.05)
                seen = len(queries)
                while len(queries) < seen + 1:  # a whole sweep more, after the one that did it
                    assert not task.done(), task
                    await asyncio.sleep(0.05)
            finally:
                task.cancel()

    asyncio.run(asyncio.wait_for(sweep(), timeout=120))
    assert world.jobs_table(_STATUS, i=us.job_id) == [("doing", 0)]
    assert all("queue" not in q for q in queries), "one query for every queue"
    sweeper.close()
