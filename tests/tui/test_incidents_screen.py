"""Incidents in the TUI: the list with each 72-hour clock (highlighted under 24 hours, OVERDUE
past 72 without a report, stopped once reported), an incident with its timeline, scope,
reports and deliveries, shown to security and admins only, and hostile text shown inert."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from rich.text import Text
from textual.widgets import Input, Static
from tui_helpers import (
    FROZEN_NOW,
    console_app,
    footer,
    palette_titles,
    screen_text,
    screen_words,
    scrolled_words,
    settle,
    story,
)

from aptien_ops.composition import Console
from aptien_ops.screens.incident_detail import IncidentDetailScreen
from aptien_ops.screens.incident_modals import EditIncidentModal, OpenIncidentModal, TimelineModal
from aptien_ops.screens.incidents import IncidentsScreen

from hostile_data import INCIDENT, plant_incident

pytestmark = pytest.mark.tui

INCIDENTS_KEY = "exclamation_mark"


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
    async with console_app(open_as("sam"), INCIDENTS_KEY) as (app, pilot):
        screen = app.screen
        assert isinstance(screen, IncidentsScreen)
        ids = incident_board
        assert _clocks(screen) == [
            (ids["Backup bucket readable"], "OVERDUE by 8h 00m", "bold white on red"),
            (ids["Support mailbox phished"], "12h 00m left <24h", "bold yellow"),
            (ids["Laptop stolen from a car"], "62h 00m left", ""),
            (ids["Invoices mailed to the wrong customers"], "■ in time", "dim green"),
        ]
        words = screen_words(app)
        assert "4 incidents not closed · 1 OVERDUE · 1 under 24h" in words
        assert "OVERDUE by 8h 00m" in words and "12h 00m left <24h" in words
        # The highlighted one's summary, with the clock worded whole and the severity.
        assert "OVERDUE by 8h 00m · severity high · risk to people: unknown" in words
        await pilot.press("down")
        await settle(pilot)
        assert "12h 00m left (under 24h) · severity high" in screen_words(app)


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
        words = await scrolled_words(app, pilot)
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
        assert "authority acknowledged receipt" not in await scrolled_words(app, pilot)
        await pilot.press("r")
        await settle(pilot)
        assert "authority acknowledged receipt" in await scrolled_words(app, pilot)
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
        shown = await scrolled_words(app, pilot)
        assert "\x1b" not in shown and "\u202e" not in shown and "\x9b" not in shown
        for field in ("incident-title", "timeline", "rationale", "consequences", "dpo"):
            assert f"{field}:\\x1b]52;c;" in shown, field
        assert "[bold red]markup[/] [link=https://evil.example]link[/link]" in shown
        await pilot.press("c")  # the close dialog quotes the title
        await settle(pilot)
        asked = screen_text(app)
        assert "\x1b" not in asked and "\u202e" not in asked and "\x9b" not in asked
        assert "incident-title:\\x1b]52;c;" in asked


async def _fill(pilot: Any, dialog: Any, values: dict[str, str]) -> None:
    """Type ``values`` into the dialog's fields (by id), then submit with Enter on the last."""
    for key, value in values.items():
        dialog.query_one(f"#form-{key}", Input).value = value
    dialog.query(Input).last().focus()
    await pilot.press("enter")
    await settle(pilot)


@story
async def test_an_incident_opened_from_the_form_is_listed_with_a_full_clock_and_logged(
    frozen: None, open_as: Callable[..., Console]
) -> None:
    async with console_app(open_as("sam"), INCIDENTS_KEY) as (app, pilot):
        assert "No open incidents." in screen_words(app)
        await pilot.press("n")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, OpenIncidentModal)
        # An aware-at in the future: the service refuses it, in the dialog, which stays open.
        later = (FROZEN_NOW + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%MZ")
        values = {"title": "Export left on a share", "nature": "confidentiality"}
        await _fill(pilot, dialog, {**values, "aware-at": later, "severity": "high"})
        assert app.screen is dialog
        problem = str(dialog.query_one("#modal-problem", Static).content)
        assert problem.startswith("✗ the time of awareness lies in the future"), problem
        now = FROZEN_NOW.strftime("%Y-%m-%dT%H:%MZ")  # what the field held at first
        await _fill(pilot, dialog, {**values, "aware-at": now, "severity": "high"})
        assert isinstance(app.screen, IncidentsScreen)
        [row] = app.screen.board.rows  # aware at 09:26, now 09:26:53
        assert (row.key, _clocks(app.screen)[0][1]) == ("INC-2025-0001", "71h 59m left")
        assert "Export left on a share" in screen_words(app)
    [entry] = [e for e in open_as(None).opslog.list(limit=50) if e.action == "breach.open"]
    assert (entry.operator, entry.outcome) == ("sam", "ok")


@story
async def test_security_adds_to_the_timeline_and_assesses_the_risk_from_the_detail(
    frozen: None, incident_board: dict[str, str], open_as: Callable[..., Console]
) -> None:
    laptop = incident_board["Laptop stolen from a car"]
    async with console_app(open_as("sam"), INCIDENTS_KEY) as (app, pilot):
        await pilot.press("down", "down", "enter")
        await settle(pilot)
        detail = app.screen
        assert isinstance(detail, IncidentDetailScreen) and detail.incident_id == laptop
        await pilot.press("t")
        await settle(pilot)
        assert isinstance(app.screen, TimelineModal)
        await _fill(pilot, app.screen, {"text": "device wiped remotely", "at": ""})
        assert app.screen is detail
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, EditIncidentModal)
        await _fill(pilot, app.screen, {"risk": "unlikely", "rationale": "disk encrypted"})
        assert app.screen is detail
        words = await scrolled_words(app, pilot)
        assert "device wiped remotely" in words and "assessed · medium" in words
        assert "changed: risk rationale, risk to people" in words
    shown = open_as("ada").incidents.show(laptop)
    assert (str(shown.incident.status), shown.incident.risk_rationale) == (
        "assessed",
        "disk encrypted",
    )


@story
async def test_an_admin_sees_an_incident_but_may_not_edit_it(
    frozen: None, incident_board: dict[str, str], open_as: Callable[..., Console]
) -> None:
    async with console_app(open_as("ada"), INCIDENTS_KEY) as (app, pilot):
        assert "New" not in footer(app)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, IncidentDetailScreen)
        assert "Timeline +" not in footer(app) and "Update" not in footer(app)
        await pilot.press("t")
        await settle(pilot)
        assert isinstance(app.screen, IncidentDetailScreen)
        [said] = app.notices_of("warning")
        assert "ada may not breach.timeline (needs role security)" in said


@story
async def test_the_dashboard_shows_the_most_urgent_clock_to_those_who_may_see_incidents(
    frozen: None, incident_board: dict[str, str], open_as: Callable[..., Console]
) -> None:
    overdue = incident_board["Backup bucket readable"]
    async with console_app(open_as("sam")) as (app, _):
        card = app.screen.query_one("#dashboard-incidents")
        assert card.display
        words = screen_words(app)
        assert "Breaches: the 72-hour clock" in words
        assert f"3 incidents awaiting a report · most urgent {overdue} OVERDUE by 8h 00m" in words
    async with console_app(open_as("vic")) as (app, _):
        assert not app.screen.query_one("#dashboard-incidents").display
        assert "72-hour clock" not in screen_words(app)
    assert not [e for e in open_as(None).opslog.list(limit=100) if e.action == "breach.view"]
