"""Who may act on an incident from its page, one test per kind of operator: the security
officer is offered every action; an admin sees the incident but is told why each action is not
hers; a viewer (or an operator) sees no incident at all and no action anywhere; read-only mode
offers none. Told, not tried: nothing is read for them and nothing logged. (A security officer
who lost the role since the page was shown is refused by the service, and that is logged:
tests/tui/test_incident_actions.py.)"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tui_helpers import (
    console_app,
    footer,
    from_palette,
    palette_titles,
    screen_words,
    settle,
    story,
)

from aptien_ops.composition import Console
from aptien_ops.screens.help import key_sections
from aptien_ops.screens.incident_action_modals import ExemptModal
from aptien_ops.screens.incident_detail import IncidentDetailScreen

pytestmark = pytest.mark.tui

#: The page's keys beyond the record, and the permission each refusal names.
KEYS = {
    "s": "breach.scope",
    "f": "breach.report",
    "n": "breach.notify",
    "x": "breach.exempt",
    "c": "breach.close",
}
TITLES = (
    "Read an incident's scope (affected people)",
    "File an incident report to the authority",
    "Notify the people an incident affects",
    "Record an Art. 34(3) exemption for an incident",
    "Close an incident",
)


def _breach_entries(console: Console) -> list[str]:
    return [e.action for e in console.opslog.list(limit=200) if e.action.startswith("breach.")]


@story
async def test_security_is_offered_every_action_in_the_footer_help_and_palette(
    frozen: None, incident_board: dict[str, str], open_as: Callable[..., Console]
) -> None:
    async with console_app(open_as("sam"), "exclamation_mark") as (app, pilot):
        assert set(TITLES) <= set(palette_titles(app))
        await pilot.press("enter")
        await settle(pilot)
        shown = footer(app)
        for label in ("t Timeline +", "e Update", "s Scope", "f Report", "n Notify", "? more…"):
            assert label in shown, label
        # Help lists them all, those the footer had no room for too.
        [listed] = [rows for title, rows in key_sections(app) if title == "Incident"]
        assert ("x", "record an Art. 34(3) exemption instead") in listed
        assert ("c", "close the incident, with a reason") in listed


@story
async def test_an_admin_sees_the_incident_and_is_told_why_each_action_is_not_hers(
    frozen: None, incident_board: dict[str, str], open_as: Callable[..., Console]
) -> None:
    before = _breach_entries(open_as(None))
    async with console_app(open_as("ada"), "exclamation_mark") as (app, pilot):
        assert not set(TITLES) & set(palette_titles(app))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, IncidentDetailScreen)
        assert not {"Scope", "Report", "Notify", "Exempt", "Close"} & set(footer(app).split())
        for key, action in KEYS.items():
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, IncidentDetailScreen), key  # no dialog opened
            said = app.notices_of("warning")[-1]
            assert said == f"ada may not {action} (needs role security)", said
    assert _breach_entries(open_as(None)) == before  # told, not tried: nothing logged


@pytest.mark.parametrize("operator", ["vic", "olga"])
@story
async def test_a_viewer_or_operator_sees_no_incident_and_no_action(
    frozen: None, incident_board: dict[str, str], open_as: Callable[..., Console], operator: str
) -> None:
    async with console_app(open_as(operator), "exclamation_mark") as (app, pilot):
        assert "Incidents are shown to the admin or security roles only." in screen_words(app)
        assert not set(TITLES) & set(palette_titles(app))
        await pilot.press("enter")  # nothing to open
        await settle(pilot)
        assert not isinstance(app.screen, IncidentDetailScreen)
    entries = open_as(None).opslog.list(limit=200)
    assert not [e for e in entries if e.operator == operator and e.action.startswith("breach.")]


@story
async def test_read_only_offers_no_action_and_says_why(
    frozen: None, incident_board: dict[str, str], open_as: Callable[..., Console]
) -> None:
    async with console_app(open_as("sam", read_only=True), "exclamation_mark") as (app, pilot):
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, IncidentDetailScreen)
        assert not {"Scope", "Report", "Notify", "Exempt", "Close"} & set(footer(app).split())
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, IncidentDetailScreen)
        assert "read-only" in app.notices_of("warning")[-1]


@story
async def test_the_palette_runs_an_action_on_the_highlighted_incident(
    frozen: None, incident_board: dict[str, str], open_as: Callable[..., Console]
) -> None:
    async with console_app(open_as("sam"), "exclamation_mark") as (app, pilot):
        await from_palette(pilot, "Record an Art. 34(3)")
        assert isinstance(app.screen, ExemptModal)
        assert incident_board["Backup bucket readable"] in screen_words(app)
