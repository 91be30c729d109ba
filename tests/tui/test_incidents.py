"""Incidents in the TUI: the list with each 72-hour clock (highlighted under 24 hours, OVERDUE
past 72 without a report, stopped once reported), an incident with its timeline, scope,
reports and deliveries, shown to security and admins only, and hostile text shown inert."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from rich.text import Text
from tui_helpers import (
    FROZEN_NOW,
    console_app,
    palette_titles,
    screen_text,
    screen_words,
    settle,
    story,
)

from aptien_ops.composition import Console
from aptien_ops.screens.incident_detail import IncidentDetailScreen
from aptien_ops.screens.incidents import IncidentsScreen

from hostile_data import INCIDENT, plant_incident

pytestmark = pytest.mark.tui

INCIDENTS_KEY = "exclamation_mark"


async def _whole(app: Any, pilot: Any) -> str:
    """The words of a scrolled screen, page after page from its top."""
    await pilot.press("home")
    await settle(pilot)
    seen = [screen_words(app)]
    for _ in range(4):
        await pilot.press("pagedown")
        await settle(pilot)
        seen.append(screen_words(app))
    return " ".join(seen)


def _clocks(screen: IncidentsScreen) -> list[tuple[str, str, str]]:
    """(id, clock, its style) of each row, in the list's order."""
    found = []
    for row in screen.board.rows:
        clock = row.cells[1]
        assert isinstance(clock, Text)
        found.append((row.key, clock.plain, str(clock.style)))
    return found


@story
async def test_the_list_shows_each_clock_most_urgent_first_and_flags_under_24h_and_overdue(
    frozen: None, incident_board: dict[str, str], open_as: Callable[..., Console]
) -> None:
    async with console_app(open_as("sam"), INCIDENTS_KEY) as (app, _pilot):
        screen = app.screen
        assert isinstance(screen, IncidentsScreen)
        ids = incident_board
        assert _clocks(screen) == [
            (ids["Backup bucket readable"], "OVERDUE by 8h 00m", "bold white on red"),
            (ids["Support mailbox phished"], "12h 00m left (under 24h)", "bold yellow"),
            (ids["Laptop stolen from a car"], "62h 00m left", ""),
            (ids["Invoices mailed to the wrong customers"], "■ reported in time", "dim green"),
        ]
        words = screen_words(app)
        assert "4 incidents not closed · 1 OVERDUE · 1 under 24h" in words
        assert "OVERDUE by 8h 00m" in words and "12h 00m left (under 24h)" in words
        assert "Backup bucket readable" in words  # the highlighted one's summary


@story
async def test_the_clock_follows_the_injected_time(
    frozen: None, incident_board: dict[str, str], open_as: Callable[..., Console]
) -> None:
    """Thirteen hours later the 12-hour clock is overdue by one and the 62-hour one has 49
    left: the screen shows the service's clock, at the console's (injected) time."""
    later = FROZEN_NOW + timedelta(hours=13)
    async with console_app(open_as("ada", clock=lambda: later), INCIDENTS_KEY) as (app, _):
        clocks = {key: text for key, text, _style in _clocks(app.screen)}
        assert clocks[incident_board["Support mailbox phished"]] == "OVERDUE by 1h 00m"
        assert clocks[incident_board["Laptop stolen from a car"]] == "49h 00m left"


@story
async def test_a_viewer_is_told_who_may_see_incidents_and_the_service_is_not_asked(
    frozen: None, incident_board: dict[str, str], open_as: Callable[..., Console]
) -> None:
    vic = open_as("vic")
    async with console_app(vic, INCIDENTS_KEY) as (app, _):
        assert isinstance(app.screen, IncidentsScreen)
        assert "Incidents are shown to the admin or security roles only." in screen_words(app)
        assert app.screen.board.rows == []
        assert not any(i in screen_text(app) for i in incident_board.values())
        assert "Go to Incidents" in palette_titles(app)
    assert not [e for e in open_as(None).opslog.list(limit=100) if e.action == "breach.view"]


@story
async def test_an_incident_opens_with_its_timeline_reports_scope_and_deliveries(
    frozen: None, incident_board: dict[str, str], open_as: Callable[..., Console]
) -> None:
    reported = incident_board["Invoices mailed to the wrong customers"]
    sam = open_as("sam")
    async with console_app(sam, INCIDENTS_KEY) as (app, pilot):
        await pilot.press("G", "enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, IncidentDetailScreen) and screen.incident_id == reported
        words = await _whole(app, pilot)
        for expected in (
            "Invoices mailed to the wrong customers",
            "reported · medium",
            "customers asked to delete the e-mails",
            "initial",
            "ref DPA-17",
            "No scope recorded yet",
            "exempt (",
            "only business addresses; no special categories",
        ):
            assert expected in words, expected
        sam.incidents.timeline_add(reported, "authority acknowledged receipt")
        assert "authority acknowledged receipt" not in await _whole(app, pilot)
        await pilot.press("r")
        await settle(pilot)
        assert "authority acknowledged receipt" in await _whole(app, pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, IncidentsScreen)


@story
async def test_a_hostile_title_and_timeline_are_shown_inert(
    frozen: None, open_as: Callable[..., Console]
) -> None:
    plant_incident(open_as(None), FROZEN_NOW)
    async with console_app(open_as("sam"), INCIDENTS_KEY) as (app, pilot):
        listed = screen_text(app)
        assert INCIDENT in listed and "\x1b" not in listed and "\u202e" not in listed
        assert "incident-title:\\x1b]52;c;" in listed  # escaped, in the summary line
        await pilot.press("enter")
        await settle(pilot)
        shown = await _whole(app, pilot)
        assert "\x1b" not in shown and "\u202e" not in shown and "\x9b" not in shown
        for field in ("incident-title", "timeline", "rationale", "consequences", "dpo"):
            assert f"{field}:\\x1b]52;c;" in shown, field
        assert "[bold red]markup[/] [link=https://evil.example]link[/link]" in shown
