"""Switching screens in the TUI on a 10,000-tenant catalog, against switching between two empty
Textual screens: key press to the new screen's first paint.

A sandbox catalog holds N tenants (``catalog_seed.fill``) and one indexed backup of every
tenant that is backed up (``catalog_seed.fill_backups``): the Backups screen lists ~8,400
backups and what is due for every tenant, the dashboard counts them, Fleet finds every
database missing. The app runs in this process, headless at 80×24 (``App.run_test``), as the
sandbox's admin (the OS account), exactly as ``aptien-ops tui`` builds it, with the garbage
collector as it leaves it (all built before the app frozen out of collection:
:func:`as_the_tui_runs`).

**What is timed.** From just before ``pilot.press(key)`` until the app first hands a frame of
the new screen to its driver: ``App._display(screen, update)`` called with the new screen as
the current one, a compositor update, and no batch update holding frames back (Textual has
laid the screen out and rendered every visible widget's lines; headless, the driver then
writes nothing). A frame made while Textual holds frames back (its 50 ms ``delay_update``
after a switch) is never written, so it is not counted. Beside it, the UI thread's CPU time
over the same span (``time.thread_time``): on a loaded machine the wall time also holds
whatever else the cores ran. That frame is what the
operator sees at once: the header, the tabs, the footer and the screen's placeholders
("loading…"); its data follows from a worker. Two kinds of switch are timed for every screen:

- ``first visit``: the screen is composed and mounted afresh (its mode removed and added back
  before each round; its module was imported by the warm-up round);
- ``return``: the screen exists and is shown again (it reloads its data in a worker).

``--compose-ahead`` runs the app with ``OpsApp(compose_ahead=True)``: it composes the screens
not shown yet after its first frame, and the tour asks for that again after adding the mode
back, so a first visit finds its screen composed (not resumed, never laid out yet).

The dashboard is measured on the way back (``1`` from each screen). Between two switches the
app settles: every worker has come back and its result has been shown.

**Also reported, not judged.** ``data``: key press until the screen's reads came back and were
shown (the app quiet again), and ``stall``: the longest the event loop went without running a
heartbeat timer (every 5 ms) during a switch and its loads — how late a key pressed meanwhile
would act.

**During a run.** The same tour again (fewer rounds) while a backup run goes on in a thread of
the app's process, as the Backups screen's ``d``/``b`` runs it (``tui_switch_run.BackupLoop``):
``RUN_TENANTS`` sandbox tenants with real databases and activity (``sandbox seed``) backed up
over and over until the tour ends, its progress handed to the Backups screen as its worker
does. Its rows say ``during a run``. The floors (below) are toured during the same kind of
run too (``--run-rounds`` rounds before the console's tour and as many after it): the run's
thread on a console of their own, in the floor app's process, doing to the cores and the
interpreter lock what it does beside the console; the console's rows during a run are set
beside those.

**Floors.** The same harness and measure on an app with two empty screens (Header, Static,
Footer: ``harness.MINIMAL_APP_CLASS``'s widgets) switched by mode with keys ``1``/``2``, first
visit and return alike; then the same with as many more widgets (Statics in a scroll) as make
each screen as big as the median screen of ours: what Textual itself costs to style, lay out
and draw a screen of that size. Target: every screen's median ≤ 100 ms (absolute, as issue 11 asks);
each screen's paint and stall medians are also given as ratios to the floor's.

    .venv/bin/python bench/tui_switch.py --rounds 5
    .venv/bin/python bench/tui_switch.py --tenants 2000 --rounds 3 --no-record
    .venv/bin/python bench/tui_switch.py --run-rounds 0   # without the "during a run" tour

Prints one JSON object per screen and kind on stdout and replaces the section between the
``tui-switch`` markers of ``docs/benchmarks.md``; exits 1 if a median misses the target.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from catalog_seed import catalog_bench_arguments, catalog_workspace, fill_backups
from harness import log, replace_section
from tui_switch_report import END, RUN_LABEL, START, TARGET_MS, section, summary, with_ratios
from tui_switch_run import RUN_ROUNDS, BackupLoop, seed_run_tenants, to_backups_screen

#: Every round visits each screen twice and the dashboard (which reads every backup) 16 times.
ROUNDS = 5
SIZE = (80, 24)
HEARTBEAT_S = 0.005


@dataclass
class Timings:
    """Milliseconds of each switch of one screen and kind."""

    paint: list[float] = field(default_factory=list)
    paint_cpu: list[float] = field(default_factory=list)
    """CPU time of the UI thread from the key press to that frame: what the switch costs the
    app itself, whatever else the loaded machine runs meanwhile."""
    paint_queued: list[float] = field(default_factory=list)
    """Of that span, how long the UI thread was ready to run but had no core (Linux schedstat);
    the rest beyond its CPU: waiting for the interpreter lock or the event loop's next turn."""
    data: list[float] = field(default_factory=list)
    stall: list[float] = field(default_factory=list)
    nodes: list[int] = field(default_factory=list)
    """The widgets of the screen once its data is shown (DOM nodes, the screen's own
    included): what Textual styles and lays out."""


