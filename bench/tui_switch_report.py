"""What ``bench/tui_switch.py`` reports: each screen's medians and spreads, as ratios to the
two floors measured in the same run, and its section of ``docs/benchmarks.md``."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime
from typing import Any

from harness import machine

TARGET_MS = 100.0
RUN_LABEL = " (during a run)"
START, END = "<!-- tui-switch:start -->", "<!-- tui-switch:end -->"


def summary(name: str, t: Any) -> dict[str, Any]:
    """One row: the medians (and min–max) of a screen's ``Timings``."""
    return {
        "screen": name,
        "paint_median_ms": round(statistics.median(t.paint), 1),
        "paint_min_ms": round(min(t.paint), 1),
        "paint_max_ms": round(max(t.paint), 1),
        "paint_cpu_median_ms": round(statistics.median(t.paint_cpu), 1),
        "paint_queued_median_ms": round(statistics.median(t.paint_queued), 1),
        "data_median_ms": round(statistics.median(t.data), 1),
        "stall_median_ms": round(statistics.median(t.stall), 1),
        "stall_min_ms": round(min(t.stall), 1),
        "stall_max_ms": round(max(t.stall), 1),
        "nodes": int(statistics.median(t.nodes)),
        "rounds": len(t.paint),
    }


def floor_of(screen: str, floor: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    """The row of floor ``name`` a row of ours is set beside: switching to its screen B (first
    visit or return) for a screen reached from the dashboard, back to A for the dashboard; a
    row during a run beside the floor's during a run (when the run measured one)."""
    label = RUN_LABEL if screen.endswith(RUN_LABEL) else ""
    kind = screen.split(" · ")[1].removesuffix(RUN_LABEL)
    wanted = (
        f"{name}: screen A · return"
        if screen.startswith("Dashboard")
        else f"{name}: screen B · {kind}"
    )
    return floor.get(wanted + label, floor[wanted])


def with_ratios(rows: list[dict[str, Any]], floor: list[dict[str, Any]]) -> None:
    """Add to each row of ours its paint, paint CPU and stall medians as ratios to the empty
    floor's (``paint_ratio``…) and to the floor of as many widgets (``…_same``)."""
    floors = {r["screen"]: r for r in floor}
    same = next(r["screen"].split(":")[0] for r in floor if "more widgets" in r["screen"])
    for r in rows:
        for suffix, name in (("", "empty"), ("_same", same)):
            f = floor_of(r["screen"], floors, name)
            for what in ("paint", "paint_cpu", "stall"):
                r[f"{what}_ratio{suffix}"] = round(
                    r[f"{what}_median_ms"] / max(f[f"{what}_median_ms"], 0.1), 2
                )


def _spread(r: dict[str, Any], what: str) -> str:
    return f"{r[f'{what}_median_ms']:.0f} ({r[f'{what}_min_ms']:.0f}–{r[f'{what}_max_ms']:.0f})"


def _loop_line(side: str, loops: list[dict[str, Any]]) -> str:
    backups = sum(r["backups"] for r in loops)
    seconds = sum(r["seconds"] for r in loops)
    per_s = max(r["progress_per_s"] for r in loops)
    cpu = ", ".join(f"{r['process_cpu_per_s']:.2f}" for r in loops)
    return (
        f"{side}: {backups} backups in {seconds:.0f} s, at most {per_s:.0f} progress"
        f" callbacks a second, the process's CPU {cpu} s per s"
    )


def _during_a_run(args: Any) -> list[str]:
    """What the rows "during a run" are set beside, and what the runs did."""
    if not getattr(args, "run", None):
        return []
    runs = "; ".join(_loop_line(side, loops) for side, loops in args.run.items())
    loads = " · ".join(f"{name} {load:.1f}" for name, load in args.loads)
    return [
        "**During a run**, the same two floors are toured with the same backup run going on in"
        " their process (the console's own pipeline backing up the same sandbox tenants over"
        " and over in a thread, on a console of the floors' own), before and after the"
        " console's tour during a run; their rows say `(during a run)`, and the console's rows"
        " during a run are set beside them (× empty, × same). Beside the console the run hands"
        " its progress to the Backups screen as the screen's worker does. Backup runs: "
        f"{runs}. Load (1-min) at the start of each part: {loads}. Data during a run is"
        " mostly the harness: Pilot's pauses wait for the process to go idle (up to 1 s"
        " each), which a running backup never lets it.",
        "",
    ]


def section(rows: list[dict[str, Any]], floor: list[dict[str, Any]], args: Any) -> str:
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
    lines = [
        START,
        "## TUI: key press to the new screen's first paint (`bench/tui_switch.py`)",
        "",
        f"{date} UTC · {args.tenants:,} tenants and {args.backups:,} indexed backups on"
        f" {args.backend} · {machine()} · 80×24 headless · {args.rounds} rounds each ·"
        f" target: median ≤ {TARGET_MS:.0f} ms. Two floors, in the same harness and run:"
        " the same key press switching between two empty Textual screens (Header, Static,"
        " Footer; A → B, first visit and return; B → A), and between two screens with as"
        " many widgets as the median screen of ours (Statics in a scroll). Paint: key press"
        " until the first frame of the new screen that Textual writes (`App._display`"
        " outside a held batch: laid out and rendered, placeholders shown); median"
        " (min–max) over the rounds. CPU: the UI thread's CPU time within that paint (what"
        " the switch costs the app, whatever else the machine runs). Core wait: of the"
        " paint, how long the UI thread was ready to run but waited for a core (Linux"
        " schedstat); the rest beyond its CPU is waiting for the interpreter lock or for the"
        " event loop's next turn. Stall: the longest"
        " the event loop did not run a 5 ms heartbeat during the switch and its reads"
        " (filling a table, a collection, waiting for the interpreter lock while a worker"
        " reads). × empty / × same: the median's ratio to the empty floor's and to the"
        " floor of the same widget count. Data: until the screen's reads have come back"
        " and been shown. Widgets: the screen's DOM nodes.",
        "",
        *_during_a_run(args),
        f"    .venv/bin/python bench/tui_switch.py --rounds {args.rounds}"
        + (f" --run-rounds {args.run_rounds}" if args.run_rounds != 2 else ""),
        "",
        "| screen · switch | widgets | paint ms | × empty | × same | pass | paint CPU ms"
        " | CPU × same | core wait ms | stall ms | × empty | × same | data ms |",
        "| --- |" + " ---: |" * 4 + " --- |" + " ---: |" * 7,
    ]
    for r in floor:
        lines.append(
            f"| floor: {r['screen']} | {r['nodes']} | {_spread(r, 'paint')} | — | — | —"
            f" | {r['paint_cpu_median_ms']:.0f} | — | {r['paint_queued_median_ms']:.0f}"
            f" | {_spread(r, 'stall')} | — | —"
            f" | {r['data_median_ms']:.0f} |"
        )
    for r in sorted(rows, key=lambda r: r["screen"].endswith(RUN_LABEL)):
        verdict = "yes" if r["paint_median_ms"] <= TARGET_MS else "**no**"
        lines.append(
            f"| {r['screen']} | {r['nodes']} | {_spread(r, 'paint')}"
            f" | {r['paint_ratio']:.1f}× | {r['paint_ratio_same']:.1f}× | {verdict}"
            f" | {r['paint_cpu_median_ms']:.0f} | {r['paint_cpu_ratio_same']:.1f}×"
            f" | {r['paint_queued_median_ms']:.0f}"
            f" | {_spread(r, 'stall')} | {r['stall_ratio']:.1f}× | {r['stall_ratio_same']:.1f}×"
            f" | {r['data_median_ms']:.0f} |"
        )
    lines.append(END)
    return "\n".join(lines)
