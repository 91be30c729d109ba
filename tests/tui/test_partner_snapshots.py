"""The Partners screen, a partner's detail and the assign dialog as an operator sees them, at
80x24 and at 60x20. Review each SVG change before accepting it (``--snapshot-update``).

Deterministic by construction: the sandbox's partner register seeded on a frozen clock over
the demo tenants, a fixed OS account, no cursor blink, every service call awaited.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tui_helpers import ManualClock, keys

from aptien_ops.composition import Console
from aptien_ops.screens.app import OpsApp

pytestmark = pytest.mark.tui

SnapCompare = Callable[..., bool]
SIZES = pytest.mark.parametrize("size", [(80, 24), (60, 20)], ids=["80x24", "60x20"])


@pytest.fixture
def app_as(
    frozen: None, partner_register: None, open_as: Callable[..., Console]
) -> Callable[..., OpsApp]:
    """Apps on the register seeded on the frozen clock (``frozen`` first: seeding reads it)."""

    def make(operator: str = "pat") -> OpsApp:
        return OpsApp(open_as(operator), clock=ManualClock(), cursor_blink=False)

    return make


@SIZES
def test_partners(
    snap_compare: SnapCompare,
    app_as: Callable[..., OpsApp],
    size: tuple[int, int],
) -> None:
    run = keys("0", "down", "down", "down", "down")  # meridian-advisory: lapsed
    assert snap_compare(app_as(), terminal_size=size, run_before=run)


@SIZES
def test_partner_detail(
    snap_compare: SnapCompare,
    app_as: Callable[..., OpsApp],
    size: tuple[int, int],
) -> None:
    run = keys("0", "down", "down", "down", "down", "enter")
    assert snap_compare(app_as(), terminal_size=size, run_before=run)


def test_assign_partner_dialog(snap_compare: SnapCompare, app_as: Callable[..., OpsApp]) -> None:
    assert snap_compare(app_as(), terminal_size=(80, 24), run_before=keys("2", "enter", "n"))
