"""The console's start: the dashboard's first frame from a glance at the catalog (the catalog
connects right after), the fleet read once, and keys pressed early waiting for the catalog."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tui_helpers import ManualClock, Pins, screen_text, settle, story

from aptien_ops.cli.state import CliState
from aptien_ops.composition import Console
from aptien_ops.errors import PendingApproval
from aptien_ops.identity import os_account
from aptien_ops.screens.app import SCREENS, OpsApp
from aptien_ops.screens.dashboard import DashboardScreen
from aptien_ops.screens.tenants import TenantsScreen

pytestmark = pytest.mark.tui


@pytest.fixture
def waiting_request(frozen: None, demo_tenants: None, open_as: Callable[..., Console]) -> None:
    """The demo fleet and one pending admin request by opsadmin (ada may decide it)."""
    with pytest.raises(PendingApproval):
        open_as(None).operators.grant("sam", "admin")


@pytest.fixture
def started(sandbox: Path, pins: Pins) -> Iterator[Callable[[str], OpsApp]]:
    """``started("ada")``: the app as ``aptien-ops tui`` builds it, acting as ada."""
    states: list[CliState] = []

    def start(operator: str) -> OpsApp:
        state = CliState(config=str(sandbox), clock=pins.clock, identity=pins.identity(operator))
        states.append(state)
        console, glance = state.tui_console()
        assert glance is not None, "a ready sandbox catalog gives a glance"
        return OpsApp(console, glance=glance, clock=ManualClock(), cursor_blink=False)

    yield start
    for state in states:
        state.close()


@story
async def test_the_dashboard_drawn_from_the_glance_is_the_one_the_services_load(
    waiting_request: None, started: Callable[[str], OpsApp], open_as: Callable[..., Console]
) -> None:
    loaded = OpsApp(open_as("ada"), clock=ManualClock(), cursor_blink=False)
    async with loaded.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        expected = screen_text(loaded)
    assert "1 request pending — 1 awaits your decision" in expected

    app = started("ada")
    reads: list[int] = []
    counts = app.services.tenants.counts
    app.services.tenants.counts = lambda: reads.append(1) or counts()  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        first = screen_text(app)
        await settle(pilot)
        assert app.services.connected  # connected right after the first frame
        assert isinstance(app.screen, DashboardScreen)
        assert screen_text(app) == first == expected
    assert reads == [], "the fleet is not read a second time"


@story
async def test_the_dashboard_reads_the_fleet_once_while_the_roles_arrive(
    waiting_request: None, open_as: Callable[..., Console]
) -> None:
    console = open_as("ada")
    reads: list[int] = []
    counts = console.tenants.counts
    console.tenants.counts = lambda: reads.append(1) or counts()  # type: ignore[method-assign]
    app = OpsApp(console, clock=ManualClock(), cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.roles == frozenset({"admin"})
        assert "1 awaits your decision" in screen_text(app)  # redrawn with the roles
    assert reads == [1]


@story
async def test_a_screen_opened_before_the_catalog_is_connected_loads_once_it_is(
    waiting_request: None, started: Callable[[str], OpsApp]
) -> None:
    app = started("vic")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2")
        await settle(pilot)
        assert isinstance(app.screen, TenantsScreen)
        shown = screen_text(app)
        assert "nile-textiles" in shown and "vic (viewer)" in shown


def test_the_header_names_the_os_account_when_no_operator_is_chosen(sandbox: Path) -> None:
    CliState(config=str(sandbox)).console().close()  # the catalog, made by this OS account
    state = CliState(config=str(sandbox))
    try:
        console, glance = state.tui_console()
        assert glance is not None and glance.operator == os_account() == console.identity.operator
        assert glance.roles == frozenset({"admin"})  # the sandbox names its OS account admin
    finally:
        state.close()


def test_every_tab_names_its_screen_as_the_screen_names_itself() -> None:
    for tab in SCREENS:
        screen_class = tab.load()
        assert (
            screen_class.NAV_KEY,
            screen_class.MODE,
            screen_class.TITLE,
            screen_class.IN_TABS,
        ) == (tab.key, tab.mode, tab.title, tab.in_tabs), tab
    assert OpsApp.tab_modes() == {s.MODE for s in OpsApp.screen_classes() if s.IN_TABS}


def test_the_app_imports_no_screen_but_the_dashboard_before_it_is_shown() -> None:
    code = (
        "import json, sys, aptien_ops.screens.app\n"
        "print(json.dumps([m for m in sys.modules if m.startswith('aptien_ops.screens.')]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout))
    assert "aptien_ops.screens.dashboard" in loaded
    assert not loaded & {t.target.split(":")[0] for t in SCREENS[1:]}
