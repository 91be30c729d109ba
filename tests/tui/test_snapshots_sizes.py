"""Every screen at 60x20, the smallest terminal the console is laid out for, and the screens
with the widest tables at 200x50. Set up as test_snapshots.py (its fixtures): review each SVG
change before accepting it (``pytest tests/tui --snapshot-update``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from test_snapshots import SnapCompare, app_as, busy_log, fleet
from tui_helpers import keys

from aptien_ops.composition import Console
from aptien_ops.screens.app import OpsApp

pytestmark = pytest.mark.tui

__all__ = ["app_as", "fleet"]  # fixtures used by name

SCREENS = {
    "dashboard": ("ada", ()),
    "tenants": ("ada", ("2",)),
    "tenant-detail": ("ada", ("2", "enter")),
    "operators": ("ada", ("3",)),
    "approvals": ("ada", ("4",)),
    "ops-log": ("ada", ("5",)),
    "fleet": ("ada", ("6",)),
    "find-user": ("sam", ("7",)),
    "backups": ("olga", ("8",)),
    "policy": ("ada", ("9",)),
    "notices": ("olga", ("N",)),
    "jobs": ("olga", ("J",)),
    "help": ("ada", ("question_mark",)),
}


SIZES = [(screen, (60, 20)) for screen in SCREENS] + [
    (screen, (200, 50)) for screen in ("dashboard", "ops-log")
]


@pytest.mark.parametrize(
    "screen, size", SIZES, ids=[f"{screen}-{w}x{h}" for screen, (w, h) in SIZES]
)
def test_screen_at_size(
    snap_compare: SnapCompare,
    app_as: Callable[..., OpsApp],
    open_as: Callable[..., Console],
    screen: str,
    size: tuple[int, int],
) -> None:
    operator, pressed = SCREENS[screen]
    for _ in range(4 if screen == "ops-log" else 0):  # the catalog's path stays off 50 rows
        busy_log(open_as)
    assert snap_compare(app_as(operator), terminal_size=size, run_before=keys(*pressed))
