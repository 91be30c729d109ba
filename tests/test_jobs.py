"""Fleet work on the job queue of a PostgreSQL catalog, run by real worker processes: a job's
outcome is the in-process command's, a worker refuses a tenant of another region, and a
tenant never has two backups queued whoever enqueues. A SQLite catalog has no queue."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from backup_site import wait_for_partial
from jobs_world import EU_TENANT, US_TENANT, JobsWorld, jobs_world, params
from waiting import until

from aptien_ops.composition import open_console
from aptien_ops.domain.jobs import JobSpec
from aptien_ops.errors import InvalidInput

from cli_runner import run_cli
from tenant_seeding import seeded

__all__ = ["jobs_world"]

pytestmark = pytest.mark.postgres


def test_a_queued_backup_is_recorded_as_the_in_process_one_with_its_worker(
    jobs_world: JobsWorld,
) -> None:
    world = jobs_world
    [queued] = world.console.jobs.enqueue_backups([EU_TENANT])
    assert queued.job_id is not None and not queued.already and queued.region == "eu"
    err = world.run_worker("eu")
    assert f"job {queued.job_id} backup {EU_TENANT}: ok" in err

    job = world.console.jobs.show(queued.job_id)
    assert (job.state, job.attempts, job.kind, job.target) == ("succeeded", 1, "backup", EU_TENANT)
    # The same tenant backed up in this process, for comparison.
    [local] = [o for o in world.console.backups.run([EU_TENANT]) if o.action == "backup"]
    rows = world.console.backups.listing(EU_TENANT).rows
    assert len(rows) == 2 and {r.status for r in rows} == {"unverified"}
    queueing, by_worker, in_process = world.entries("backup.run", EU_TENANT)
    assert queueing.outcome == "ok" and params(queueing)["jobs"] == [queued.job_id]
    assert (by_worker.outcome, in_process.outcome) == ("ok", "ok")
    assert by_worker.operator == in_process.operator  # the operator who queued it
    worker = params(by_worker).pop("worker")
    assert worker["region"] == "eu" and worker["job"] == queued.job_id
    assert worker["host"] == socket.gethostname() and worker["pid"] > 0
    assert set(params(by_worker)) - {"worker"} == set(params(in_process))
    assert params(in_process)["backup_id"] == local.backup_id
    # The worker's start is logged too, with who it is.
    [started] = world.entries("job.work", "eu")
    assert started.outcome == "ok" and params(started)["worker"]["region"] == "eu"


def test_a_worker_refuses_and_logs_a_job_for_a_tenant_of_another_region(
    jobs_world: JobsWorld,
) -> None:
    world = jobs_world
    queue = world.console.jobs.queue("test")
    # Put on the eu queue by hand (the console never does): the tenant lives in us.
    [planted] = queue.enqueue([JobSpec("backup", "eu", US_TENANT, "root")])
    assert planted.job_id is not None
    err = world.run_worker("eu")
    assert f"job {planted.job_id} backup {US_TENANT}: failed: refused" in err

    assert world.console.jobs.show(planted.job_id).state == "failed"
    assert world.console.backups.listing(US_TENANT).rows == []
    assert world.entries("backup.run", US_TENANT) == []
    [refusal] = world.entries("job.work", US_TENANT)
    assert refusal.outcome == "failed:wrong-region"
    logged = params(refusal)
    assert logged["home_region"] == "us" and logged["job"] == planted.job_id
    assert logged["worker"]["region"] == "eu"
    assert "region us" in logged["reason"] and "serves region eu" in logged["reason"]
    # A refusal is final: never tried again.
    assert world.console.jobs.show(planted.job_id).attempts == 1


def test_concurrent_enqueues_of_one_tenant_queue_one_backup(jobs_world: JobsWorld) -> None:
    world = jobs_world

    def enqueue(_: int) -> list[dict[str, object]]:
        done = world.cli("--json", "backup", "run", EU_TENANT, "--enqueue")
        assert done.returncode == 0, done.stderr
        result: list[dict[str, object]] = json.loads(done.stdout)
        return result

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = [row for rows in pool.map(enqueue, range(4)) for row in rows]
    assert len(answers) == 4
    assert len({a["job_id"] for a in answers}) == 1
    assert sorted(a["already_queued"] for a in answers) == [False, True, True, True]
    rows = world.jobs_table(
        "SELECT count(*) FROM procrastinate.procrastinate_jobs WHERE lock = %(lock)s",
        lock=f"backup:{EU_TENANT}",
    )
    assert rows == [(1,)]
    # The --due run of another operator finds it queued too, and queues only the rest.
    due = world.console.jobs.enqueue_backups(due=True)
    mine = {e.target: e for e in due}
    assert mine[EU_TENANT].already and mine[EU_TENANT].job_id == answers[0]["job_id"]
    assert not mine[US_TENANT].already


def test_retry_and_cancel(jobs_world: JobsWorld) -> None:
    world = jobs_world
    queue = world.console.jobs.queue("test")
    [planted] = queue.enqueue([JobSpec("backup", "eu", US_TENANT, "root")])
    [waiting] = world.console.jobs.enqueue_backups([EU_TENANT])
    assert planted.job_id is not None and waiting.job_id is not None
    assert world.console.jobs.cancel(waiting.job_id).state == "cancelled"
    world.run_worker("eu")
    assert world.console.jobs.show(planted.job_id).state == "failed"
    assert world.console.jobs.retry(planted.job_id).state == "todo"
    listed = world.console.jobs.list(state="todo", region="eu")
    assert [j.id for j in listed] == [planted.job_id]
    assert world.console.jobs.list(region="us") == []


def test_a_sqlite_catalog_has_no_queue_and_says_so(sandbox_config: Path) -> None:
    for args in (
        ("backup", "run", "--due", "--enqueue"),
        ("fleet", "migrate", "--enqueue"),
        ("breach", "notify", "INC-2026-0001", "--enqueue"),
        ("billing", "notify", "--enqueue"),
        ("notice", "send", "NTC-2026-0001", "--enqueue"),
        ("worker", "--region", "eu"),
        ("jobs", "list"),
    ):
        done = run_cli("--json", *args, config=sandbox_config)
        assert done.code == 2, (args, done.stderr)
        assert "needs a PostgreSQL catalog" in done.error()["message"]
    console = open_console(sandbox_config)
    try:
        with pytest.raises(InvalidInput, match="needs a PostgreSQL catalog"):
            console.jobs.enqueue_verify("bk-20250101T020000Z-1a2b3c")
        # The in-process path is as it was.
        assert run_cli("--json", "backup", "run", "--due", config=sandbox_config).code == 0
    finally:
        console.close()


def test_a_worker_killed_mid_backup_leaves_nothing_listed_and_another_finishes_the_job(
    jobs_world: JobsWorld,
) -> None:
    world = jobs_world
    big = seeded(world.console, "big-tenant", users=200, logins=20_000, events=150_000)
    [queued] = world.console.jobs.enqueue_backups([big])
    assert queued.job_id is not None
    store = world.console.settings.regions["eu"].backup_store / big
    first = world.worker("eu", until_idle=False)
    try:
        partial = wait_for_partial(store, 128 * 1024)
        os.kill(first.pid, signal.SIGKILL)
    finally:
        first.wait(timeout=60)
    assert first.returncode == -signal.SIGKILL
    assert world.console.jobs.show(queued.job_id).state == "doing"
    assert world.console.backups.listing(big).rows == []

    second = world.worker("eu", until_idle=False)
    try:
        until(
            lambda: world.console.jobs.show(queued.job_id or 0).state == "succeeded",
            "the killed worker's job, run again by the other worker",
        )
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=60)
    job = world.console.jobs.show(queued.job_id)
    assert job.attempts == 2
    [row] = world.console.backups.listing(big).rows
    assert row.status == "unverified"
    assert not partial.exists() and not list(store.glob("*.partial"))
    # Only the second worker recorded a backup (the first died before it could).
    done = [e for e in world.entries("backup.run", big) if e.outcome == "ok"]
    assert [params(e).get("worker", {}).get("pid") for e in done] == [None, second.pid]
    assert params(done[1])["backup_id"] == row.record.id


def test_the_schedule_queues_what_is_due_once_per_tick_with_two_workers(
    jobs_world: JobsWorld,
) -> None:
    world = jobs_world
    text = world.config.read_text()
    world.config.write_text(text.replace('schedule = ""', 'schedule = "* * * * * *"', 1))
    workers = [world.worker("eu", until_idle=False) for _ in range(2)]
    ticks = "SELECT count(*) FROM procrastinate.procrastinate_jobs WHERE task_name = %(t)s"
    try:
        until(
            lambda: (
                world.console.backups.listing(EU_TENANT).rows
                and world.jobs_table(ticks, t="aptien.schedule")[0][0] >= 3
            ),
            "the due backup of the eu tenant, queued by the schedule and run",
        )
    finally:
        for proc in workers:
            proc.send_signal(signal.SIGTERM)
        for proc in workers:
            proc.wait(timeout=60)
    # One job per tick, whichever worker deferred it; one backup of the eu tenant, none of us.
    twice = world.jobs_table(
        "SELECT args->>'timestamp', count(*) FROM procrastinate.procrastinate_jobs"
        " WHERE task_name = 'aptien.schedule' GROUP BY 1 HAVING count(*) > 1"
    )
    assert twice == []
    assert len(world.console.backups.listing(EU_TENANT).rows) == 1
    assert world.console.backups.listing(US_TENANT).rows == []
    backups = world.jobs_table(
        "SELECT count(*) FROM procrastinate.procrastinate_jobs WHERE lock = %(lock)s",
        lock=f"backup:{EU_TENANT}",
    )
    assert backups == [(1,)]
    queued = [e for e in world.entries("backup.run", "eu") if params(e).get("enqueue")]
    assert queued and all(params(e)["worker"]["region"] == "eu" for e in queued)


def test_a_transient_failure_is_retried_later_and_a_permanent_one_is_not(
    jobs_world: JobsWorld,
) -> None:
    world = jobs_world
    store = world.console.settings.regions["eu"].backup_store
    shutil.rmtree(store, ignore_errors=True)
    store.parent.mkdir(parents=True, exist_ok=True)
    store.write_text("not a directory")  # the region's store is unreachable
    [queued] = world.console.jobs.enqueue_backups([EU_TENANT])
    assert queued.job_id is not None
    err = world.run_worker("eu")
    assert f"job {queued.job_id} backup {EU_TENANT}: failed" in err
    job = world.console.jobs.show(queued.job_id)
    [failed] = world.entries("backup.run", EU_TENANT)[1:]
    assert failed.outcome == "failed:unavailable"
    assert params(failed)["worker"]["job"] == queued.job_id
    # Queued again, for later (backoff), not run again at once by the idle worker.
    assert (job.state, job.attempts) == ("todo", 1)
    [(later,)] = world.jobs_table(
        "SELECT scheduled_at > now() FROM procrastinate.procrastinate_jobs WHERE id = %(i)s",
        i=queued.job_id,
    )
    assert later
    assert job.failure is not None and "backup store of region eu" in job.failure

    # The store is back and the retry comes due: the job succeeds, and no failure is left.
    store.unlink()
    store.mkdir()
    with psycopg.connect(world.conninfo) as conn:
        conn.execute("SET search_path TO procrastinate")
        conn.execute(
            "UPDATE procrastinate_jobs SET scheduled_at = now() WHERE id = %(i)s",
            {"i": queued.job_id},
        )
    world.run_worker("eu")
    done = world.console.jobs.show(queued.job_id)
    assert (done.state, done.attempts, done.failure, done.failed_at) == ("succeeded", 2, None, None)

    # A tenant whose database is gone is not found: final at once.
    cluster = world.console.settings.data_dir / "tenants" / "us-sandbox-1"
    gone_files = list(cluster.glob(f"*{US_TENANT}*"))
    assert gone_files
    for path in gone_files:
        path.unlink()
    queue = world.console.jobs.queue("test")
    [gone] = queue.enqueue([JobSpec("backup", "us", US_TENANT, "root")])
    assert gone.job_id is not None
    world.run_worker("us")
    final = world.console.jobs.show(gone.job_id)
    assert (final.state, final.attempts) == ("failed", 1)


def test_a_worker_whose_heartbeat_fails_stops_with_exit_6_and_says_why(
    jobs_world: JobsWorld,
) -> None:
    world = jobs_world
    proc = world.worker("eu", until_idle=False)
    try:
        until(
            lambda: (
                world.jobs_table("SELECT count(*) FROM procrastinate.procrastinate_workers")
                == [(1,)]
            ),
            "the worker registered",
        )
        with psycopg.connect(world.conninfo) as conn:
            conn.execute(
                "CREATE OR REPLACE FUNCTION procrastinate.procrastinate_update_heartbeat_v1("
                "worker_id bigint) RETURNS void LANGUAGE plpgsql AS"
                " $$ BEGIN RAISE EXCEPTION 'heartbeat refused by the test'; END $$"
            )
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=60)
    assert proc.returncode == 6, err
    [line] = [ln for ln in err.splitlines() if "worker stopped" in ln]
    assert "update_heartbeats task failed" in line and "heartbeat refused by the test" in line
    stopped = [e for e in world.entries("job.work", "eu") if params(e).get("stopped")]
    assert [e.outcome for e in stopped] == ["failed:unavailable"]


def test_a_failed_job_shows_why_in_jobs_show_and_jobs_list(jobs_world: JobsWorld) -> None:
    world = jobs_world
    queue = world.console.jobs.queue("test")
    [planted] = queue.enqueue([JobSpec("backup", "eu", US_TENANT, "root")])
    [fine] = world.console.jobs.enqueue_backups([EU_TENANT])
    assert planted.job_id is not None and fine.job_id is not None
    world.run_worker("eu")

    job = world.console.jobs.show(planted.job_id)
    assert job.state == "failed" and job.failure is not None and job.failed_at is not None
    assert "region us" in job.failure and "serves region eu" in job.failure
    assert world.console.jobs.show(fine.job_id).failure is None
    shown_json = json.loads(world.cli("--json", "jobs", "show", str(planted.job_id)).stdout)
    assert shown_json["failure"] == job.failure
    human = world.cli("jobs", "show", str(planted.job_id)).stdout
    [line] = [ln for ln in human.splitlines() if ln.lstrip().startswith("failure")]
    assert "serves region eu" in line
    listed = world.cli("jobs", "list", "--state", "failed")
    assert listed.returncode == 0, listed.stderr
    rows = [ln.split() for ln in listed.stdout.splitlines()]
    [row] = [" ".join(r) for r in rows if r[:2] == [str(planted.job_id), "backup"]]
    assert "serves region eu" in row
    as_json = json.loads(world.cli("--json", "jobs", "list", "--state", "failed").stdout)
    assert [(j["id"], j["failure"]) for j in as_json] == [(planted.job_id, job.failure)]


def test_a_worker_that_loses_the_catalog_reconnects_and_does_the_next_job(
    jobs_world: JobsWorld,
) -> None:
    world = jobs_world
    proc = world.worker("eu", until_idle=False)
    status = "SELECT status::text FROM procrastinate.procrastinate_jobs WHERE id = %(i)s"
    try:
        [first] = world.console.jobs.enqueue_backups([EU_TENANT])
        until(
            lambda: world.jobs_table(status, i=first.job_id) == [("succeeded",)],
            "the first job done (the worker's job thread holds catalog connections)",
        )
        [row] = world.console.backups.listing(EU_TENANT).rows
        # Every connection to the catalog but this one dropped: the worker's queue pool, its
        # listener, its job thread's catalog engine (and this test's console's).
        with psycopg.connect(world.conninfo, autocommit=True) as conn:
            killed = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchall()
        assert len(killed) >= 3
        verify = world.cli("--json", "backup", "verify", row.record.id, "--enqueue")
        assert verify.returncode == 0, verify.stderr
        [job] = json.loads(verify.stdout)
        until(
            lambda: world.jobs_table(status, i=job["job_id"]) == [("succeeded",)],
            "the job queued after the catalog dropped the worker's connections, done",
        )
        assert proc.poll() is None, "the worker stopped"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    [(attempts,)] = world.jobs_table(
        "SELECT attempts FROM procrastinate.procrastinate_jobs WHERE id = %(i)s", i=job["job_id"]
    )
    assert attempts == 1, err
