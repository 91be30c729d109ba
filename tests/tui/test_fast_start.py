"""The console's start: a first frame with placeholders and no catalog read, the catalog
connected and the dashboard filled after it, the fleet read once and never on the UI thread,
and keys pressed early working once the catalog is there."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tui_helpers import ManualClock, Pins, screen_text, settle, story
from waiting import HANG_GUARD_S

from aptien_ops.cli.state import CliState
from aptien_ops.composition import Console
from aptien_ops.deferred_catalog import DeferredCatalog
from aptien_ops.errors import Conflict, PendingApproval
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
def release() -> Iterator[threading.Event]:
    """Set it to let a held catalog connection go on (set at the end whatever happened)."""
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture
def started(sandbox: Path, pins: Pins, release: threading.Event) -> Iterator[Callable[..., OpsApp]]:
    """``started("ada")``: the app as ``aptien-ops tui`` builds it, acting as ada; with
    ``held=True`` its catalog connection waits for ``release``."""
    states: list[CliState] = []

    def start(operator: str, *, held: bool = False) -> OpsApp:
        state = CliState(config=str(sandbox), clock=pins.clock, identity=pins.identity(operator))
        states.append(state)
        console = state.console(defer_catalog=True)
        catalog = console.ctx.catalog
        assert isinstance(catalog, DeferredCatalog) and not console.connected
        if held:
            connect = catalog._connect  # type: ignore[attr-defined]

            def held_connect() -> Any:
                assert release.wait(timeout=HANG_GUARD_S), "the test never released the connection"
                return connect()

            catalog._connect = held_connect  # type: ignore[attr-defined]
        return OpsApp(console, clock=ManualClock(), cursor_blink=False)

    yield start
    for state in states:
        state.close()


async def _settled_dashboard(open_as: Callable[..., Console], operator: str) -> str:
    """The dashboard of an app whose console was opened the usual way, once it is loaded."""
    app = OpsApp(open_as(operator), clock=ManualClock(), cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        return screen_text(app)


@story
async def test_the_first_frame_shows_placeholders_then_the_dashboard_the_services_load(
    waiting_request: None,
    started: Callable[..., OpsApp],
    open_as: Callable[..., Console],
    release: threading.Event,
) -> None:
    expected = await _settled_dashboard(open_as, "ada")
    assert "1 request pending — 1 awaits your decision" in expected

    app = started("ada", held=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        first = screen_text(app)
        assert not app.services.connected and app.roles is None
        assert "ada (…)" in first and "SANDBOX" in first
        # tenants, regions, approvals, notices, backups, partners, billing
        assert first.count("loading…") == 7
        # Nothing but the app's connection (started after the frame) waits for the catalog:
        # the dashboard has not even asked for the fleet yet.
        assert {w.group for w in app.workers if not w.is_finished} <= {"connect"}
        release.set()
        await settle(pilot)
        assert app.services.connected and app.catalog_ready
        assert isinstance(app.screen, DashboardScreen)
        assert screen_text(app) == expected


@story
async def test_the_fleet_is_read_once_and_the_catalog_never_on_the_ui_thread(
    waiting_request: None, started: Callable[..., OpsApp]
) -> None:
    app = started("ada")
    ui_thread = threading.get_ident()
    catalog = app.services.ctx.catalog
    used_from: list[tuple[str, int]] = []
    for name in ("open", "read", "transaction"):
        real = getattr(catalog, name)

        def recorded(*args: Any, _name: str = name, _real: Any = real) -> Any:
            used_from.append((_name, threading.get_ident()))
            return _real(*args)

        setattr(catalog, name, recorded)
    counts = app.services.tenants.counts
    reads: list[int] = []
    app.services.tenants.counts = lambda: reads.append(1) or counts()  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "1 request pending" in screen_text(app)
        await pilot.press("R")  # the region filter redraws the cards from what was read
        await settle(pilot)
    assert used_from, "the dashboard read the catalog"
    assert [name for name, thread in used_from if thread == ui_thread] == []
    assert reads == [1], "the fleet is read once, not again when the roles arrive"


@story
async def test_keys_pressed_before_the_catalog_is_connected_work_once_it_is(
    waiting_request: None, started: Callable[..., OpsApp], release: threading.Event
) -> None:
    app = started("vic", held=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("R")  # region filter: eu
        await pilot.press("2")  # the tenants screen, whose read waits for the catalog
        await pilot.pause()
        assert isinstance(app.screen, TenantsScreen) and not app.services.connected
        release.set()
        await settle(pilot)
        shown = screen_text(app)
        assert "vic (viewer)" in shown and "region: eu" in shown
        assert "nile-textiles" in shown  # a suspended tenant in eu
        assert "maple-inc" not in shown  # in us: filtered out


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
async def test_a_catalog_that_cannot_be_connected_ends_the_app_with_its_error(
    sandbox: Path, open_as: Callable[..., Console], started: Callable[..., OpsApp]
) -> None:
    open_as(None)  # the catalog exists, then turns out newer than this code
    with sqlite3.connect(sandbox.parent / "catalog.db") as db:
        db.execute("UPDATE alembic_version SET version_num = '9999'")
    app = started("ada")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
    assert isinstance(app.start_error, Conflict) and "newer" in str(app.start_error)
    assert app.return_code == Conflict.exit_code


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
