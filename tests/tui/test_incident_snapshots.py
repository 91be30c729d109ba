"""The Incidents screen and an incident's detail as a security officer sees them at 80x24.
Review each SVG change before accepting it (``--snapshot-update``).

Deterministic by construction: the incidents opened on a frozen clock (one overdue, one under
24 hours, one running, one reported), a fixed OS account, no cursor blink, every call awaited.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tui_helpers import ManualClock, keys

from aptien_ops.composition import Console
from aptien_ops.screens.app import OpsApp

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
