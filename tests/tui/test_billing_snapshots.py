"""Billing as an operator sees it at 80x24: the Tenants screen's licence column and its
non-payment filter, the dashboard's billing card (connected, and not connected with the hint),
and a tenant's billing section in full (billing role) and as the licence state only (viewer).
Review each SVG change before accepting it (``--snapshot-update``).

Deterministic: the demo tenants and their billing written on the frozen clock, a fixed OS
account, no cursor blink, every service call awaited.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from test_billing_tui import bill, card_in_view, connect
from textual.pilot import Pilot
from tui_helpers import ManualClock, keys, settle

from aptien_ops.composition import Console
from aptien_ops.screens.app import OpsApp

pytestmark = pytest.mark.tui

SnapCompare = Callable[..., bool]


@pytest.fixture
def app_as(
    frozen: None, demo_tenants: None, sandbox: Path, open_as: Callable[..., Console]
) -> Callable[..., OpsApp]:
    """Apps on the demo tenants with their billing (``frozen`` first: the facts read it)."""
    bill(open_as(None))

    def make(operator: str = "bill", *, connected: bool = True) -> OpsApp:
        if connected:
            connect(sandbox)
        return OpsApp(open_as(operator), clock=ManualClock(), cursor_blink=False)

    return make


def test_tenants_licence_column(snap_compare: SnapCompare, app_as: Callable[..., OpsApp]) -> None:
    run = keys("2", "j", "j", "j", "j")  # lagos-fintech: past due
    assert snap_compare(app_as("olga"), terminal_size=(80, 24), run_before=run)


def test_tenants_non_payment_filter(
    snap_compare: SnapCompare, app_as: Callable[..., OpsApp]
) -> None:
    assert snap_compare(app_as("olga"), terminal_size=(80, 24), run_before=keys("2", "b"))


async def _dashboard_card(pilot: Pilot[None]) -> None:
    await keys("1")(pilot)
    await card_in_view(pilot)
    await settle(pilot)


def test_dashboard_billing_card(snap_compare: SnapCompare, app_as: Callable[..., OpsApp]) -> None:
    assert snap_compare(app_as("vic"), terminal_size=(80, 24), run_before=_dashboard_card)


def test_dashboard_billing_not_connected(
    snap_compare: SnapCompare, app_as: Callable[..., OpsApp]
) -> None:
    app = app_as("vic", connected=False)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_dashboard_card)


def test_tenant_billing_in_full(snap_compare: SnapCompare, app_as: Callable[..., OpsApp]) -> None:
    run = keys("2", "j", "j", "j", "j", "enter")
    assert snap_compare(app_as("bill"), terminal_size=(80, 24), run_before=run)


def test_tenant_billing_state_only(
    snap_compare: SnapCompare, app_as: Callable[..., OpsApp]
) -> None:
    run = keys("2", "j", "j", "j", "j", "enter")
    assert snap_compare(app_as("vic"), terminal_size=(80, 24), run_before=run)
