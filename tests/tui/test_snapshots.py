"""Every screen at 80x24, as an operator sees it. Review each SVG change before accepting it
(``pytest tests/tui --snapshot-update``; the report is snapshot_report.html).

Deterministic by construction: a frozen catalog clock, a fixed OS account, fixed tenants, no
cursor blink, and every service call awaited before the picture is taken.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from tui_helpers import ManualClock, keys, settle

from aptien_ops.composition import Console
from aptien_ops.errors import Forbidden, PendingApproval
from aptien_ops.screens.app import OpsApp

pytestmark = pytest.mark.tui

SnapCompare = Callable[..., bool]


@pytest.fixture
def fleet(frozen: None, demo_tenants: None, open_as: Callable[..., Console]) -> None:
    """Fixed tenants, a pending admin request by opsadmin, and a denial by vic."""
    with pytest.raises(PendingApproval):
        open_as(None).operators.grant("sam", "admin")
    with pytest.raises(Forbidden):
        open_as("vic").operators.grant("olga", "admin")


@pytest.fixture
def app_as(fleet: None, open_as: Callable[..., Console]) -> Callable[..., OpsApp]:
    def make(operator: str | None = "ada", *, read_only: bool = False) -> OpsApp:
        return OpsApp(
            open_as(operator, read_only=read_only), clock=ManualClock(), cursor_blink=False
        )

    return make


def test_dashboard(snap_compare: SnapCompare, app_as: Callable[..., OpsApp]) -> None:
    assert snap_compare(app_as("ada"), terminal_size=(80, 24), run_before=keys())


def test_dashboard_filtered_to_one_region(
    snap_compare: SnapCompare, app_as: Callable[..., OpsApp]
) -> None:
    assert snap_compare(app_as("ada"), terminal_size=(80, 24), run_before=keys("R"))


def test_dashboard_in_production(
    snap_compare: SnapCompare, frozen: None, sandbox: Path, open_as: Callable[..., Console]
) -> None:
    text = sandbox.read_text().replace('mode = "sandbox"', 'mode = "production"', 1)
    sandbox.write_text(text.replace("initial_admins = []", 'initial_admins = ["opsadmin"]', 1))
    app = OpsApp(open_as(None), clock=ManualClock(), cursor_blink=False)
    assert snap_compare(app, terminal_size=(80, 24), run_before=keys())


def test_tenants(snap_compare: SnapCompare, app_as: Callable[..., OpsApp]) -> None:
    assert snap_compare(app_as("ada"), terminal_size=(80, 24), run_before=keys("2", "down", "down"))


def test_tenants_filtered(snap_compare: SnapCompare, app_as: Callable[..., OpsApp]) -> None:
    assert snap_compare(
        app_as("ada"), terminal_size=(80, 24), run_before=keys("2", "slash", "u", "s", "enter")
    )


def test_tenants_sorted_by_state_in_one_region(
    snap_compare: SnapCompare, app_as: Callable[..., OpsApp]
) -> None:
    run = keys("2", "R", "R", "s", "s", "s", "s")
    assert snap_compare(app_as("ada"), terminal_size=(80, 24), run_before=run)


def test_operators(snap_compare: SnapCompare, app_as: Callable[..., OpsApp]) -> None:
    assert snap_compare(app_as("ada"), terminal_size=(80, 24), run_before=keys("3"))


def test_operators_as_a_viewer_offers_no_changes(
    snap_compare: SnapCompare, app_as: Callable[..., OpsApp]
) -> None:
    assert snap_compare(app_as("vic"), terminal_size=(80, 24), run_before=keys("3"))


def test_operators_read_only(snap_compare: SnapCompare, app_as: Callable[..., OpsApp]) -> None:
    assert snap_compare(app_as("ada", read_only=True), terminal_size=(80, 24), run_before=keys("3"))


def test_grant_role_picker(snap_compare: SnapCompare, app_as: Callable[..., OpsApp]) -> None:
    run = keys("3", "@select", "plus", select="pat")
    assert snap_compare(app_as("ada"), terminal_size=(80, 24), run_before=run)


def test_add_operator_form(snap_compare: SnapCompare, app_as: Callable[..., OpsApp]) -> None:
    run = keys("3", "a", "j", "d", "o", "e")
    assert snap_compare(app_as("ada"), terminal_size=(80, 24), run_before=run)


def test_approvals(snap_compare: SnapCompare, app_as: Callable[..., OpsApp]) -> None:
    assert snap_compare(app_as("ada"), terminal_size=(80, 24), run_before=keys("4"))


def test_approve_confirmation(snap_compare: SnapCompare, app_as: Callable[..., OpsApp]) -> None:
    assert snap_compare(app_as("ada"), terminal_size=(80, 24), run_before=keys("4", "a"))


def test_reject_asks_for_a_reason(snap_compare: SnapCompare, app_as: Callable[..., OpsApp]) -> None:
    assert snap_compare(app_as("ada"), terminal_size=(80, 24), run_before=keys("4", "x"))


def test_approvals_at_200x50(snap_compare: SnapCompare, app_as: Callable[..., OpsApp]) -> None:
    assert snap_compare(app_as("ada"), terminal_size=(200, 50), run_before=keys("4"))


@pytest.fixture
def purge_requested(fleet: None, open_as: Callable[..., Console]) -> None:
    """ada asks for the purge of gotham-legal (cancelled): request #2."""
    with pytest.raises(PendingApproval):
        open_as("ada").lifecycle.purge("gotham-legal")


