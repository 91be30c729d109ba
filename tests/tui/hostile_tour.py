"""Run by ``test_terminal_safety.py`` under a pseudo-terminal: the console as the security
officer sam on a sandbox full of hostile text (``hostile_data``), through every screen that
shows it, then quit.

``python hostile_tour.py CONFIG REPORT``: writes to REPORT (JSON) the screens it reached and,
for each, whether the planted text was on it, escaped, with its markup as typed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from tui_helpers import screen_text, settle

from aptien_ops.composition import open_console
from aptien_ops.screens.app import OpsApp

from hostile_data import VICTIM, hostile

#: (what, keys to press first (the app settles after each group), rows to walk down) of each
#: stop; the app's number keys reach every screen from every other.
STOPS: tuple[tuple[str, tuple[tuple[str, ...], ...], int], ...] = (
    ("tenants", (("2",),), 0),
    ("tenant detail", (("enter",),), 0),
    ("logins", (("l",),), 3),
    ("audit", (("a",),), 1),
    ("find user", (("7",), (*VICTIM, "enter")), 0),
    ("approvals", (("4",), ("f",)), 2),
    ("ops log", (("5",),), 20),
    ("operators", (("3",),), 8),
    ("partners", (("0",),), 0),
    ("partner detail", (("enter",),), 0),
    ("incidents", (("escape",), ("exclamation_mark",)), 0),
    ("incident detail", (("enter",),), 0),
)


async def tour(pilot: Pilot[None], report: dict[str, Any]) -> None:
    await settle(pilot)
    for what, groups, rows in STOPS:
        for keys in groups:
            await pilot.press(*keys)
            await settle(pilot)
        seen = [screen_text(pilot.app)]
        for _ in range(rows):
            await pilot.press("down")
            await settle(pilot)
            seen.append(screen_text(pilot.app))
        text = "\n".join(seen)
        report["stops"][what] = {
            "screen": type(pilot.app.screen).__name__,
            "escaped": "\\x1b]52;c;" in text or "\\x1b]0;pwned" in text,
            "markup as typed": "markup[/]" in text and "[link=https://evil.example]" in text,
        }
    # A toast that quotes data, asked for with markup: shown plain and escaped all the same.
    pilot.app.notify(hostile("toast"), title=hostile("title"), markup=True)
    await settle(pilot)
    report["toast"] = "toast:\\x1b]52;c;" in screen_text(pilot.app)
    report["done"] = True
    pilot.app.exit()


def main(config: Path, out: Path) -> None:
    report: dict[str, Any] = {"stops": {}, "done": False}
    console = open_console(config, env={"APTIEN_OPS_OPERATOR": "sam"})
    try:
        OpsApp(console, cursor_blink=False).run(auto_pilot=lambda pilot: tour(pilot, report))
    finally:
        console.close()
        out.write_text(json.dumps(report))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
