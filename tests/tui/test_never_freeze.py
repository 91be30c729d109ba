"""The console never freezes: screens paint at once and fill in from workers, with no UI-thread
work that grows with the fleet; the ops log pages through all of history; shared state reloads
by itself (and on r / ctrl+r), keeping the cursor.

Timings are benchmarked in bench/tui_switch.py; these tests count instead of timing.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest
from fleet_fill import fill_fleet
from rich.console import Group
from rich.table import Table
from textual.widgets import DataTable, Static
from tui_helpers import (
    console_app,
    recording_app,
    running,
    screen_text,
    settle,
    story,
    until,
)

from aptien_ops.composition import Console
from aptien_ops.errors import Forbidden, PendingApproval
from aptien_ops.screens.app import SCREENS
from aptien_ops.screens.backups import BackupsScreen
from aptien_ops.screens.backups_view import DUE_SHOWN, WINDOW
from aptien_ops.screens.base import AUTO_REFRESH_SECONDS
from aptien_ops.screens.columns import SpecGrid
from aptien_ops.screens.fleet import FINDINGS_SHOWN, SHOWN_PER_KIND_AT_LEAST, FleetScreen
from aptien_ops.screens.lists import CHUNK, ListRow, ListTable
from aptien_ops.screens.operators import OperatorsScreen
from aptien_ops.screens.opslog import OpsLogScreen

pytestmark = pytest.mark.tui

FLEET = 10_000


class UiThreadReads:
    """Wraps the catalog's ``read`` and ``transaction``: notes every one opened on the UI
    thread (the event loop's), where none may be."""

    def __init__(self, console: Console) -> None:
        self.seen: list[str] = []
        catalog = console.ctx.catalog
        for name in ("read", "transaction"):
            setattr(catalog, name, self._watch(name, getattr(catalog, name)))

    def _watch(
        self, name: str, opener: Callable[[], AbstractContextManager[Any]]
    ) -> Callable[[], AbstractContextManager[Any]]:
        def opened() -> AbstractContextManager[Any]:
            if threading.current_thread() is threading.main_thread():
                self.seen.append(name)
            return opener()

        return opened


@pytest.fixture
def rows_added(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """``[n]``: rows handed to any DataTable since the test last set it to 0."""
    added = [0]
    add_row = DataTable.add_row

    def counted(self: DataTable[Any], *cells: Any, **options: Any) -> Any:
        added[0] += 1
        return add_row(self, *cells, **options)

    monkeypatch.setattr(DataTable, "add_row", counted)
    yield added


def rich_rows(renderable: object) -> int:
    """Rows of the rich tables in ``renderable`` (a Group of tables and lines, or a table)."""
    if isinstance(renderable, Table):
        return renderable.row_count
    if isinstance(renderable, SpecGrid):  # a table laid out at the width it is drawn at
        return len(renderable.rows)
    if isinstance(renderable, Group):
        return sum(rich_rows(r) for r in renderable.renderables)
    return 0


@story
async def test_no_screen_does_fleet_sized_work_on_the_ui_thread_at_10000_tenants(
    open_as: Callable[..., Console], rows_added: list[int]
) -> None:
    admin = open_as(None)
    fill_fleet(admin, FLEET)
    reads = UiThreadReads(admin)
    async with console_app(admin) as (app, pilot):
        for tab in [*SCREENS[1:], SCREENS[0]]:
            rows_added[0] = 0
            await pilot.press(tab.key)
            await settle(pilot)
            assert app.screen.MODE == tab.mode
            assert rows_added[0] <= WINDOW, f"{tab.title}: {rows_added[0]} rows on the UI thread"
            screen = app.screen
            if isinstance(screen, BackupsScreen):
                view = screen.view()
                assert view is not None and not isinstance(view.due, Exception)
                assert view.due_count >= FLEET * 0.9 and len(view.due) == DUE_SHOWN
                due_list = screen.query_one("#backups-due-list", Static)
                assert rich_rows(due_list.content) == DUE_SHOWN
                assert view.backups == FLEET and rows_added[0] == WINDOW
            if isinstance(screen, FleetScreen):
                assert screen.findings is not None
                findings = screen.findings[None]
                assert findings.findings >= FLEET  # every database is missing
                shown = rich_rows(screen.query_one("#fleet-report", Static).content)
                assert shown <= max(FINDINGS_SHOWN, SHOWN_PER_KIND_AT_LEAST * findings.kinds)
        # And the tenants' filter picks its rows in a worker as well.
        await pilot.press("2", "slash", "t", "e", "n", "enter")
        await settle(pilot)
        assert "of 10,000 tenants (of 10,000)" in screen_text(app)
    assert reads.seen == [], "the catalog was read on the UI thread"


class UiSteps:
    """Counts what each step of the event loop (one pass over what is ready to run: the UI
    thread's unit of work, during which no key is handled) does with rows: handed to a table
    (``DataTable.add_row``) or made (``ListRow``) on the UI thread.

    A step ends where a callback queued at its first row runs (the loop runs what a pass
    queues in the next pass): no callback is kept queued while no row comes, so the loop
    still sleeps while it waits and the workers run at full speed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.step = 0
        self.rows: Counter[int] = Counter()
        self._counting = self._queued = False
        self._loop: asyncio.AbstractEventLoop | None = None
        add_row, post_init = DataTable.add_row, ListRow.__post_init__

        def added(table: DataTable[Any], *cells: Any, **options: Any) -> Any:
            self._count()
            return add_row(table, *cells, **options)

        def made(row: ListRow) -> None:
            if threading.current_thread() is threading.main_thread():
                self._count()
            post_init(row)

        monkeypatch.setattr(DataTable, "add_row", added)
        monkeypatch.setattr(ListRow, "__post_init__", made)

    def start(self) -> None:
        """Count from now on, on the running loop."""
        self._loop = asyncio.get_running_loop()
        self._counting, self._queued = True, False

    def stop(self) -> None:
        self._counting = False

    def _count(self) -> None:
        if not self._counting:
            return
        self.rows[self.step] += 1
        on_ui_thread = threading.current_thread() is threading.main_thread()
        if on_ui_thread and not self._queued and self._loop is not None:
            self._queued = True  # the step ends in the next pass, which runs what this queued
            self._loop.call_soon(self._next_step)

    def _next_step(self) -> None:
        self.step += 1
        self._queued = False

    def most(self) -> int:
        """The most rows one step handled."""
        return max(self.rows.values(), default=0)


async def tour_every_screen(console: Console, steps: UiSteps) -> tuple[int, int]:
    """Visit every screen (first visits and returns); the most rows one loop step handled, and
    how many catalog reads the UI thread opened."""
    reads = UiThreadReads(console)
    async with console_app(console) as (app, pilot):
        steps.rows.clear()
        steps.start()
        try:
            for tab in [*SCREENS[1:], SCREENS[0], *SCREENS[1:], SCREENS[0]]:
                await pilot.press(tab.key)
                await settle(pilot)
                assert app.screen.MODE == tab.mode
        finally:
            steps.stop()
    return steps.most(), len(reads.seen)


@story
async def test_no_step_of_the_ui_thread_grows_with_the_fleet_from_1000_to_10000_tenants(
    open_as: Callable[..., Console], monkeypatch: pytest.MonkeyPatch
) -> None:
    steps = UiSteps(monkeypatch)
    admin = open_as(None)
    fill_fleet(admin, 1_000)
    small = await tour_every_screen(admin, steps)
    fill_fleet(admin, 9_000, start=1_000)
    large = await tour_every_screen(open_as(None), steps)
    # Every list is handed to its table a chunk per step, made in the worker that read it;
    # the catalog is read in workers only: the same at 1,000 tenants as at 10,000.
    assert small[1] == large[1] == 0, "the catalog was read on the UI thread"
    assert small[0] <= CHUNK and large[0] <= CHUNK, (small, large)


# -- the ops log pages through all of history ------------------------------------------------


def refusals(open_as: Callable[..., Console], n: int) -> None:
    """``n`` entries in the ops log: vic (a viewer) is refused adding an operator ``n`` times."""
    viewer = open_as("vic")
    for i in range(n):
        with pytest.raises(Forbidden):
            viewer.operators.add(f"intruder-{i}", ("viewer",))


def ops_log(app: Any) -> OpsLogScreen:
    assert isinstance(app.screen, OpsLogScreen)
    return app.screen


@story
async def test_end_reaches_the_first_entry_of_a_long_ops_log_and_home_the_newest(
    open_as: Callable[..., Console],
) -> None:
    refusals(open_as, 450)
    async with console_app(open_as("ada"), screen="5") as (app, pilot):
        screen = ops_log(app)
        total = screen.window.total
        assert total > 450 and len(screen.window) == 200  # one page read, not the newest 200
        assert "entries 1–" in screen_text(app) and f"of {total:,}" in screen_text(app)
        await pilot.press("end")
        await settle(pilot)
        oldest = screen.table.highlighted
        assert oldest is not None and oldest.seq == 1 and oldest.action == "catalog.init"
        assert f"–{total:,} of {total:,}, newest first" in screen_text(app)  # the last rows
        await pilot.press("home")
        await settle(pilot)
        newest = screen.table.highlighted
        assert newest is not None and newest.seq == total and screen.table.cursor == 0


@story
async def test_paging_down_reads_older_pages_until_the_first_entry_keeping_a_bounded_window(
    open_as: Callable[..., Console],
) -> None:
    refusals(open_as, 320)
    async with console_app(open_as("ada"), screen="5") as (app, pilot):
        screen = ops_log(app)
        screen.window.max_rows = 300  # a small window, so that pages are dropped on the way
        seqs: list[int] = []
        for _ in range(60):
            await pilot.press("pagedown")
            await settle(pilot)
            entry = screen.table.highlighted
            assert entry is not None and len(screen.window) <= 300
            seqs.append(entry.seq)
            if entry.seq == 1:
                break
        assert seqs[-1] == 1, "PgDn never reached the first entry"
        assert seqs == sorted(seqs, reverse=True)
        assert screen.window.first > 0  # the newest entries were dropped from the window


# -- shared state reloads by itself ----------------------------------------------------------


def request(open_as: Callable[..., Console], name: str) -> None:
    """The admin asks for ``name`` to be made an admin (a four-eyes request)."""
    with pytest.raises(PendingApproval):
        open_as("opsadmin").operators.grant(name, "admin")


@story
async def test_approvals_reload_by_themselves_keeping_the_cursor_and_say_when(
    open_as: Callable[..., Console], frozen: None
) -> None:
    request(open_as, "sam")  # request #1
    async with console_app(open_as("ada"), screen="4") as (app, pilot):
        assert "↻ 09:26" in screen_text(app)
        table = app.screen.query_one(DataTable)
        assert table.row_count == 1
        request(open_as, "olga")  # request #2, from another session
        screen = app.screen
        assert screen._reload_timer is not None
        assert screen._reload_timer._interval == AUTO_REFRESH_SECONDS
        screen.timed_reload()  # what the timer calls every AUTO_REFRESH_SECONDS
        await settle(pilot)
        assert table.row_count == 2
        assert str(table.get_row_at(table.cursor_row)[0]) == "1", "the cursor stayed on its request"
        await pilot.press("r")  # and on r
        await settle(pilot)
        assert table.row_count == 2


#: Shared state (issue 11): what other operators and jobs change, read again by itself.
SHARED = [t for t in SCREENS if t.load().AUTO_REFRESH]


def test_the_dashboard_approvals_and_backups_are_shared_state() -> None:
    assert {"dashboard", "approvals", "backups"} <= {t.mode for t in SHARED}


@pytest.mark.parametrize("tab", SHARED, ids=[t.mode for t in SHARED])
@story
async def test_the_reload_timer_runs_only_while_its_screen_is_shown(
    open_as: Callable[..., Console], frozen: None, tab: Any
) -> None:
    away = "2" if tab.key != "2" else "3"
    async with console_app(open_as("ada"), screen=tab.key) as (app, pilot):
        shared = app.screen
        timer = shared._reload_timer
        assert timer is not None and timer._active.is_set()
        assert timer._interval == AUTO_REFRESH_SECONDS
        assert "↻ 09:26" in screen_text(app)  # the footer says when it was read
        read = Counter[str]()
        reread = shared.refresh_data
        shared.refresh_data = lambda: (read.update(["read"]), reread())[1]  # type: ignore[method-assign]
        shared.timed_reload()  # what the timer calls: it reads again
        await settle(pilot)
        assert read["read"] == 1
        await pilot.press(away)
        await settle(pilot)
        assert not timer._active.is_set()
        shared.timed_reload()  # a tick while hidden reads nothing
        await settle(pilot)
        assert read["read"] == 1
        await pilot.press(tab.key)
        await settle(pilot)
        assert timer._active.is_set()


@story
async def test_the_ops_log_reloads_in_place_keeping_the_entry_under_the_cursor(
    open_as: Callable[..., Console],
) -> None:
    refusals(open_as, 30)
    async with console_app(open_as("ada"), screen="5") as (app, pilot):
        screen = ops_log(app)
        await pilot.press("down", "down", "down")
        await settle(pilot)
        before = screen.table.highlighted
        assert before is not None
        refusals(open_as, 5)  # logged meanwhile by another session
        screen.timed_reload()
        await settle(pilot)
        assert screen.table.highlighted == before
        assert screen.table.cursor == 3 + 5
        assert f"of {screen.window.total:,}" in screen_text(app)


@story
async def test_screens_composed_ahead_read_nothing_until_shown(
    open_as: Callable[..., Console],
) -> None:
    app = recording_app(open_as("ada"), compose_ahead=True)
    async with running(app) as pilot:
        await until(pilot, lambda: app.tab_modes() <= set(app._screen_stacks), "every tab composed")
        loads = [w for w in app.workers if w.group == "load" and w.node is not app.screen]
        assert not [w for w in loads if w.node is not app], "a screen composed ahead read"
        await pilot.press("3")
        await settle(pilot)
        assert isinstance(app.screen, OperatorsScreen) and app.screen.query_one(ListTable).rows
