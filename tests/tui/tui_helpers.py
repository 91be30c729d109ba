"""Helpers shared by the TUI tests (fixtures live in conftest.py)."""

from __future__ import annotations

import asyncio
import functools
import html
import re
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.pilot import Pilot
from textual.worker import Worker

from aptien_ops.domain import Clock, Identity, utcnow

if TYPE_CHECKING:
    from aptien_ops.screens.provision import ProvisionModal
    from aptien_ops.screens.tenant_detail import TenantDetailScreen

FROZEN_NOW = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC)
FROZEN_ACCOUNT = "opsadmin"


@dataclass
class Pins:
    """What every console a test opens is given: its clock, the OS account it runs as, and
    the seed of its (non-secret) ids. By default the real clock and account."""

    clock: Clock = utcnow
    account: str | None = None
    seed: int | None = None

    def identity(self, operator: str | None) -> Identity | None:
        if self.account is None:
            return None
        return Identity(operator or self.account, self.account, None, "s-test")


class ManualClock:
    """Monotonic seconds that only move when the test says so (drives the idle lock)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


#: How many rounds of the app's event loop a wait may take before the test fails. A round lets
#: every widget of the screen handle what is queued for it, then waits for every worker the app
#: has started: the bound counts what the app did, not seconds, so a busy machine only makes
#: each round slower.
ROUNDS = 100


def _unfinished(app: App[Any]) -> list[Worker[Any]]:
    return [w for w in app.workers if not w.is_finished]


def _quiet(app: App[Any]) -> bool:
    """Nothing queued for the app or a widget of its screens, and no worker running."""
    nodes = [app, *(n for s in app.screen_stack for n in s.walk_children(with_self=True))]
    return (
        not _unfinished(app)
        and not any(n.message_queue_size for n in nodes)
        # Work the shown screen put off until after its next frame (``call_after_refresh``: a
        # screen reads its data so on resume, the footer recomposes so after a focus change)
        # is in no queue until that frame: a picture taken before it shows the screen half
        # done. (A screen under another runs its own only once it is shown again.)
        and not app.screen._callbacks
        # A table sizes its columns to new rows when it is next idle; until then it paints
        # them cut to the headers' widths (seen as a flaky snapshot on a busy machine).
        and not any(getattr(n, "_require_update_dimensions", False) for n in nodes)
        # A list hands its rows to its table a chunk per frame (screens/lists.py).
        and not any(getattr(n, "filling", False) for n in nodes)
    )


async def _round(pilot: Pilot[Any], *, workers: bool = True) -> None:
    await pilot.pause()
    if workers:
        # Failed and cancelled workers are the app's to report (a toast, a log line), not the
        # wait's: gather them all, whatever they ended with.
        await asyncio.gather(*(w.wait() for w in _unfinished(pilot.app)), return_exceptions=True)


async def until(
    pilot: Pilot[Any], ready: Callable[[], object], what: str, *, workers: bool = True
) -> None:
    """Let the app run until ``ready()`` is true; fail naming ``what`` after :data:`ROUNDS`
    rounds. ``workers=False`` only lets it handle messages (a worker the test holds never
    finishes)."""
    for _ in range(ROUNDS):
        if ready():
            return
        await _round(pilot, workers=workers)
    assert ready(), f"waited {ROUNDS} rounds of the app's event loop for {what}"


def flush_filters(app: App[Any]) -> None:
    """Apply at once the text typed in a catalog-searched filter (screens/list_filter.py)
    instead of waiting out its debounce timer: no test sleeps."""
    for screen in app.screen_stack:
        if getattr(screen, "filter_pending", False):
            screen.flush_filter()  # type: ignore[attr-defined]


async def settle(pilot: Pilot[Any]) -> None:
    """Wait until every service call the app started (or that typed filter text is waiting
    to start: :func:`flush_filters`) has come back and been shown: two rounds in a row find
    nothing queued and no worker running."""
    flush_filters(pilot.app)
    quiet_rounds = 0

    def twice_quiet() -> bool:
        nonlocal quiet_rounds
        quiet_rounds = quiet_rounds + 1 if _quiet(pilot.app) else 0
        return quiet_rounds == 2

    await _round(pilot)
    await until(pilot, twice_quiet, "the app to handle what it was given")


def story(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async Pilot test on its own event loop (the suite has no async plugin)."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return run


#: Width of one terminal cell in Textual's SVG screenshots.
_CELL_WIDTH = 12.2
_TEXT = re.compile(r'<text class="[^"]*" x="([0-9.]+)" y="([0-9.]+)"[^>]*>([^<]*)</text>')


def screen_text(app: App[Any]) -> str:
    """What the operator sees, as plain text lines (read back from a screenshot)."""
    width = app.size.width
    rows: dict[float, list[str]] = {}
    for x, y, text in _TEXT.findall(app.export_screenshot()):
        row = rows.setdefault(float(y), [" "] * width)
        column = round(float(x) / _CELL_WIDTH)
        for offset, char in enumerate(html.unescape(text).replace("\xa0", " ")):
            if column + offset < width:
                row[column + offset] = char
    return "\n".join("".join(row).rstrip() for _, row in sorted(rows.items()))


def recording_app(console: Any, **options: Any) -> Any:
    """The real app on ``console`` without a blinking cursor, extended to keep every
    notification it shows (for assertions: ``app.notices_of("warning")``)."""
    from aptien_ops.screens.app import OpsApp

    class RecordingApp(OpsApp):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.notices: list[tuple[str, str]] = []

        def notify(self, message: str, **kwargs: Any) -> None:  # type: ignore[override]
            self.notices.append((str(kwargs.get("severity", "information")), message))
            super().notify(message, **kwargs)

        def notices_of(self, severity: str) -> list[str]:
            return [m for s, m in self.notices if s == severity]

    return RecordingApp(console, cursor_blink=False, **options)


@asynccontextmanager
async def running(app: App[Any], screen: str = "", **run_test: Any) -> AsyncIterator[Pilot[Any]]:
    """Run ``app`` headless at 80x24, the size the console is tested at (or ``size=``), until
    its first screen has loaded; then go to the screen of key ``screen`` ("2": Tenants), if one
    is named. ``run_test`` is passed on to :meth:`App.run_test` (``message_hook=…``)."""
    run_test.setdefault("size", (80, 24))
    async with app.run_test(**run_test) as pilot:
        await settle(pilot)
        if screen:
            await pilot.press(screen)
            await settle(pilot)
        yield pilot


@asynccontextmanager
async def console_app(
    console: Any, screen: str = "", *, clock: ManualClock | None = None, **run_test: Any
) -> AsyncIterator[tuple[Any, Pilot[Any]]]:
    """The :func:`recording_app` on ``console`` (with the idle ``clock``, if given),
    :func:`running` on the screen of key ``screen`` if one is named; yields the app and its
    pilot. ``run_test`` is passed on to :meth:`App.run_test`."""
    app = recording_app(console) if clock is None else recording_app(console, clock=clock)
    async with running(app, screen, **run_test) as pilot:
        yield app, pilot


async def from_palette(pilot: Pilot[Any], command: str) -> None:
    """Open the command palette, type ``command`` and run what it matches first."""
    await pilot.press("ctrl+p")
    await pilot.pause()
    await pilot.press(*command)
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)


def palette_titles(app: App[Any]) -> list[str]:
    """The titles of the commands the palette offers on the current screen."""
    from aptien_ops.screens.commands import OpsCommands

    return [title for title, _help, _callback in OpsCommands(app.screen).commands()]


async def open_tenant(pilot: Pilot[Any]) -> TenantDetailScreen:
    """Go to the tenants list and open the highlighted (first) tenant; returns its screen."""
    from aptien_ops.screens.tenant_detail import TenantDetailScreen

    await pilot.press("2")
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, TenantDetailScreen)
    return pilot.app.screen


async def open_provision_form(pilot: Pilot[Any]) -> ProvisionModal:
    """Go to the tenants list and open the provision form; returns it."""
    from aptien_ops.screens.provision import ProvisionModal

    await pilot.press("2")
    await settle(pilot)
    await pilot.press("n")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ProvisionModal)
    return pilot.app.screen


def screen_words(app: App[Any]) -> str:
    """The screen's text with borders dropped and whitespace squeezed (wrapped lines rejoin)."""
    return " ".join(re.sub(r"[│┃║]", " ", screen_text(app)).split())


