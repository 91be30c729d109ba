"""Breach notices as jobs: ``breach notify ID --enqueue`` puts the approved campaign on the
queue as a batch per region, and real ``aptien-ops worker`` processes of each region deliver
it through the same engine as the in-process command: each person once per channel, counted
at a loopback SMTP server, in the tenants' own databases and on the website, also after a
worker is killed with ``kill -9`` mid-batch and another runs the job again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from jobs_world import JobsWorld, params
from test_notify_kill_cli import CHANNELS, Campaign, _prepared, exactly_once, send_through
from waiting import until

from aptien_ops.composition import open_console
from aptien_ops.domain.jobs import JobSpec

from sandboxes import sandbox_on_postgresql
from smtp_server import smtp_server

pytestmark = pytest.mark.postgres


@pytest.fixture
def queued(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[Campaign, JobsWorld]]:
    """An approved campaign to a tenant in each region (France, Canada) on a PostgreSQL
    catalog, its e-mail going to a server on loopback."""
    pg = request.getfixturevalue("pg_server")
    config, conninfo = sandbox_on_postgresql(tmp_path / "sbx", pg)
    with smtp_server() as (server, port):
        send_through(config, port)
        admin = open_console(config)
        sam = open_console(config, env={"APTIEN_OPS_OPERATOR": "sam"})
        try:
            yield _prepared(config, server, admin, sam), JobsWorld(config, conninfo, admin)
        finally:
            sam.close()
            admin.close()


def _enqueue(c: Campaign) -> list[dict[str, object]]:
    """``breach notify ID --enqueue`` as sam, who asked for the campaign."""
    done = subprocess.run(
        [sys.executable, "-m", "aptien_ops", "--config", str(c.config), "--json"]
        + ["breach", "notify", c.incident, "--channels", CHANNELS, "--enqueue"],
        env={**os.environ, "APTIEN_OPS_OPERATOR": "sam"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    rows: list[dict[str, object]] = json.loads(done.stdout)
    return rows


def _mails_of(c: Campaign, region: str) -> Counter[str]:
    wanted = {p.email for p in c.people if p.region == region}
    return Counter({e: n for e, n in c.server.per_recipient().items() if e in wanted})


def test_a_queued_campaign_is_delivered_by_each_regions_workers_once(
    queued: tuple[Campaign, JobsWorld],
) -> None:
    c, world = queued
    jobs = _enqueue(c)
    assert [(j["kind"], j["region"], j["target"]) for j in jobs] == [
        ("notify", "eu", c.incident),
        ("notify", "us", c.incident),
    ]
    assert c.server.messages == []  # queued, nothing sent yet
    again = _enqueue(c)  # a second enqueue finds each region's batch waiting
    assert [j["already_queued"] for j in again] == [True, True]
    # A us batch put on the eu queue by hand is refused: its people's data stays in us.
    [planted] = world.console.jobs.queue("test").enqueue(
        [JobSpec("notify", "eu", c.incident, "sam", {"channels": CHANNELS, "region": "us"})]
    )
    world.run_worker("eu")
    assert world.console.jobs.show(planted.job_id or 0).state == "failed"
    eu = [p for p in c.people if p.region == "eu"]
    assert _mails_of(c, "eu") == Counter({p.email: 1 for p in eu})
    assert _mails_of(c, "us") == Counter()  # the us people wait for a us worker
    assert sorted(p.name for p in c.website.iterdir()) == ["eu"]

    world.run_worker("us")
    exactly_once(c)
    for job in jobs:
        assert world.console.jobs.show(int(str(job["job_id"]))).state == "succeeded"
    logged = world.entries("breach.notify", c.incident)
    batches = [e for e in logged if "batch" in params(e)]
    assert sorted((params(e)["batch"], params(e)["worker"]["region"]) for e in batches) == [
        ("eu", "eu"),
        ("us", "us"),
    ]
    assert {e.operator for e in batches} == {"sam"}  # as the operator who queued it
    [refused] = [e for e in logged if e.outcome == "failed:wrong-region"]
    assert params(refused)["home_region"] == "us" and params(refused)["worker"]["region"] == "eu"


def test_a_worker_killed_mid_batch_leaves_the_rest_to_another_and_no_one_gets_two(
    queued: tuple[Campaign, JobsWorld],
) -> None:
    c, world = queued
    [eu_job, _] = _enqueue(c)
    c.server.held.clear()
    c.server.release.clear()
    c.server.hold_after = 2  # the server holds the MAIL after the second message
    first = world.worker("eu", until_idle=False)
    try:
        until(c.server.held.is_set, "the eu batch's third e-mail under way")
        os.kill(first.pid, signal.SIGKILL)
    finally:
        c.server.release.set()
        first.wait(timeout=60)
    assert first.returncode == -signal.SIGKILL
    job_id = int(str(eu_job["job_id"]))
    assert world.console.jobs.show(job_id).state == "doing"
    assert len(c.server.messages) == 2

    second = world.worker("eu", until_idle=False)
    try:
        until(
            lambda: world.console.jobs.show(job_id).state == "succeeded",
            "the killed worker's batch, run again by the other worker",
        )
    finally:
        second.send_signal(signal.SIGTERM)
        _, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    assert world.console.jobs.show(job_id).attempts == 2
    world.run_worker("us")
    exactly_once(c)


def test_a_regions_campaign_goes_out_in_batches_of_at_most_n_each_queuing_the_next(
    queued: tuple[Campaign, JobsWorld],
) -> None:
    c, world = queued
    text = c.config.read_text()
    c.config.write_text(text.replace("notice_batch = 1000", "notice_batch = 4", 1))
    _enqueue(c)
    world.run_worker("eu")
    world.run_worker("us")
    exactly_once(c)
    # Each region: its website entry and six people by e-mail and in-app, 13 rows: 4+4+4+1.
    batches = world.jobs_table(
        "SELECT queue_name, status::text, count(*) FROM procrastinate.procrastinate_jobs"
        " GROUP BY 1, 2 ORDER BY 1"
    )
    assert batches == [("eu.notify", "succeeded", 4), ("us.notify", "succeeded", 4)]
    logged = [params(e) for e in world.entries("breach.notify", c.incident)]
    eu = [p["more"] for p in logged if p.get("batch") == "eu"]
    assert eu == [True, True, True, False]
