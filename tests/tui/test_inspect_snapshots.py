"""The Logins and Audit tabs, find user and the "needs security" explanation at 80x24, as an
operator sees them. Review each SVG change before accepting it (``--snapshot-update``).

Deterministic by construction: a frozen clock and OS account, ``sandbox seed`` with a fixed seed
(metadata is a pure function of tenant, seed and now), payload keys with fixed ids, no cursor
blink, and every service call awaited before the picture. Every payload carries ``MARKER``,
and no picture may show it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from tui_helpers import ManualClock, keys

from aptien_ops.composition import Console
from aptien_ops.screens.app import OpsApp

pytestmark = pytest.mark.tui

SnapCompare = Callable[..., bool]
MARKER = "CANARY-tui-snapshots-5d1c9e"
SNAPSHOTS = Path(__file__).parent / "__snapshots__" / Path(__file__).stem


@pytest.fixture
def app_as(
    frozen: None, seed_tenants: Callable[..., list[str]], open_as: Callable[..., Console]
) -> Callable[..., OpsApp]:
    seed_tenants(marker=MARKER)

    def make(operator: str = "sam") -> OpsApp:
        return OpsApp(open_as(operator), clock=ManualClock(), cursor_blink=False)

    return make


def test_logins_tab(snap_compare: SnapCompare, app_as: Callable[..., OpsApp]) -> None:
    assert snap_compare(app_as(), terminal_size=(80, 24), run_before=keys("2", "enter", "l"))


def test_logins_tab_at_200x50(snap_compare: SnapCompare, app_as: Callable[..., OpsApp]) -> None:
    # The spare width goes to the e-mail and the IPv6 addresses, not all to one column.
    run = keys("2", "enter", "l", "f")
    assert snap_compare(app_as(), terminal_size=(200, 50), run_before=run)


def test_logins_failed_over_90_days_with_a_burst(
    snap_compare: SnapCompare, app_as: Callable[..., OpsApp]
) -> None:
    run = keys("2", "enter", "l", "slash", "text:90d", "enter", "f", "down")
    assert snap_compare(app_as(), terminal_size=(80, 24), run_before=run)


def test_audit_tab_with_the_detail_pane(
    snap_compare: SnapCompare, app_as: Callable[..., OpsApp]
) -> None:
    assert snap_compare(
        app_as(), terminal_size=(80, 24), run_before=keys("2", "enter", "a", "down", "down")
    )


def test_find_user_results(
    snap_compare: SnapCompare, app_as: Callable[..., OpsApp], open_as: Callable[..., Console]
) -> None:
    """The first tenant's first user, whom the platform also made a user of the second tenant."""
    admin = open_as(None)
    first, second = sorted(t.name for t in admin.tenants.list())
    with admin.ctx.store(admin.tenants.show(first).cluster or "").connect(first) as conn:
        email = str(conn.execute("SELECT email FROM users ORDER BY id LIMIT 1").fetchone()[0])
    with admin.ctx.store(admin.tenants.show(second).cluster or "").connect(second) as conn:
        conn.execute(
            "INSERT INTO users (email, display_name, created_at)"
            " VALUES (?, 'Pat', '2025-01-02T00:00:00.000000Z')",
            (email,),
        )
        conn.commit()
    assert snap_compare(
        app_as(), terminal_size=(80, 24), run_before=keys("7", f"text:{email}", "enter")
    )


def test_logins_need_the_security_role(
    snap_compare: SnapCompare, app_as: Callable[..., OpsApp]
) -> None:
    assert snap_compare(app_as("vic"), terminal_size=(80, 24), run_before=keys("2", "enter", "l"))


def test_no_snapshot_shows_the_canary() -> None:
    pictures = sorted(SNAPSHOTS.glob("*.svg"))
    assert len(pictures) == 6
    for picture in pictures:
        assert MARKER not in picture.read_text(encoding="utf-8"), picture.name
