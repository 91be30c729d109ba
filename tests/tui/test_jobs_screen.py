"""The Jobs screen (key J) on the suite's PostgreSQL catalog with real jobs and a real worker
process: queue depth per region, the worker connected, a running job, a failed job with its
reason (inert, whatever it holds), retry and cancel after a confirmation (logged), the viewer
refused; and the one line a SQLite catalog shows instead."""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from backup_site import wait_for_partial
from jobs_world import EU_TENANT, US_TENANT, JobsWorld, jobs_world
from tui_helpers import console_app, screen_text, settle, story
from waiting import until

from aptien_ops.composition import Console, open_console
from aptien_ops.domain.jobs import JobSpec
from aptien_ops.screens.dashboard import DashboardScreen
from aptien_ops.screens.jobs_screen import JobsScreen
from aptien_ops.screens.modals import ConfirmModal

from tenant_seeding import seeded

pytestmark = [pytest.mark.tui, pytest.mark.postgres]

__all__ = ["jobs_world"]  # the fixture, used by name

HOSTILE = "[bold red]fake[/] \x1b[2J\x1b]8;;http://x\x07link\u202e"


@pytest.fixture
def world(jobs_world: JobsWorld) -> JobsWorld:
    """The suite's PostgreSQL catalog with a tenant in eu and one in us."""
    return jobs_world


@pytest.fixture
def open_as(world: JobsWorld) -> Iterator[Callable[..., Console]]:
    from dataclasses import replace

    opened: list[Console] = []

    def make(operator: str) -> Console:
        base = world.console
        console = open_console(
            settings=base.settings, identity=replace(base.identity, operator=operator)
        )
        opened.append(console)
        return console

    yield make
    for console in opened:
        console.close()


def jobs_screen(app: Any) -> JobsScreen:
    assert isinstance(app.screen, JobsScreen)
    return app.screen


async def reload(pilot: Any) -> str:
    jobs_screen(pilot.app).refresh_data()
    await settle(pilot)
    return screen_text(pilot.app)


def failed_job(world: JobsWorld, olga: Console, target: str = US_TENANT) -> int:
    """A job that failed for good in a worker: for ``target`` put on the eu queue by hand (a
    tenant of us is refused; a name no tenant has is not found, in words that quote it)."""
    queue = olga.jobs.queue("test")
    [planted] = queue.enqueue([JobSpec("backup", "eu", target, "olga")])
    assert planted.job_id is not None
    world.run_worker("eu")
    return planted.job_id


@story
async def test_queue_depth_a_running_job_and_its_worker(
    world: JobsWorld, open_as: Callable[..., Console]
) -> None:
    olga = open_as("olga")
    big = seeded(world.console, "big-tenant", users=200, logins=20_000, events=150_000)
    [running] = olga.jobs.enqueue_backups([big])
    [waiting] = olga.jobs.enqueue_backups([US_TENANT])  # no us worker: it waits
    worker = world.worker("eu", until_idle=False)
    try:
        wait_for_partial(world.console.settings.regions["eu"].backup_store / big, 1)
        os.kill(worker.pid, signal.SIGSTOP)  # mid-backup, held there while the screen looks
        async with console_app(olga, "J") as (app, pilot):
            text = await reload(pilot)
            assert "eu  0 waiting · 1 running · 0 failed · 1 worker" in text, text
            assert "us  1 waiting · 0 running · 0 failed · 0 workers" in text, text
            assert f"{socket.gethostname()[:20]}" in text and f"pid {worker.pid}" in text
            table = jobs_screen(app).view
            assert table is not None
            assert table.jobs[str(running.job_id)].state == "doing"
            assert table.jobs[str(waiting.job_id)].state == "todo"
            assert "doing" in text and "todo" in text
    finally:
        os.kill(worker.pid, signal.SIGCONT)
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=120)


