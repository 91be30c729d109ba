"""The Incidents screen, an incident's detail and its dialogs as a security officer sees them
at 80x24.
Review each SVG change before accepting it (``--snapshot-update``).

Deterministic by construction: the incidents opened on a frozen clock (one overdue, one under
24 hours, one running, one reported), a fixed OS account, no cursor blink, every call awaited.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from incident_world import plant_scope
from tui_helpers import ManualClock, keys

from aptien_ops.composition import Console
from aptien_ops.screens.app import OpsApp
from aptien_ops.services.incidents import IncidentUpdate

pytestmark = pytest.mark.tui

SnapCompare = Callable[..., bool]


@pytest.fixture
def app_as(
    frozen: None, incident_board: dict[str, str], open_as: Callable[..., Console]
) -> Callable[..., OpsApp]:
    def make(operator: str = "sam") -> OpsApp:
        return OpsApp(open_as(operator), clock=ManualClock(), cursor_blink=False)

    return make


def test_incidents(snap_compare: SnapCompare, app_as: Callable[..., OpsApp]) -> None:
    run = keys("exclamation_mark", "down")  # the one under 24 hours highlighted
    assert snap_compare(app_as(), terminal_size=(80, 24), run_before=run)


def test_incident_detail(snap_compare: SnapCompare, app_as: Callable[..., OpsApp]) -> None:
    run = keys("exclamation_mark", "G", "enter")  # the reported one
    assert snap_compare(app_as(), terminal_size=(80, 24), run_before=run)


def test_open_incident_form(snap_compare: SnapCompare, app_as: Callable[..., OpsApp]) -> None:
    run = keys("exclamation_mark", "n")  # aware at: now, prefilled; severity medium
    assert snap_compare(app_as(), terminal_size=(80, 24), run_before=run)


@pytest.fixture
def scoped(incident_board: dict[str, str], open_as: Callable[..., Console]) -> str:
    """The overdue incident with what a notice must say and three people in two regions,
    recorded as its scope; returns its id."""
    sam = open_as("sam")
    incident = incident_board["Backup bucket readable"]
    change = IncidentUpdate(
        consequences="Names and e-mail addresses may be known to others.",
        measures_taken="The bucket was closed.",
    )
    sam.incidents.update(incident, change)
    plant_scope(sam, incident, sam.ctx.now())
    return incident


#: The overdue incident's page (the first row), then the action's key.
ACTION_DIALOGS = {
    "scope": "s",  # prefilled with the scope recorded
    "report": "f",  # overdue: the reasons for the delay are asked
    "exempt": "x",
    "close": "c",
    "notify": "n",  # three people in two regions; a request (nothing approved yet)
}


@pytest.mark.parametrize("dialog", ACTION_DIALOGS)
def test_incident_action_dialog(
    snap_compare: SnapCompare, app_as: Callable[..., OpsApp], scoped: str, dialog: str
) -> None:
    run = keys("exclamation_mark", "enter", ACTION_DIALOGS[dialog])
    assert snap_compare(app_as(), terminal_size=(80, 24), run_before=run)
