"""The Jobs screen on a SQLite catalog (the sandbox): one line says jobs need a PostgreSQL
catalog and where the work runs instead; no error, no list, no retry or cancel."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from test_snapshots import SnapCompare, app_as, fleet
from tui_helpers import console_app, keys, screen_text, story

from aptien_ops.composition import Console
from aptien_ops.screens.app import OpsApp
from aptien_ops.screens.jobs_screen import JobsScreen

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
