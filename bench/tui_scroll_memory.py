"""Peak memory of the TUI while the operator scrolls a tenant's logins from the first row to the
100,000th, against a minimal Textual app.

Target (issue 5): the process stays under 250 MB max RSS. One SQLite tenant of a sandbox is
seeded with 100,000 login events by the platform's own seeding code
(``backends.sandbox_platform.seed_tenant``, as ``sandbox seed`` does). A generated script runs
``OpsApp(open_console(cfg))`` headless at 80×24 (``App.run_test``) as the security operator
``sam``, opens the tenant's Logins tab and presses ``End`` until the cursor is on row
100,000 — every press moves to the last row read, and the tab reads the next page of 200 by
cursor, keeping at most 2,000 rows — then checks the row and exits. GNU time
(``/usr/bin/time -v``, ``harness.peak_rss_kib``) measures the whole process from outside.

Floor: a minimal Textual app (Header, Static, Footer) run the same way, exiting after its first
frame: what any Textual process costs. The row in ``docs/benchmarks.md`` puts megabytes where
the table says seconds (the benchmark's name says so); pass means ours < 250 MB, so the target
column is 250 MB over the floor. A short section below the table explains the figure.

    .venv/bin/python bench/tui_scroll_memory.py
    .venv/bin/python bench/tui_scroll_memory.py --logins 20000 --rounds 1 --no-record
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness import (
    MINIMAL_APP_CLASS,
    BenchError,
    bench_env,
    log,
    machine,
    peak_rss_kib,
    record_result,
    replace_section,
)

ROOT = Path(__file__).resolve().parent.parent
TARGET_MB = 250.0
SIZE = (80, 24)
TENANT = "scroll-bench"
START, END = "<!-- tui-scroll-memory:start -->", "<!-- tui-scroll-memory:end -->"

SEED = f"""\
import sys
from pathlib import Path

sys.path.insert(0, {str(ROOT / "tests")!r})
from tenant_seeding import seeded

from aptien_ops.composition import open_console
from aptien_ops.sandbox import write_sandbox_config

config, _ = write_sandbox_config(Path(sys.argv[1]))
console = open_console(config)
seeded(console, {TENANT!r}, users=500, events=1000, logins=int(sys.argv[2]), seed=5)
console.close()
print(config)
"""

MINIMAL_APP = f"""\
import asyncio

{MINIMAL_APP_CLASS}

async def main() -> None:
    async with Minimal().run_test(size={SIZE!r}) as pilot:
        await pilot.pause()


asyncio.run(main())
"""

#: Presses End until the cursor is on the wanted row, letting each page arrive before the next
#: press (as an operator holding End would, a page at a time).
OPS_APP = f"""\
import asyncio
import json
import resource
import sys

from aptien_ops.composition import open_console
from aptien_ops.screens.app import OpsApp
from aptien_ops.screens.inspect_pane import EventBrowser
from aptien_ops.screens.tenant_detail import TenantDetailScreen


async def idle(pilot, browser=None) -> None:
    while any(w.is_running for w in pilot.app.workers) or (browser is not None and browser.pending):
        await pilot.pause(0.001)
    await pilot.pause()


