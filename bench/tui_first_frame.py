"""The TUI's start with 10,000 tenants against a minimal Textual app: time to the first frame,
and time until the dashboard shows the catalog's data.

``aptien-ops tui`` draws its first frame without reading the catalog (the header's roles say
"…", the dashboard's cards "loading…"), then connects the catalog in a worker and fills the
cards. Three processes are timed from start to exit, each doing what ``run_tui`` does:

- ``first frame``: the app exits right after its first frame (the catalog connection that
  follows it is left out, as it would make the process wait for it);
- ``tenant counts``: it exits after the repaint that follows the dashboard showing the tenant
  counts read from the catalog (``DashboardScreen.FleetShown``), the first real data (the
  backups card, read after that repaint, is left out);
- ``all cards``: the same once every card is filled (backups last: what is due is worked out
  tenant by tenant).

The floor is a minimal Textual app (Header, Static, Footer) that exits right after its first
frame; the three alternate with it in one run. Target (first frame): ≤ 1.5× the floor; the
other two are reported against the same floor, without a target.

    .venv/bin/python bench/tui_first_frame.py
    .venv/bin/python bench/tui_first_frame.py --backend postgresql --rounds 21

"After the frame" is ``call_after_refresh(exit)``: Textual runs it once the screen has been
repainted (headless still lays out and renders every widget; it only skips writing escape
codes to a terminal). Prints one JSON object per measurement on stdout and updates
``docs/benchmarks.md``; exits 1 if the first frame misses the target.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

from catalog_seed import catalog_bench_arguments, catalog_workspace
from harness import MINIMAL_APP_CLASS, BenchError, Measured, Run, compare_several

TARGET_RATIO = 1.5
SIZE = (80, 24)
MILESTONES = ("first frame", "tenant counts", "all cards")

MINIMAL_APP = f"""\
{MINIMAL_APP_CLASS}
    def on_mount(self) -> None:
        # Runs once the screen has been refreshed: the first frame is rendered.
        self.call_after_refresh(self.exit)


Minimal().run(headless=True, size={SIZE!r})
"""

#: The real start of ``aptien-ops tui`` (``aptien_ops.cli.tui.run_tui``), headless: every
#: command loaded, then collection off, as ``aptien_ops.cli.main`` does; then the app
#: imported and the console opened with its catalog deferred, as ``run_tui`` does.
PRELUDE = """\
import gc
import json
import sys

import aptien_ops.cli.main  # noqa: F401 - the real process loads every command first
from aptien_ops.cli.state import CliState

gc.disable()  # as aptien_ops.cli.main.main() does first thing

state = CliState(config=sys.argv[1])
from aptien_ops.screens.app import OpsApp  # noqa: E402

console = state.console(defer_catalog=True)
"""

#: Exits after the first frame; the connection that follows it is left out.
FIRST_FRAME = """\
class Measured(OpsApp):
    shown = None

    def _connect(self):
        pass

    def on_mount(self):
        self.call_after_refresh(self._after_frame)

    def _after_frame(self):
        # The dashboard, with no fleet read yet: its cards say "loading…".
        self.shown = None if self.screen.fleet is None else repr(self.screen.fleet)
        self.exit()
"""

#: The backups card is read after the counts' frame: left out, as it would make the process
#: wait for it before exiting.
LEAVE_OUT_BACKUPS = """\
from aptien_ops.screens.dashboard import DashboardScreen

DashboardScreen._read_backups = lambda self: None
"""

#: Exits after the repaint that follows the dashboard showing the catalog's data: WANTED is
#: ``counts`` (the tenants card, the first the console fills) or ``complete`` (every card).
DASHBOARD_DATA = """\
class Measured(OpsApp):
    shown = None

    def on_dashboard_screen_fleet_shown(self):
        fleet = self.screen.fleet
        if fleet.complete() if WANTED == "complete" else isinstance(fleet.counts, list):
            self.call_after_refresh(self._after_frame)

    def _after_frame(self):
        counts = self.screen.fleet.counts
        self.shown = sum(c.count for c in counts) if isinstance(counts, list) else repr(counts)
        self.exit()
"""

RUN = f"""\
app = Measured(console)
app.run(headless=True, size={SIZE!r})
state.close()
print(json.dumps({{"tenants_shown": app.shown, "catalog_ready": app.catalog_ready}}))
"""


def script(milestone: str) -> str:
    """The generated script that times the start to ``milestone``."""
    if milestone == "first frame":
        body = FIRST_FRAME
    elif milestone == "tenant counts":
        body = f"WANTED = 'counts'\n{LEAVE_OUT_BACKUPS}\n{DASHBOARD_DATA}"
    else:
        body = f"WANTED = 'complete'\n\n{DASHBOARD_DATA}"
    return "\n".join((PRELUDE, body, RUN))


def _expect(milestone: str, count: int) -> Callable[[bytes], None]:
    """What the frame must show: placeholders (first frame), or all ``count`` tenants."""
    want = None if milestone == "first frame" else count

    def check(stdout: bytes) -> None:
        try:
            report = json.loads(stdout.strip().splitlines()[-1])
            shown, ready = report["tenants_shown"], report["catalog_ready"]
        except (ValueError, IndexError, KeyError, TypeError) as exc:
            raise BenchError(f"the dashboard script printed no report: {exc}") from None
        if shown != want:
            raise BenchError(f"{milestone}: showed {shown!r} tenants, not {want!r}")
        if milestone == "first frame" and ready:
            # A console opened before the app (a production catalog without its key yet) is
            # correct, but not the start measured here.
            raise BenchError("the catalog was connected before the first frame")

    return check


def main(argv: list[str] | None = None) -> int:
    args = catalog_bench_arguments(__doc__.splitlines()[0], ("sqlite", "postgresql"), argv)
    with catalog_workspace(args.backend, args.tenants) as space:
        tmp, env = space.tmp, space.env
        minimal = tmp / "minimal_app.py"
        minimal.write_text(MINIMAL_APP, encoding="utf-8")
        measured = []
        for milestone in MILESTONES:
            path = tmp / f"ops_{milestone.replace(' ', '_')}.py"
            path.write_text(script(milestone), encoding="utf-8")
            measured.append(
                Measured(
                    f"TUI {milestone}",
                    [sys.executable, str(path), str(space.seeded.config)],
                    Run(env=env, cwd=tmp, check_stdout=_expect(milestone, args.tenants)),
                    TARGET_RATIO if milestone == "first frame" else None,
                )
            )
        results = compare_several(
            measured,
            [sys.executable, str(minimal)],
            rounds=args.rounds,
            warmup=1,
            backend=args.backend,
            floor_run=Run(env=env, cwd=tmp),
            extra={"tenants": args.tenants, "size": list(SIZE), "setup_s": round(space.setup_s, 2)},
            record=not args.no_record,
        )
    return 0 if all(r["pass"] is not False for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