async def scrolled_words(app: App[Any], pilot: Pilot[Any], pages: int = 4) -> str:
    """The words of a scrolled screen (an incident's page), page after page from its top."""
    await pilot.press("home")
    await settle(pilot)
    seen = [screen_words(app)]
    for _ in range(pages):
        await pilot.press("pagedown")
        await settle(pilot)
        seen.append(screen_words(app))
    return " ".join(seen)


async def pick_role(pilot: Pilot[Any], role: str) -> None:
    """Choose ``role`` in the open role picker."""
    from aptien_ops.screens.modals import RolePickerModal

    picker = pilot.app.screen
    assert isinstance(picker, RolePickerModal)
    await pilot.press(*["down"] * picker.roles.index(role), "enter")
    await settle(pilot)


async def select_operator(pilot: Pilot[Any], name: str) -> None:
    """Highlight the row of ``name`` in the screen's table."""
    from textual.widgets import DataTable

    table = pilot.app.screen.query_one(DataTable)
    table.move_cursor(row=table.get_row_index(name))
    await settle(pilot)


def keys(*pressed: str, select: str | None = None) -> Callable[[Pilot[None]], Awaitable[None]]:
    """Press keys one at a time, letting each service call finish (``@select`` highlights a row;
    ``text:abc`` types abc in one go)."""

    async def run(pilot: Pilot[None]) -> None:
        from textual.widgets import DataTable

        await settle(pilot)
        for key in pressed:
            if key == "@select" and select is not None:
                table = pilot.app.screen.query_one(DataTable)
                table.move_cursor(row=table.get_row_index(select))
            elif key.startswith("text:"):
                await pilot.press(*key.removeprefix("text:"))
            else:
                await pilot.press(key)
            await settle(pilot)

    return run