async def main(config: str, wanted: int) -> dict:
    app = OpsApp(open_console(config), cursor_blink=False)
    async with app.run_test(size={SIZE!r}) as pilot:
        await idle(pilot)
        await pilot.press("2")
        await idle(pilot)
        await pilot.press("enter")
        await idle(pilot)
        assert isinstance(app.screen, TenantDetailScreen), app.screen
        await pilot.press("l")
        logins = app.screen.query_one("#logins-browser", EventBrowser)
        await idle(pilot, logins)
        presses, largest = 0, 0
        window = logins.window
        while logins.table.cursor + 1 < wanted and (
            window.has_after or logins.table.cursor + 1 < window.end
        ):
            await pilot.press("end")
            await idle(pilot, logins)
            presses += 1
            largest = max(largest, len(window))
        result = {{"row": logins.table.cursor + 1, "presses": presses, "largest_window": largest,
                  "window": [window.first + 1, window.end], "cursors_kept": window.cursors_kept,
                  "oldest_reached": not window.has_after,
                  "self_maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}}
    app.services.close()
    return result


print(json.dumps(asyncio.run(main(sys.argv[1], int(sys.argv[2])))))
"""


def scrolled(argv: list[str], env: dict[str, str], wanted: int) -> dict[str, Any]:
    """Run the scroll once, unmeasured, and check it reached row ``wanted`` (the oldest login).

    Raises: BenchError if it failed or stopped short.
    """
    proc = subprocess.run(argv, capture_output=True, env=env, check=False)
    if proc.returncode != 0:
        raise BenchError(
            f"the scroll script exited {proc.returncode}: {proc.stderr.decode()[-2000:]}"
        )
    result: dict[str, Any] = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    if result["row"] != wanted or not result["oldest_reached"]:
        raise BenchError(f"the scroll stopped short of row {wanted}: {result}")
    return result


def write_section(result: dict[str, Any]) -> None:
    """Replace this benchmark's explanation below the results table (the row says the rest)."""
    scroll = result["scroll"]
    first, last = scroll["window"]
    section = f"""{START}
## TUI: scrolling 100,000 logins in bounded memory

`bench/tui_scroll_memory.py` — one SQLite tenant seeded with {result["logins"]:,} login events by
`seed_tenant`; `OpsApp` headless at 80×24 as `sam`, Logins tab, `End` pressed
{result["scroll"]["presses"]} times until the cursor is on row {result["logins"]:,} (the oldest
login), each press reading the next page of 200 by cursor. Peak RSS of the whole process from
`/usr/bin/time -v`, median of {result["rounds"]}; the floor is a minimal Textual app (Header,
Static, Footer) run the same way. The results table's row puts megabytes in its seconds columns.

| process | peak RSS (MB) |
| --- | ---: |
| ours: scroll to row {result["logins"]:,} | {result["ours"]["median_s"]:.1f} |
| floor: minimal Textual app | {result["floor"]["median_s"]:.1f} |
| target | < {TARGET_MB:.0f} |

The window held at most {scroll["largest_window"]:,} rows (rows {first:,}–{last:,}
at the end) and kept {scroll["cursors_kept"]} page cursors. Run {result["date"]} UTC on
{result["machine"]}.

    .venv/bin/python bench/tui_scroll_memory.py
{END}
"""
    replace_section(START, END, section)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-record", action="store_true", help="do not touch docs/benchmarks.md")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="aptien-bench-") as tmp_name:
        tmp = Path(tmp_name)
        env = bench_env(tmp, APTIEN_OPS_OPERATOR="sam")
        seed, minimal, ours = tmp / "seed.py", tmp / "minimal_app.py", tmp / "ops_scroll.py"
        seed.write_text(SEED, encoding="utf-8")
        minimal.write_text(MINIMAL_APP, encoding="utf-8")
        ours.write_text(OPS_APP, encoding="utf-8")
        started = time.perf_counter()
        seeding = subprocess.run(
            [sys.executable, str(seed), str(tmp / "sbx"), str(args.logins)],
            capture_output=True,
            env=bench_env(tmp),
            check=False,
        )
        if seeding.returncode != 0:
            raise BenchError(f"seeding failed: {seeding.stderr.decode()[-2000:]}")
        config = seeding.stdout.decode().strip().splitlines()[-1]
        log(f"seeded {args.logins:,} logins in {time.perf_counter() - started:.1f} s")
        ours_argv = [sys.executable, str(ours), config, str(args.logins)]
        started = time.perf_counter()
        scroll = scrolled(ours_argv, env, args.logins)  # warm-up, and the check of what it does
        log(f"scrolled to row {scroll['row']:,} in {time.perf_counter() - started:.1f} s: {scroll}")
        ours_mb: list[float] = []
        floor_mb: list[float] = []
        for _ in range(args.rounds):
            ours_mb.append(peak_rss_kib(ours_argv, env=env) / 1024)
            floor_mb.append(peak_rss_kib([sys.executable, str(minimal)], env=env) / 1024)
            log(f"peak RSS ours {ours_mb[-1]:.1f} MB, floor {floor_mb[-1]:.1f} MB")
    ours_median, floor_median = statistics.median(ours_mb), statistics.median(floor_mb)
    result: dict[str, Any] = {
        "benchmark": f"TUI scroll to row {args.logins:,}: peak RSS, MB (not s)",
        "backend": "sqlite",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "rounds": args.rounds,
        "ours": {
            "median_s": round(ours_median, 1),
            "min_s": round(min(ours_mb), 1),
            "times_s": ours_mb,
        },
        "floor": {
            "median_s": round(floor_median, 1),
            "min_s": round(min(floor_mb), 1),
            "times_s": floor_mb,
        },
        "ratio": round(ours_median / floor_median, 3),
        "ratio_of_minima": round(min(ours_mb) / min(floor_mb), 3),
        # The target is absolute; as a ratio over this run's floor it reads the same.
        "target_ratio": round(TARGET_MB / floor_median, 2),
        "target_mb": TARGET_MB,
        "pass": ours_median < TARGET_MB,
        "machine": machine(),
        "logins": args.logins,
        "scroll": scroll,
    }
    print(json.dumps(result), flush=True)
    if not args.no_record:
        record_result(result)
        write_section(result)
    return 0 if result["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
