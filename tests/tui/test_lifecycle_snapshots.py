"""Provisioning, a tenant's detail, the purge dialog and the fleet at 80x24, as an operator
sees them. Review each SVG change before accepting it (``--snapshot-update``).

Deterministic by construction: a frozen clock and OS account, tenants provisioned for real
with fixed names, no cursor blink, and every service call awaited before the picture.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tui_helpers import ManualClock, keys

from aptien_ops.composition import Console
from aptien_ops.screens.app import OpsApp

pytestmark = pytest.mark.tui

SnapCompare = Callable[..., bool]
FORM = (
    "2",
    "n",
    "text:acme-gmbh",
    "enter",
    "text:germ",
    "down",  # the one match, picked: the line under the field says Germany, region eu
    "enter",
    "text:Greta Vogel",
    "enter",
    "text:greta@acme.example",
)


@pytest.fixture
def app_as(frozen: None, open_as: Callable[..., Console]) -> Callable[..., OpsApp]:
    def make(operator: str = "ada") -> OpsApp:
        return OpsApp(open_as(operator), clock=ManualClock(), cursor_blink=False)

    return make


@pytest.fixture
def tenants(frozen: None, provisioned: Callable[..., str], open_as: Callable[..., Console]) -> None:
    """acme-gmbh suspended for an unpaid invoice, maple-health active."""
    provisioned("acme-gmbh", "DE", "Greta Vogel", "greta@acme.example")
    provisioned("maple-health", "CA", "Chloe Tremblay", "chloe@maple.example")
    open_as("olga").lifecycle.suspend("acme-gmbh", "invoice 2025-113 unpaid")


def test_provision_form_shows_the_region_before_confirming(
    snap_compare: SnapCompare, app_as: Callable[..., OpsApp]
) -> None:
    assert snap_compare(app_as("olga"), terminal_size=(80, 24), run_before=keys(*FORM))


def test_provision_form_asks_which_country_a_partial_name_means(
    snap_compare: SnapCompare, app_as: Callable[..., OpsApp]
) -> None:
    run = keys("2", "n", "text:acme-gmbh", "enter", "text:korea")
    assert snap_compare(app_as("olga"), terminal_size=(80, 24), run_before=run)


def test_provision_steps_all_ticked(
    snap_compare: SnapCompare, app_as: Callable[..., OpsApp]
) -> None:
    assert snap_compare(app_as("olga"), terminal_size=(80, 24), run_before=keys(*FORM, "enter"))


def test_tenant_detail(
    snap_compare: SnapCompare, tenants: None, app_as: Callable[..., OpsApp]
) -> None:
    assert snap_compare(app_as("olga"), terminal_size=(80, 24), run_before=keys("2", "enter"))


def test_purge_asks_for_the_tenants_name(
    snap_compare: SnapCompare,
    tenants: None,
    open_as: Callable[..., Console],
    app_as: Callable[..., OpsApp],
) -> None:
    open_as("olga").lifecycle.cancel("acme-gmbh")  # retained 30 days: the dialog also asks why
    run = keys("2", "enter", "p", "text:acme-gmbh")
    assert snap_compare(app_as("ada"), terminal_size=(80, 24), run_before=run)


def test_fleet_findings_grouped_by_kind(
    snap_compare: SnapCompare,
    tenants: None,
    open_as: Callable[..., Console],
    app_as: Callable[..., OpsApp],
) -> None:
    admin = open_as("ada")
    admin.ctx.store("us-sandbox-1").drop_database("maple-health")
    admin.ctx.store("us-sandbox-1").create_database("ghost-ltd", "a password nobody has")
    assert snap_compare(app_as("vic"), terminal_size=(80, 24), run_before=keys("6"))
