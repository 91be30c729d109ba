"""The job queue's upkeep on a PostgreSQL catalog: the stalled-job sweep outlives a failed
query, finished jobs are deleted after their retention, and a worker runs as a daemon
(no terminal, stdin closed) as systemd starts it."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
from jobs_world import EU_TENANT, US_TENANT, JobsWorld, jobs_world, params
from waiting import until

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


def _ended_days_ago(world: JobsWorld, job_id: int | None, days: int) -> None:
    """As if ``job_id``'s events (its end with them) were ``days`` old."""
    with psycopg.connect(world.conninfo) as conn:
        conn.execute(
            "UPDATE procrastinate.procrastinate_events SET at = now() - make_interval(days => %s)"
            " WHERE job_id = %s",
            (days, job_id),
        )


def _ids(world: JobsWorld) -> set[int]:
    return {int(r[0]) for r in world.jobs_table("SELECT id FROM procrastinate.procrastinate_jobs")}


def test_jobs_prune_deletes_finished_jobs_past_their_retention_and_keeps_the_rest(
    jobs_world: JobsWorld,
) -> None:
    world = jobs_world
    jobs = world.console.jobs
    [eu_done] = jobs.enqueue_backups([EU_TENANT])
    [us_done] = jobs.enqueue_backups([US_TENANT])
    [failed] = jobs.queue("test").enqueue([JobSpec("backup", "eu", US_TENANT, "root")])
    world.run_worker("eu")
    world.run_worker("us")
    [cancelled] = jobs.enqueue_backups([EU_TENANT])
    assert cancelled.job_id is not None
    jobs.cancel(cancelled.job_id)
    [waiting] = jobs.queue("test").enqueue([JobSpec("prune", "eu", "eu", "root")])
    every = {e.job_id for e in (eu_done, us_done, failed, cancelled, waiting)}
    assert None not in every and _ids(world) == every
    assert jobs.show(failed.job_id or 0).failure is not None
    for done in every:
        _ended_days_ago(world, done, 20)

    # The configured retention (14 days, failed 90), in region eu only.
    pruned = world.cli("--json", "jobs", "prune", "--region", "eu")
    assert pruned.returncode == 0, pruned.stderr
    assert json.loads(pruned.stdout) == {
        "deleted": 2,
        "by_state": {"succeeded": 1, "cancelled": 1},
    }
    assert _ids(world) == every - {eu_done.job_id, cancelled.job_id}
    # Younger than asked: nothing; then the us job too. A failed job stays its 90 days, a
    # waiting one whatever its age.
    assert json.loads(world.cli("--json", "jobs", "prune", "--older-than", "30").stdout) == {
        "deleted": 0,
        "by_state": {},
    }
    human = world.cli("jobs", "prune", "--older-than", "0")
    assert human.returncode == 0 and human.stdout.strip() == "1 job deleted (1 succeeded)"
    assert _ids(world) == {failed.job_id, waiting.job_id}
    _ended_days_ago(world, failed.job_id, 91)
    assert jobs.prune().by_state == {"failed": 1}
    assert _ids(world) == {waiting.job_id}
    assert world.jobs_table("SELECT count(*) FROM procrastinate.aptien_job_failures") == [(0,)]
    [logged] = [e for e in world.entries("job.prune", "eu")]
    assert params(logged)["deleted"] == 2 and params(logged)["done_days"] == 14
    bad = world.cli("--json", "jobs", "prune", "--older-than", "-1")
    assert bad.returncode == 2
    assert "--older-than" in json.loads(bad.stderr.splitlines()[-1])["error"]["message"]


def test_a_worker_deletes_its_regions_old_jobs_by_itself(jobs_world: JobsWorld) -> None:
    world = jobs_world
    [eu_done] = world.console.jobs.enqueue_backups([EU_TENANT])
    [us_done] = world.console.jobs.enqueue_backups([US_TENANT])
    world.run_worker("eu")
    world.run_worker("us")
    for done in (eu_done, us_done):
        _ended_days_ago(world, done.job_id, 15)
    proc = world.worker("eu", until_idle=False)
    try:
        until(lambda: eu_done.job_id not in _ids(world), "the eu worker's upkeep")
        # Its upkeep starts with it: SIGTERM once it beats (its stop handlers are in place by
        # then; a SIGTERM before ends it as any process, exit 143).
        beats = "SELECT last_heartbeat FROM procrastinate.procrastinate_workers"
        first = until(lambda: world.jobs_table(beats), "the worker registered")
        until(lambda: world.jobs_table(beats) != first, "the worker's next heartbeat")
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert _ids(world) == {us_done.job_id}


@pytest.mark.parametrize("stdin", ["/dev/null", "closed"])
def test_a_worker_runs_as_a_daemon_with_no_terminal_and_no_stdin(
    jobs_world: JobsWorld, stdin: str
) -> None:
    """As systemd starts it: a session of its own (``setsid``), no controlling terminal,
    stdin /dev/null (StandardInput=null) or not open at all; SIGTERM stops it, exit 0."""
    world = jobs_world
    command = [sys.executable, "-m", "aptien_ops", "--config", str(world.config)]
    command += ["worker", "--region", "eu"]
    if stdin == "closed":
        command = ["sh", "-c", 'exec "$@" 0<&-', "sh", *command]
    proc = subprocess.Popen(
        ["setsid", *command],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        [queued] = world.console.jobs.enqueue_backups([EU_TENANT])
        until(
            lambda: world.jobs_table(_STATUS, i=queued.job_id) == [("succeeded", 1)],
            "the job done by the daemonised worker",
            meanwhile=lambda: None if proc.poll() is None else pytest.fail("the worker ended"),
        )
        # The worker itself (setsid did not fork): a session leader without a terminal.
        assert os.getsid(proc.pid) == proc.pid != os.getsid(0)
        tty_nr = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[4]
        assert tty_nr == "0"
        fd0 = Path(f"/proc/{proc.pid}/fd/0")
        # Closed at its start, fd 0 is whatever the worker opened first since (a socket).
        opened = os.readlink(fd0) if fd0.exists() else None
        assert (opened != "/dev/null") if stdin == "closed" else opened == "/dev/null"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert f"job {queued.job_id} backup {EU_TENANT}: ok" in err
    assert err.rstrip().endswith("aptien-ops: worker stopped")
