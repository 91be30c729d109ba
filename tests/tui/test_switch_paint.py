"""A key that switches screens draws the new screen as soon as it is ready: no whole-app
restyle, no fixed delay before the first frame.

Timings are benchmarked in bench/tui_switch.py; these tests count what a switch does instead.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

import pytest
from textual.app import App
from tui_helpers import console_app, screen_text, settle, story, until

from aptien_ops.composition import Console
from aptien_ops.screens.app import SCREENS

pytestmark = pytest.mark.tui


def counting(app: App[Any], name: str, into: list[str]) -> None:
    """Note every call of ``app``'s method ``name`` (and still make it)."""
    method = getattr(app, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        into.append(name)
        return method(*args, **kwargs)

    setattr(app, name, counted)


@story
async def test_no_switch_restyles_the_whole_app(
    open_as: Callable[..., Console], demo_tenants: None
) -> None:
    # Textual restyles every node of every screen (all stylesheets parsed again) when a mode
    # is entered whose screen it has not marked current: it never marked a new one, so every
    # first visit paid it twice and the first return once more.
    async with console_app(open_as("ada")) as (app, pilot):
        restyles: list[str] = []
        counting(app, "refresh_css", restyles)
        for tab in SCREENS[1:]:
            for key in (tab.key, "1", tab.key, "1"):  # first visit, back, return, back
                await pilot.press(key)
                await settle(pilot)
            assert restyles == [], tab.title


@story
async def test_a_switch_holds_its_frames_only_until_the_screen_is_resumed(
    open_as: Callable[..., Console], demo_tenants: None
) -> None:
    # Textual holds every frame for 50 ms after a switch (a timer named "delay_update"); the
    # console draws as soon as the screen is mounted and resumed, which on a return is at once.
    async with console_app(open_as("ada")) as (app, pilot):
        delays: list[str] = []
        set_timer = app.set_timer

        def noting(delay: float, callback: Any = None, **options: Any) -> Any:
            delays.append(options.get("name") or "")
            return set_timer(delay, callback, **options)

        app.set_timer = noting  # type: ignore[method-assign]
        drawn: list[str] = []
        display = app._display

        def drawing(screen: Any, renderable: Any) -> None:
            if renderable is not None and not app._batch_count:
                drawn.append(type(screen).__name__)
            display(screen, renderable)

        app._display = drawing  # type: ignore[method-assign]
        for key in ("2", "1", "2", "1"):
            await pilot.press(key)
            await settle(pilot)
            assert app._batch_count == 0, key
        assert "delay_update" not in delays
        assert "TenantsScreen" in drawn and drawn[-1] == "DashboardScreen"


@story
async def test_composed_screens_are_kept_out_of_full_collections_until_the_app_ends(
    open_as: Callable[..., Console], demo_tenants: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A full collection walks every object not frozen, holding the interpreter lock: the
    # screens' widgets, which live as long as the app, are frozen once composed.
    calls: list[str] = []
    freeze, unfreeze = gc.freeze, gc.unfreeze

    def freezing() -> None:
        calls.append("freeze")
        freeze()

    def thawing() -> None:
        calls.append("unfreeze")
        unfreeze()

    monkeypatch.setattr(gc, "freeze", freezing)
    monkeypatch.setattr(gc, "unfreeze", thawing)
    async with console_app(open_as("ada")) as (app, pilot):
        assert calls == ["freeze"]  # once the dashboard is drawn
        await pilot.press("2")
        await settle(pilot)
        assert calls == ["freeze", "freeze"]
        assert not [o for o in gc.get_objects() if type(o).__name__ == "TenantsScreen"]
        for key in ("1", "2", "1"):  # returns compose nothing: nothing more to freeze
            await pilot.press(key)
            await settle(pilot)
        assert calls == ["freeze", "freeze"]
    assert calls == ["freeze", "freeze", "unfreeze"]  # collected as any other object again


@story
async def test_a_reload_that_finds_the_same_rows_keeps_the_table_as_it_is() -> None:
    # A return reloads the list; refilling 500 unchanged rows measured every cell again.
    from textual.app import App, ComposeResult

    from aptien_ops.screens.columns import ColumnSpec
    from aptien_ops.screens.lists import ListRow, ListTable

    def rows(last: str) -> list[ListRow]:
        return [ListRow(f"k{i}", (f"tenant-{i}", "ok")) for i in range(99)] + [
            ListRow("k99", ("tenant-99", last))
        ]

    class Lists(App[None]):
        def compose(self) -> ComposeResult:
            yield ListTable((ColumnSpec("Tenant", 9), ColumnSpec("Status", 6)))

    app = Lists()
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(ListTable)
        cleared: list[int] = []
        clear = table.clear
        table.clear = lambda *a, **k: (cleared.append(1), clear(*a, **k))[1]  # type: ignore[method-assign]
        table.fill(rows("ok"))
        await until(pilot, lambda: not table.filling, "the table to be filled")
        table.move_cursor(row=50)
        table.fill(rows("ok"))  # the same rows again: nothing to do
        assert cleared == [1] and table.row_count == 100 and table.cursor_row == 50
        table.fill(rows("failed"))  # one cell changed: filled again, the cursor kept
        await until(pilot, lambda: not table.filling, "the table to be filled again")
        assert cleared == [1, 1] and table.get_row("k99")[1].plain == "failed"
        assert table.cursor_row == 50


@story
async def test_a_backups_return_keeps_the_due_list_it_shows_when_nothing_changed(
    open_as: Callable[..., Console], demo_tenants: None
) -> None:
    # Laying the Due box out rendered its whole report again (a Rich table of 40 items) each
    # time it was given one, the same or not.
    from textual.widgets import Static

    async with console_app(open_as("olga"), screen="8") as (app, pilot):
        due = app.screen.query_one("#backups-due-list", Static)
        shown: list[object] = []
        update = due.update
        due.update = lambda *a, **k: (shown.append(a), update(*a, **k))[1]  # type: ignore[method-assign]
        for key in ("1", "8"):
            await pilot.press(key)
            await settle(pilot)
        assert shown == [] and "no backup yet" in screen_text(app)
        await pilot.press("R")  # one region: another due list
        await settle(pilot)
        assert len(shown) == 1


@story
async def test_the_fleet_check_says_where_it_is_without_an_animation_over_the_findings(
    open_as: Callable[..., Console], demo_tenants: None
) -> None:
    # A loading indicator over the findings repainted them 60 times a second for the seconds
    # a check of a large fleet takes, on the UI thread the check's worker competes with.
    import threading

    console = open_as("ada")
    release = threading.Event()
    check = console.fleet.check

    def slow_check(*args: Any, **kwargs: Any) -> Any:
        release.wait(timeout=30)
        return check(*args, **kwargs)

    console.fleet.check = slow_check  # type: ignore[method-assign]
    async with console_app(console) as (app, pilot):
        await pilot.press("6")
        await until(pilot, lambda: "checking" in screen_text(app), "the check to be said")
        assert not [w for w in app.screen.query("*") if w.loading]
        release.set()
        await settle(pilot)
        assert "checking" not in screen_text(app).splitlines()[2]
        assert "no drift" in screen_text(app) or "finding" in screen_text(app)
