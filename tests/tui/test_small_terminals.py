"""The console at the smallest terminal it is laid out for (60×20) and below it: the footer
keeps the keys that fit, in the screen's order, and help's key says there are more; the tabs
take titles that fit; under 60×20 one line asks for a bigger terminal."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.widgets import Input
from tui_helpers import console_app, footer, screen_text, settle, story

from aptien_ops.composition import Console
from aptien_ops.screens.help import HelpScreen
from aptien_ops.screens.size_guard import SizeGuard
from aptien_ops.screens.tenants import TenantsScreen

pytestmark = pytest.mark.tui


@story
async def test_the_footer_keeps_the_first_keys_and_help_says_more(
    open_as: Callable[..., Console], demo_tenants: None, frozen: None
) -> None:
    async with console_app(open_as("ada"), screen="2", size=(60, 20)) as (app, pilot):
        keys = footer(app)
        # the tenants read again by themselves: the footer says when, in the room of n Provision
        assert keys.split() == "⏎ Open / Filter s Sort R Region ? more… ↻ 09:26".split()
        assert len(keys) <= 60
        await pilot.press("question_mark")  # the full key list
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        await pilot.resize_terminal(200, 50)
        await pilot.press("escape")
        await settle(pilot)
        assert "? Help  q Quit" in footer(app)  # every key fits again


@pytest.mark.parametrize("width", [60, 80, 200])
@story
async def test_every_tab_is_in_the_tab_bar(
    open_as: Callable[..., Console], demo_tenants: None, width: int
) -> None:
    async with console_app(open_as("ada"), size=(width, 24)) as (app, _pilot):
        tabs = screen_text(app).splitlines()[1]
        assert all(f" {key} " in tabs for key in "12345678"), tabs
        assert len(tabs.rstrip()) <= width
        assert ("Dashboard" in tabs) == (width >= 200)


@story
async def test_below_60x20_one_line_asks_for_a_bigger_terminal(
    open_as: Callable[..., Console], demo_tenants: None
) -> None:
    async with console_app(open_as("ada"), screen="2") as (app, pilot):
        await pilot.resize_terminal(59, 20)
        await settle(pilot)
        assert isinstance(app.screen, SizeGuard)
        assert screen_text(app).split() == "Terminal 59×20: make it 60×20 or more (q quits)".split()
        await pilot.press("3")  # keys do nothing the operator cannot see
        await settle(pilot)
        assert isinstance(app.screen, SizeGuard)
        await pilot.resize_terminal(80, 19)
        await settle(pilot)
        assert "80×19" in screen_text(app)
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        assert isinstance(app.screen, TenantsScreen)  # back where the operator was


@story
async def test_a_console_started_too_small_asks_at_once(
    open_as: Callable[..., Console], demo_tenants: None
) -> None:
    async with console_app(open_as("ada"), size=(40, 10)) as (app, pilot):
        assert isinstance(app.screen, SizeGuard)
        await pilot.press("q")
        await settle(pilot)
        assert not app.is_running


@pytest.mark.parametrize(
    ("size", "guarded"),
    [((60, 20), False), ((59, 20), True), ((60, 19), True), ((20, 10), True)],
    ids=["60x20", "59x20", "60x19", "20x10"],
)
@story
async def test_one_minimum_60x20_at_start_as_on_resize(
    open_as: Callable[..., Console], size: tuple[int, int], guarded: bool
) -> None:
    async with console_app(open_as("ada"), size=size) as (app, pilot):
        await settle(pilot)
        assert isinstance(app.screen, SizeGuard) is guarded
        if guarded:
            width, height = size
            asked = f"Terminal {width}×{height}: make it 60×20 or more (q quits)"
            assert " ".join(screen_text(app).split()) == asked
            await pilot.resize_terminal(60, 20)
            await settle(pilot)
        assert not isinstance(app.screen, SizeGuard)
        assert "Tenants by region and state" in screen_text(app)
        await pilot.resize_terminal(*size)
        await settle(pilot)
        assert isinstance(app.screen, SizeGuard) is guarded


@pytest.mark.parametrize("tab, boxes", [("l", 5), ("a", 6)])
@story
async def test_every_filter_box_of_the_logins_and_audit_tabs_fits_60_columns(
    open_as: Callable[..., Console], seed_tenants: Callable[..., list[str]], tab: str, boxes: int
) -> None:
    # At 60 columns the e-mail box got one cell and the failed switch was cut ("▐X▌ fail").
    seed_tenants()
    async with console_app(open_as("sam"), screen="2", size=(60, 20)) as (app, pilot):
        for key in ("enter", tab):
            await pilot.press(key)
            await settle(pilot)
        shown = [
            b for b in app.screen.query(Input) if b.id and b.id.startswith(("logins", "audit"))
        ]
        shown = [b for b in shown if b.region.width]
        assert len(shown) == boxes
        assert all(b.region.width >= 5 and b.region.right <= 60 for b in shown), shown
        bar = screen_text(app).splitlines()[4]
        assert bar.split()[:2] == ["since", "until"], bar
        assert bar.rstrip().endswith("▐X▌ failed") == (tab == "l"), bar
        await pilot.resize_terminal(80, 24)  # room again: the boxes' own widths and titles
        await settle(pilot)
        assert screen_text(app).splitlines()[4].startswith("since: all")
