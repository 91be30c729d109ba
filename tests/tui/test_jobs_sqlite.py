"""The Jobs screen on a SQLite catalog (the sandbox): one line says jobs need a PostgreSQL
catalog and where the work runs instead; no error, no list, no retry or cancel."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from test_snapshots import SnapCompare, app_as, fleet
from tui_helpers import console_app, keys, screen_text, story

from aptien_ops.composition import Console
from aptien_ops.domain.job_board import JobBoard, RegionQueue, WorkerSeen
from aptien_ops.domain.jobs import JobRecord
from aptien_ops.screens.app import OpsApp
from aptien_ops.screens.jobs_screen import JobsScreen
from aptien_ops.services.job_board import JobBoardService

pytestmark = pytest.mark.tui

__all__ = ["app_as", "fleet"]  # fixtures used by name


@story
async def test_a_sqlite_catalog_says_jobs_need_postgresql(
    open_as: Callable[..., Console],
) -> None:
    async with console_app(open_as("olga"), "J") as (app, pilot):
        assert isinstance(app.screen, JobsScreen)
        text = " ".join(screen_text(app).split())
        assert (
            "The job queue needs a PostgreSQL catalog; here fleet work runs in-process." in text
        ), text
        assert not app.screen.query_one("#jobs-table").display
        assert app.notices_of("error") == [] and app.notices_of("warning") == []
        await pilot.press("t")
        await pilot.pause()
        assert app.notices_of("warning") == ["no job selected"]


def test_jobs_on_sqlite(snap_compare: SnapCompare, app_as: Callable[..., OpsApp]) -> None:
    assert snap_compare(app_as("olga"), terminal_size=(80, 24), run_before=keys("J"))


AT = datetime(2026, 12, 5, 2, 30, tzinfo=UTC)
JOBS = [
    JobRecord(3, "backup", "us", "gotham-legal", "todo", 0, "olga", {}, AT, "deferred", AT),
    JobRecord(2, "backup", "eu", "acme-gmbh", "doing", 0, "olga", {}, AT, "started", AT),
    JobRecord(
        1, "verify", "eu", "[red]x[/]", "failed", 1, "olga", {}, AT, "failed", AT,
        failure="the store said \x1b[2Jno",
    ),
]  # fmt: skip


class FixedBoard:
    """The queue as a PostgreSQL catalog would hold it, fixed (times, ids, pids)."""

    def read(self, *, failures: int = 50) -> JobBoard:
        return JobBoard(
            regions=[RegionQueue("eu", 0, 1, 1), RegionQueue("us", 1, 0, 0)],
            workers=[WorkerSeen("bastion-eu-1", 4242, "eu", AT, AT)],
            failures=[],
            running=[(2, "backup", "eu", "acme-gmbh")],
        )

    def close(self) -> None:
        pass


def test_jobs_with_a_queue(
    snap_compare: SnapCompare, app_as: Callable[..., OpsApp], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = app_as("olga")
    console = app.services
    monkeypatch.setattr(JobBoardService, "available", property(lambda self: True))
    monkeypatch.setattr(console.job_board, "_factory", FixedBoard)
    monkeypatch.setattr(console.jobs, "list", lambda **_: JOBS)
    assert snap_compare(app, terminal_size=(80, 24), run_before=keys("J", "down", "down"))
