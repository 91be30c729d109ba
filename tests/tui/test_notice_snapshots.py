"""The Notices screen, a notice's page, the draft form and the send dialog (its dry run) as an
operator sees them at 80x24. Review each SVG change before accepting it (``--snapshot-update``).

Deterministic by construction: the demo tenants and the notices written on a frozen clock (one
sent and updated, one drafted, one outage open-ended), a fixed OS account, no cursor blink,
every service call awaited.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from tui_helpers import FROZEN_NOW, ManualClock, keys

from aptien_ops.composition import Console
from aptien_ops.screens.app import OpsApp
from aptien_ops.services.op_notices import NoticeDraft

pytestmark = pytest.mark.tui

SnapCompare = Callable[..., bool]


def plant_notices(olga: Console) -> None:
    """A maintenance sent and updated, a change drafted, an open-ended outage sent."""
    day = timedelta(days=1)
    upgrade = olga.op_notices.draft(
        NoticeDraft(
            "maintenance",
            "Database upgrade on eu-sandbox-1",
            "Short read-only window.\nNothing to do for clients.",
            FROZEN_NOW + 6 * day,
            FROZEN_NOW + 6 * day + timedelta(hours=1),
            clusters=("eu-sandbox-1",),
        )
    ).id
    sending = olga.op_notice_sending
    sending.send(upgrade, ("email",))
    sending.update(upgrade, "scheduled", "Moved one hour later.")
    olga.op_notices.draft(
        NoticeDraft(
            "change", "New login page", "A new look.", FROZEN_NOW + 20 * day, everything=True
        )
    )
    outage = olga.op_notices.draft(
        NoticeDraft("outage", "US logins slow", "Investigating.", regions=("us",))
    ).id
    sending.send(outage, ("email",))


@pytest.fixture
def app_as(
    frozen: None, demo_tenants: None, open_as: Callable[..., Console]
) -> Callable[..., OpsApp]:
    plant_notices(open_as("olga"))

    def make(operator: str = "olga") -> OpsApp:
        return OpsApp(open_as(operator), clock=ManualClock(), cursor_blink=False)

    return make


def test_notices(snap_compare: SnapCompare, app_as: Callable[..., OpsApp]) -> None:
    run = keys("N", "down")  # the maintenance highlighted (latest start first)
    assert snap_compare(app_as(), terminal_size=(80, 24), run_before=run)


def test_notice_detail(snap_compare: SnapCompare, app_as: Callable[..., OpsApp]) -> None:
    run = keys("N", "down", "enter")  # the maintenance: sent, then updated
    assert snap_compare(app_as(), terminal_size=(80, 24), run_before=run)


def test_draft_notice_form(snap_compare: SnapCompare, app_as: Callable[..., OpsApp]) -> None:
    run = keys("N", "n")
    assert snap_compare(app_as(), terminal_size=(80, 24), run_before=run)


def test_send_dry_run(snap_compare: SnapCompare, app_as: Callable[..., OpsApp]) -> None:
    run = keys("N", "enter", "s")  # the drafted change, to every tenant
    assert snap_compare(app_as(), terminal_size=(80, 24), run_before=run)