@story
async def test_a_failure_reason_shown_inert_then_retried_and_a_waiting_job_cancelled(
    world: JobsWorld, open_as: Callable[..., Console]
) -> None:
    olga = open_as("olga")
    job_id = failed_job(world, olga, HOSTILE)
    [waiting] = olga.jobs.enqueue_backups([EU_TENANT])
    async with console_app(olga, "J") as (app, pilot):
        text = screen_text(app)
        assert "1 failed" in text
        # The newest first: the waiting job, then the failed one.
        await pilot.press("down")
        await settle(pilot)
        text = screen_text(app)
        assert "[bold red]fake[/]" in text and "\\x1b[2J" in text, text
        assert "link" in text and "\x1b" not in text
        await pilot.press("t")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("y")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmModal)
        assert olga.jobs.show(job_id).state == "todo"
        # Queued again: its row says so, and the footer no longer offers to retry it.
        await settle(pilot)
        footer = screen_text(app).splitlines()[-1]
        assert "Retry" not in footer and "Cancel" in footer, footer
        # Cancel the waiting one (now second newest? it is the newest: the top row).
        await pilot.press("up")
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert waiting.job_id is not None
        assert olga.jobs.show(waiting.job_id).state == "cancelled"
        # A cancelled job cannot be cancelled again: the key says why, nothing is asked.
        await pilot.press("c")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmModal)
    logged = [
        (e.action, e.target, e.operator, e.outcome)
        for e in world.entries("job.retry") + world.entries("job.cancel")
    ]
    assert logged == [
        ("job.retry", str(job_id), "olga", "ok"),
        ("job.cancel", str(waiting.job_id), "olga", "ok"),
    ]


@story
async def test_a_viewer_sees_the_jobs_and_is_refused_retry_with_why(
    world: JobsWorld, open_as: Callable[..., Console]
) -> None:
    job_id = failed_job(world, open_as("olga"))
    vic = open_as("vic")
    async with console_app(vic, "J") as (app, pilot):
        text = screen_text(app)
        assert "1 failed" in text
        assert "lives in region us, and this worker serves region eu" in " ".join(text.split())
        await pilot.press("t")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmModal)
        [why] = app.notices_of("warning")
        assert why == "vic may not job.retry (needs role admin or operator)"
    assert world.console.jobs.show(job_id).state == "failed"
    assert world.entries("job.retry") == []


@story
async def test_the_dashboard_shows_jobs_failed_for_good(
    world: JobsWorld, open_as: Callable[..., Console]
) -> None:
    olga = open_as("olga")
    failed_job(world, olga)
    async with console_app(olga) as (app, pilot):
        assert isinstance(app.screen, DashboardScreen)
        until(lambda: app.screen.fleet is not None, "the dashboard's first load")
        await settle(pilot)
        text = screen_text(app)
        assert "1 job failed for good" in text, text


@story
async def test_a_breach_notice_batch_is_listed_like_the_other_jobs(
    world: JobsWorld, open_as: Callable[..., Console]
) -> None:
    olga = open_as("olga")
    campaign = "INC-2026-0007[red]x"  # an id as the queue holds it, shown as text
    [batch] = olga.jobs.queue("test").enqueue(
        [JobSpec("notify", "us", campaign, "sam", {"channels": "email"}, "notify:x:us")]
    )
    async with console_app(olga, "J") as (app, pilot):
        text = screen_text(app)
        assert "us  1 waiting · 0 running · 0 failed · 0 workers" in text, text
        table = jobs_screen(app).view
        assert table is not None
        listed = table.jobs[str(batch.job_id)]
        assert (listed.kind, listed.region, listed.target) == ("notify", "us", campaign)
        [row] = [ln for ln in text.splitlines() if " todo " in ln]
        assert row.split() == [str(batch.job_id), "todo", "notify", "us", "0"] + row.split()[5:]
        assert row.endswith(campaign), row
        assert f"job {batch.job_id} notify of {campaign} (us), queued by sam" in text