def queued() -> float:
    """Seconds this thread was ready to run but had no core (``/proc/thread-self/schedstat``)."""
    try:
        with open("/proc/thread-self/schedstat", encoding="ascii") as stat:
            return int(stat.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


class Stopwatch:
    """Mixed into the app under test: notes when a frame of the wanted screen is first handed
    to the driver, and keeps a heartbeat to see how long the event loop was busy."""

    wanted: type[Any] | None = None
    painted_at: float | None = None
    painted_cpu = painted_queued = 0.0
    last_beat = 0.0
    longest_gap = 0.0

    def _display(self, screen: Any, renderable: Any) -> None:
        super()._display(screen, renderable)  # type: ignore[misc]
        if (
            renderable is not None
            and not self._batch_count  # type: ignore[attr-defined]
            and self.wanted is not None
            and self.painted_at is None
            and type(screen) is self.wanted
        ):
            self.painted_at = time.perf_counter()
            self.painted_cpu, self.painted_queued = time.thread_time(), queued()

    def beat(self) -> None:
        now = time.perf_counter()
        self.longest_gap = max(self.longest_gap, now - self.last_beat)
        self.last_beat = now

    def expect(self, screen: type[Any]) -> None:
        self.wanted, self.painted_at = screen, None
        self.last_beat, self.longest_gap = time.perf_counter(), 0.0


async def quiet(pilot: Any) -> None:
    """Until no worker runs and nothing is queued for the screen (twice in a row)."""
    app, calm = pilot.app, 0
    while calm < 2:
        await pilot.pause()
        busy = [w for w in app.workers if not w.is_finished]
        if busy:
            await asyncio.gather(*(w.wait() for w in busy), return_exceptions=True)
            calm = 0
            continue
        nodes = [app, *app.screen.walk_children(with_self=True)]
        # A read started after the next frame (``call_after_refresh``) waits in ``_callbacks``;
        # a list hands its rows to its table a chunk per frame (``filling``).
        waiting = (
            any(n.message_queue_size or getattr(n, "filling", False) for n in nodes)
            or app.screen._callbacks
        )
        calm = 0 if waiting else calm + 1


async def switch(pilot: Any, key: str, screen: type[Any], into: Timings) -> None:
    """Press ``key``; time it to ``screen``'s first frame and to the app being quiet again."""
    app = pilot.app
    app.expect(screen)
    started, started_cpu, started_queued = time.perf_counter(), time.thread_time(), queued()
    await pilot.press(key)
    while app.painted_at is None:
        await pilot.pause()
    await quiet(pilot)
    done = time.perf_counter()
    if type(app.screen) is not screen:
        raise RuntimeError(f"key {key} showed {type(app.screen).__name__}, not {screen.__name__}")
    into.paint.append((app.painted_at - started) * 1000)
    into.paint_cpu.append((app.painted_cpu - started_cpu) * 1000)
    into.paint_queued.append((app.painted_queued - started_queued) * 1000)
    into.data.append((done - started) * 1000)
    into.stall.append(app.longest_gap * 1000)
    into.nodes.append(len(list(app.screen.walk_children(with_self=True))))
    app.wanted = None


@dataclass(frozen=True)
class Tab:
    key: str
    mode: str
    name: str
    screen: type[Any]
    make: Callable[[], Any]


async def tour(
    app: Any, tabs: Sequence[Tab], home: Tab, rounds: int, label: str = ""
) -> dict[str, Timings]:
    """``rounds`` rounds (after one warm-up round) of: for each tab, a first visit from
    ``home`` and back, then a return to it and back. ``label`` is added to every row's name."""
    results: dict[str, Timings] = {}
    async with app.run_test(size=SIZE) as pilot:
        app.set_interval(HEARTBEAT_S, app.beat)
        await quiet(pilot)
        for round_no in range(rounds + 1):
            for tab in tabs:
                first = results.setdefault(f"{tab.name} · first visit{label}", Timings())
                back = results.setdefault(f"{tab.name} · return{label}", Timings())
                home_times = results.setdefault(f"{home.name} · return{label}", Timings())
                # A fresh screen: its mode is dropped (home is shown) and added back.
                await app.remove_mode(tab.mode)
                app.add_mode(tab.mode, tab.make)
                if getattr(app, "composes_ahead", False):
                    app.compose_ahead()  # as the app does after its first frame
                await quiet(pilot)
                scratch = Timings()
                await switch(pilot, tab.key, tab.screen, first if round_no else scratch)
                await switch(pilot, home.key, home.screen, home_times if round_no else scratch)
                await switch(pilot, tab.key, tab.screen, back if round_no else scratch)
                await switch(pilot, home.key, home.screen, scratch)
            log(f"round {round_no}/{rounds} done" + (" (warm-up)" if not round_no else ""))
    return results


def ops_tabs() -> tuple[list[Tab], Tab]:
    from aptien_ops.screens.app import SCREENS

    tabs = [Tab(t.key, t.mode, t.title, t.load(), t.screen) for t in SCREENS]
    return [t for t in tabs if t.mode != "dashboard"], tabs[0]


def ops_app(config: Path, compose_ahead: bool) -> Any:
    from aptien_ops.composition import open_console
    from aptien_ops.screens.app import OpsApp

    class Timed(Stopwatch, OpsApp):
        pass

    return Timed(open_console(config), cursor_blink=False, compose_ahead=compose_ahead)


def floor_app(widgets: int = 0) -> tuple[Any, list[Tab], Tab]:
    """Two empty screens (Header, Static, Footer), or with ``widgets`` more Statics in a
    vertical scroll: a bare Textual switch of the same widget count as a screen of ours."""
    from textual.app import App, ComposeResult
    from textual.binding import Binding
    from textual.containers import VerticalScroll
    from textual.screen import Screen
    from textual.widgets import Footer, Header, Static

    class Empty(Screen[None]):
        def compose(self) -> ComposeResult:
            yield Header()
            yield Static("Hello from the floor")
            if widgets:
                with VerticalScroll():
                    yield from (Static(f"line {n}") for n in range(widgets))
            yield Footer()

    class EmptyA(Empty):
        pass

    class EmptyB(Empty):
        pass

    class Floor(Stopwatch, App[None]):
        MODES = {"a": EmptyA, "b": EmptyB}
        DEFAULT_MODE = "a"
        BINDINGS = [Binding("1", "switch_mode('a')"), Binding("2", "switch_mode('b')")]

    name = f"{widgets} more widgets" if widgets else "empty"
    home = Tab("1", "a", f"{name}: screen A", EmptyA, EmptyA)
    return Floor(), [Tab("2", "b", f"{name}: screen B", EmptyB, EmptyB)], home


def as_the_tui_runs() -> None:
    """Collection as ``aptien-ops tui`` leaves it once the console is open
    (``CliState.console``): what was imported and built so far frozen out of it. Without
    this, every full collection of the app under test walks the benchmark's own imports and
    seeding too (60–230 ms pauses in a first visit, which the TUI does not have)."""
    gc.collect()
    gc.freeze()
    gc.enable()


def phase(args: argparse.Namespace, name: str) -> None:
    """Note the 1-min load as a part of the run starts (the machine is shared)."""
    load = os.getloadavg()[0]
    args.loads.append((name, load))
    log(f"{name}: load {load:.1f}")


def merge(into: dict[str, Timings], more: dict[str, Timings]) -> None:
    """Add the switches of ``more`` to those of the same rows in ``into``."""
    for name, timings in more.items():
        mine = into.setdefault(name, Timings())
        for f in fields(Timings):
            getattr(mine, f.name).extend(getattr(timings, f.name))


def floor_tour(widgets: int, rounds: int, label: str = "") -> dict[str, Timings]:
    floor, tabs, home = floor_app(widgets)
    as_the_tui_runs()
    return asyncio.run(tour(floor, tabs, home, rounds, label))


def during_a_run(
    config: Path, args: argparse.Namespace, names: list[str], widgets: int
) -> tuple[dict[str, Timings], dict[str, Timings]]:
    """The console's tour during a backup run, between two halves of the floors' (empty, and
    ``widgets`` more) during the same kind of run: each with a :class:`BackupLoop` in this
    process, the floors' on a console of their own. Returns the console's and the floors'
    switches; the runs' figures go into ``args.run``."""
    from aptien_ops.composition import open_console

    floors: dict[str, Timings] = {}
    loops: dict[str, list[BackupLoop]] = {"floor": [], "console": []}
    floor_console = open_console(config)
    try:

        def floors_half() -> None:
            phase(args, "floors during a run")
            with BackupLoop(floor_console, names) as loop:
                for extra in (0, widgets):
                    merge(floors, floor_tour(extra, args.run_rounds, RUN_LABEL))
            loops["floor"].append(loop)

        floors_half()
        app = ops_app(config, args.compose_ahead)
        tabs, home = ops_tabs()
        as_the_tui_runs()
        phase(args, "console during a run")
        try:
            with BackupLoop(app.services, names, to_backups_screen(app)) as loop:
                during = asyncio.run(tour(app, tabs, home, args.run_rounds, RUN_LABEL))
            loops["console"].append(loop)
        finally:
            app.services.close()
        floors_half()
    finally:
        floor_console.close()
    args.run = {side: [loop.figures() for loop in runs] for side, runs in loops.items()}
    return during, floors


def main(argv: list[str] | None = None) -> int:
    def more(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--run-rounds",
            type=int,
            default=RUN_ROUNDS,
            help="rounds of the tour during a backup run (0: none)",
        )
        parser.add_argument(
            "--compose-ahead",
            action="store_true",
            help="the app composes the other screens after its first frame (OpsApp option)",
        )

    args = catalog_bench_arguments(
        __doc__.splitlines()[0], ("sqlite", "postgresql"), argv, rounds=ROUNDS, more=more
    )
    os.environ.pop("APTIEN_OPS_OPERATOR", None)
    args.run, args.loads = None, []
    with catalog_workspace(args.backend, args.tenants) as space:
        args.backups = fill_backups(space.seeded.config)
        log(f"{args.backups} backups indexed")
        run_names = seed_run_tenants(space.seeded.config) if args.run_rounds else []
        phase(args, "floors")
        floors = floor_tour(0, args.rounds)
        app = ops_app(space.seeded.config, args.compose_ahead)
        tabs, home = ops_tabs()
        as_the_tui_runs()
        phase(args, "console")
        try:
            timings = asyncio.run(tour(app, tabs, home, args.rounds))
        finally:
            app.services.close()
        # A bare Textual switch between screens as big as ours (the median of their widgets).
        nodes = int(statistics.median(summary(n, t)["nodes"] for n, t in timings.items()))
        empty = max(summary(n, t)["nodes"] for n, t in floors.items())
        widgets = max(0, nodes - empty - 1)
        phase(args, "floor of the same size")
        floors.update(floor_tour(widgets, args.rounds))
        if args.run_rounds:
            during, floors_during = during_a_run(space.seeded.config, args, run_names, widgets)
            timings.update(during)
            floors.update(floors_during)
        rows = [summary(n, t) for n, t in timings.items()]
        floor_rows = [summary(n, t) for n, t in floors.items()]
        with_ratios(rows, floor_rows)
    for row in [*floor_rows, *rows]:
        print(json.dumps(row), flush=True)
    if args.run:
        print(json.dumps({"backup_runs": args.run}), flush=True)
    if not args.no_record:
        replace_section(START, END, section(rows, floor_rows, args))
    return 0 if all(r["paint_median_ms"] <= TARGET_MS for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