def footer(app: App[Any]) -> str:
    """The footer line: the keys the operator is offered right now."""
    return screen_text(app).splitlines()[-1]


def tenant_rows(app: App[Any]) -> list[Any]:
    """The tenants the Tenants screen's list holds (its paged window), in its order."""
    from aptien_ops.screens.tenants import TenantsScreen

    screen = next(s for s in reversed(app.screen_stack) if isinstance(s, TenantsScreen))
    return list(screen.window.rows)


def highlighted_tenant(app: App[Any]) -> str | None:
    """The name of the tenant under the Tenants list's cursor."""
    from aptien_ops.screens.tenants import TenantsScreen

    screen = next(s for s in reversed(app.screen_stack) if isinstance(s, TenantsScreen))
    row = screen.table.highlighted
    return None if row is None else str(row.name)


async def answer_held(
    pilot: Pilot[Any], keys: list[str], started: threading.Event, timeout: float
) -> Any:
    """Open a dialog with ``keys[0]`` and answer it with the rest while the service call it
    makes is held (``started`` is set once the call runs): the dialog, still open. Nothing is
    settled after the answer (the held call would be waited for)."""
    await pilot.press(keys[0])
    await settle(pilot)
    dialog = pilot.app.screen
    await pilot.press(*keys[1:])
    assert await asyncio.to_thread(started.wait, timeout), "the held call never started"
    return dialog
