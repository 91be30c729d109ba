"""``/`` on the ops log, approvals and backups searches the catalog, not the rows the screen
holds: a row older than the loaded page (or the screen's window) is found. Typing is
debounced (no read per keystroke; the test applies the text instead of sleeping), the cursor
stays on its row, and Esc shows every row again at once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from test_lists import backups, requests
from tui_helpers import console_app, screen_text, settle, story

from aptien_ops.composition import Console
from aptien_ops.errors import Forbidden
from aptien_ops.screens.approvals import ApprovalsScreen
from aptien_ops.screens.backups import BackupsScreen
from aptien_ops.screens.lists import ListTable
from aptien_ops.screens.opslog import OpsLogScreen
from aptien_ops.screens.opslog_window import PAGE_ROWS

pytestmark = pytest.mark.tui


def refusals(open_as: Callable[..., Console], n: int) -> None:
    """``n`` denied attempts by vic, each naming ``intruder-<i>`` (oldest: intruder-0)."""
    viewer = open_as("vic")
    for i in range(n):
        with pytest.raises(Forbidden):
            viewer.operators.add(f"intruder-{i}", ("viewer",))


def keys_of(table: ListTable) -> list[str]:
    return [str(table.coordinate_to_cell_key((i, 0))[0].value) for i in range(table.row_count)]


@story
async def test_the_ops_log_filter_finds_an_entry_older_than_the_loaded_pages(
    open_as: Callable[..., Console],
) -> None:
    refusals(open_as, PAGE_ROWS + 20)
    async with console_app(open_as("ada"), screen="5") as (app, pilot):
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, OpsLogScreen)
        total = screen.window.total
        held = [e.target for e in screen.window.entries]
        assert "intruder-0" not in held and len(held) == PAGE_ROWS
        await pilot.press("slash", *"INTRUDER-0")
        assert screen.filter_pending and screen.window.total == total  # nothing read yet
        await settle(pilot)  # applies the typed text (tui_helpers.flush_filters)
        assert [e.target for e in screen.window.entries] == ["intruder-0"]
        assert "1 found · filter 'intruder-0'" in screen_text(app)
        assert "entries 1–1 of 1 that hold the filter" in screen_text(app)
        await pilot.press("escape")  # Esc: every entry again, without waiting
        assert not screen.filter_pending
        await settle(pilot)
        assert screen.window.total == total and len(screen.window) == PAGE_ROWS


@story
async def test_the_approvals_filter_reads_once_after_typing_and_keeps_the_cursor(
    open_as: Callable[..., Console], monkeypatch: pytest.MonkeyPatch
) -> None:
    requests(open_as)  # sam, olga, pat: #1, #2, #3
    monkeypatch.setattr("aptien_ops.screens.approvals.WINDOW", 2)  # #1 is not held
    console = open_as("ada")
    asked: list[Any] = []
    listing = console.approvals.list

    def counted(*args: Any, **kw: Any) -> Any:
        asked.append(kw.get("grep"))
        return listing(*args, **kw)

    monkeypatch.setattr(console.approvals, "list", counted)
    async with console_app(console, screen="4") as (app, pilot):
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ApprovalsScreen)
        table = screen.query_one(ListTable)
        assert keys_of(table) == ["3", "2"]
        table.move_cursor(row=1)  # olga's request, #2
        asked.clear()
        await pilot.press("slash", *"a")
        assert screen.filter_pending and asked == []  # typing reads nothing yet
        await settle(pilot)
        assert asked == ["a"]  # one read, with what was typed
        assert keys_of(table) == ["3", "2"] and screen.selected() == 2  # the cursor stayed
        await pilot.press(*"m")  # "am": sam's request, #1, older than the window
        await settle(pilot)
        assert keys_of(table) == ["1"] and asked == ["a", "am"]
        assert "1 found · filter 'am'" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert keys_of(table) == ["3", "2"] and asked[-1] is None


@story
async def test_the_backups_filter_finds_a_backup_beyond_the_window(
    open_as: Callable[..., Console],
    provisioned: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    backups(open_as, provisioned)  # acme-gmbh, sakura-robotics, savanna-logistics
    monkeypatch.setattr("aptien_ops.screens.backups_view.WINDOW", 1)
    async with console_app(open_as("ada"), screen="8") as (app, pilot):
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, BackupsScreen)
        table = screen.query_one(ListTable)

        def tenants() -> list[str]:
            return [str(table.get_row_at(i)[0]) for i in range(table.row_count)]

        assert len(tenants()) == 1 and tenants() != ["acme-gmbh"]  # the oldest is not held
        await pilot.press("slash", *"acme")
        await settle(pilot)
        assert tenants() == ["acme-gmbh"]
        assert "1 found · filter 'acme'" in screen_text(app)
        await pilot.press("escape")
        await pilot.press(*"unverified")  # a status: worked out, not stored
        await settle(pilot)
        assert "3 found · filter 'unverified'" in screen_text(app)