def test_purge_approval_restates_what_goes(
    snap_compare: SnapCompare, purge_requested: None, app_as: Callable[..., OpsApp]
) -> None:
    assert snap_compare(app_as(None), terminal_size=(80, 24), run_before=keys("4", "a"))


@pytest.mark.parametrize("size", [(80, 24), (200, 50)], ids=["80x24", "200x50"])
def test_tenant_history_names_who_requested_a_purge(
    snap_compare: SnapCompare,
    purge_requested: None,
    app_as: Callable[..., OpsApp],
    size: tuple[int, int],
) -> None:
    run = keys("2", "down", "down", "down", "enter")  # gotham-legal
    assert snap_compare(app_as("ada"), terminal_size=size, run_before=run)


def busy_log(open_as: Callable[..., Console]) -> None:
    """Enough entries that the newest fill the screen (the catalog's path stays off it)."""
    ada = open_as("ada")
    for name, role in (
        ("olga", "billing"),
        ("pat", "viewer"),
        ("bill", "viewer"),
        ("vic", "operator"),
        ("olga", "partner-manager"),
        ("pat", "billing"),
    ):
        ada.operators.grant(name, role)
        ada.operators.revoke(name, role)


def test_ops_log(
    snap_compare: SnapCompare, app_as: Callable[..., OpsApp], open_as: Callable[..., Console]
) -> None:
    busy_log(open_as)
    assert snap_compare(app_as("ada"), terminal_size=(80, 24), run_before=keys("5"))


def test_ops_log_verified(
    snap_compare: SnapCompare, app_as: Callable[..., OpsApp], open_as: Callable[..., Console]
) -> None:
    busy_log(open_as)
    assert snap_compare(app_as("sam"), terminal_size=(80, 24), run_before=keys("5", "v"))


def test_help(snap_compare: SnapCompare, app_as: Callable[..., OpsApp]) -> None:
    assert snap_compare(app_as("ada"), terminal_size=(80, 24), run_before=keys("question_mark"))


def test_lock_screen(snap_compare: SnapCompare, app_as: Callable[..., OpsApp]) -> None:
    app = app_as("ada")

    async def idle(pilot: Pilot[Any]) -> None:
        await keys("2")(pilot)
        app.clock.advance(16 * 60)  # type: ignore[attr-defined]
        app.check_idle_lock()
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=idle)


def test_command_palette(snap_compare: SnapCompare, app_as: Callable[..., OpsApp]) -> None:
    run = keys("ctrl+p", "g", "r", "a", "n", "t")
    assert snap_compare(app_as("ada"), terminal_size=(80, 24), run_before=run)
