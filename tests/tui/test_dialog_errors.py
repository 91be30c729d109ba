"""A change made from a dialog keeps the dialog open until it is done: "working…" while the
service runs, and a refusal or failure shown inside it (never a toast behind it), for the
operator to change the answer or back out with Esc."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from textual.widgets import Input, Static
from tui_helpers import FROZEN_NOW, console_app, settle, story, until
from waiting import HANG_GUARD_S

from aptien_ops.composition import Console
from aptien_ops.errors import Conflict, PendingApproval
from aptien_ops.screens.modals import ConfirmModal, OpsModal

pytestmark = pytest.mark.tui

FAILURE = "the catalog is busy: nothing was changed"

CASES = [
    # (operator, keys to the dialog, typed in its field, keys that answer, the service called)
    ("ada", "3 a", "jdoe", "enter tab enter", "operators.add"),
    ("ada", "3 @pat plus", "", "enter", "operators.grant"),
    ("ada", "3 @pat x enter", "", "y", "operators.revoke"),
    ("ada", "4 a", "", "y", "approvals.approve"),
    ("ada", "4 x", "not now", "enter", "approvals.reject"),
    ("ada", "2 enter s", "unpaid invoices", "enter", "lifecycle.suspend"),
    ("ada", "2 enter c", "", "enter", "lifecycle.cancel"),
    ("ada", "2 down down down enter i", "", "y", "lifecycle.reinstate"),
    ("ada", "2 down down down enter p", "gotham-legal", "enter", "lifecycle.purge"),
    ("ada", "6 m", "", "y", "fleet.migrate"),
]


async def open_dialog(pilot: Any, path: str) -> OpsModal[Any]:
    """Press ``path`` (``@pat`` highlights pat's row) and return the dialog it opens."""
    from textual.widgets import DataTable

    for step in path.split():
        if step.startswith("@"):
            table = pilot.app.screen.query_one(DataTable)
            table.move_cursor(row=table.get_row_index(step[1:]))
        else:
            await pilot.press(step)
        await settle(pilot)
    dialog = pilot.app.screen
    assert isinstance(dialog, OpsModal), dialog
    return dialog


async def answer(pilot: Any, dialog: OpsModal[Any], typed: str, keys: str) -> None:
    if typed:
        field = dialog.query(Input).first()
        field.value = typed
        field.focus()
    for key in keys.split():
        await pilot.press(key)
        await pilot.pause()


def retained(console: Console, name: str) -> None:
    """``name`` (cancelled) restorable for 30 more days, so that it may be reinstated."""
    with console.ctx.catalog.transaction() as tx:
        tenant = tx.tenants.get(name, for_update=True)
        assert tenant is not None
        tx.tenants.update(replace(tenant, retain_until=FROZEN_NOW + timedelta(days=30)), by="ada")


def problem_of(dialog: OpsModal[Any]) -> str:
    return str(dialog.query_one("#modal-problem", Static).content)


@pytest.fixture
def requested(open_as: Callable[..., Console], demo_tenants: None) -> None:
    """A request of opsadmin's for ada to decide."""
    with pytest.raises(PendingApproval):
        open_as(None).operators.grant("sam", "admin")


@pytest.mark.parametrize(
    "operator, path, typed, keys, service",
    CASES,
    ids=[f"{case[-1]}-{case[1].split()[-1]}" for case in CASES],
)
@story
async def test_a_failed_change_is_shown_in_its_dialog_which_stays_open(
    open_as: Callable[..., Console],
    frozen: None,
    requested: None,
    monkeypatch: pytest.MonkeyPatch,
    operator: str,
    path: str,
    typed: str,
    keys: str,
    service: str,
) -> None:
    console = open_as(operator)
    group, method = service.split(".")
    release, called = threading.Event(), threading.Event()

    def fails(*_args: object, **_kwargs: object) -> object:
        called.set()
        release.wait(timeout=HANG_GUARD_S)
        raise Conflict(FAILURE)

    monkeypatch.setattr(getattr(console, group), method, fails)
    if service == "lifecycle.reinstate":
        retained(console, "gotham-legal")
    async with console_app(console) as (app, pilot):
        dialog = await open_dialog(pilot, path)
        await answer(pilot, dialog, typed, keys)
        await until(pilot, called.is_set, "the service call", workers=False)
        assert app.screen is dialog and dialog.working
        assert problem_of(dialog).startswith("working…")
        await pilot.press("escape")  # the change is under way: the dialog waits for it
        await pilot.pause()
        assert app.screen is dialog
        release.set()
        await settle(pilot)
        assert app.screen is dialog and not dialog.working  # still open, to answer again
        assert problem_of(dialog) == f"✗ {FAILURE}"
        assert app.notices == []  # and no toast
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, OpsModal)


@story
async def test_a_request_decided_meanwhile_closes_the_approve_dialog_saying_what_changed(
    open_as: Callable[..., Console], requested: None
) -> None:
    async with console_app(open_as("ada"), screen="4") as (app, pilot):
        dialog = await open_dialog(pilot, "a")
        open_as(None).approvals.reject(1, "decided elsewhere")  # another operator, meanwhile
        await answer(pilot, dialog, "", "y")
        await settle(pilot)
        changed = app.screen
        assert isinstance(changed, ConfirmModal) and changed.heading == "Changed meanwhile"
        assert changed.question.startswith(
            "approval #1 changed since you read it (version 1, now 2): it is now rejected"
        )
        assert dialog not in app.screen_stack
        assert app.notices == []


@story
async def test_a_change_that_succeeds_closes_its_dialog_and_says_so(
    open_as: Callable[..., Console], provisioned: Callable[..., str]
) -> None:
    provisioned("acme-gmbh", "DE")
    async with console_app(open_as("ada"), screen="2") as (app, pilot):
        dialog = await open_dialog(pilot, "enter s")
        await answer(pilot, dialog, "unpaid invoices", "enter")
        await settle(pilot)
        assert not isinstance(app.screen, OpsModal), problem_of(dialog)
        assert app.notices_of("information") == [
            "acme-gmbh suspended: its logins stop; backups go on"
        ]
