"""People and approvals through the TUI: add, grant, revoke, and four-eyes admin grants."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.widgets import DataTable
from tui_helpers import console_app, footer, pick_role, select_operator, settle, story

from aptien_ops.composition import Console
from aptien_ops.domain import ApprovalState
from aptien_ops.errors import PendingApproval
from aptien_ops.screens.approvals import ApprovalsScreen
from aptien_ops.screens.modals import AddOperatorModal, ConfirmModal, ReasonModal
from aptien_ops.screens.operators import OperatorsScreen

pytestmark = pytest.mark.tui


def roles_of(console: Console, name: str) -> frozenset[str]:
    return next(o for o in console.operators.list() if o.name == name).roles


def request_admin_for_sam(console: Console) -> int:
    with pytest.raises(PendingApproval) as pending:
        console.operators.grant("sam", "admin")
    return pending.value.approval_id


@story
async def test_granting_admin_records_a_request_and_says_who_must_approve(
    open_as: Callable[..., Console],
) -> None:
    async with console_app(open_as("ada"), screen="3") as (app, pilot):
        await select_operator(pilot, "sam")
        await pilot.press("plus")
        await pilot.pause()
        await pick_role(pilot, "admin")
        assert app.notices_of("warning") == ["request #1 recorded; another admin must approve"]
    admin = open_as("ada")
    assert "admin" not in roles_of(admin, "sam")
    [request] = admin.approvals.list("pending")
    assert (request.action, request.target, request.requested_by) == (
        "operator.grant-admin",
        "sam",
        "ada",
    )


@story
async def test_a_second_admin_approves_in_the_tui_and_the_grant_runs(
    open_as: Callable[..., Console],
) -> None:
    approval_id = request_admin_for_sam(open_as("ada"))
    async with console_app(open_as(None), screen="4") as (app, pilot):  # the sandbox's other admin
        assert isinstance(app.screen, ApprovalsScreen)
        assert app.screen.query_one(DataTable).row_count == 1
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("y")
        await settle(pilot)
        assert (
            f"request #{approval_id} approved: operator.grant-admin on sam done"
            in app.notices_of("information")
        )
        assert app.screen.query_one(DataTable).row_count == 0
    assert "admin" in roles_of(open_as("ada"), "sam")


@story
async def test_the_requester_cannot_approve_their_own_request(
    open_as: Callable[..., Console],
) -> None:
    request_admin_for_sam(open_as("ada"))
    async with console_app(open_as("ada"), screen="4") as (app, pilot):
        assert "Approve" not in footer(app)  # not offered on one's own request...
        assert "Reject" in footer(app)  # ...which she may withdraw
        await pilot.press("a", "y")  # ...and the key says why, in the service's words
        await settle(pilot)
        assert isinstance(app.screen, ApprovalsScreen)
        assert app.notices_of("warning") == [
            "ada cannot approve their own request #1"
            " (four-eyes: a different operator must approve it)"
        ]
    assert "admin" not in roles_of(open_as("ada"), "sam")


@story
async def test_rejecting_asks_for_a_reason_and_records_it(open_as: Callable[..., Console]) -> None:
    approval_id = request_admin_for_sam(open_as("ada"))
    async with console_app(open_as(None), screen="4") as (app, pilot):
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, ReasonModal)
        await pilot.press("enter")  # an empty reason is not accepted
        await pilot.pause()
        assert isinstance(app.screen, ReasonModal)
        await pilot.press(*"not during the freeze", "enter")
        await settle(pilot)
        assert f"request #{approval_id} rejected" in app.notices_of("information")
    [decided] = open_as("ada").approvals.list(ApprovalState.REJECTED)
    assert decided.reason == "not during the freeze"


@story
async def test_confirm_defaults_to_no_so_a_stray_enter_changes_nothing(
    open_as: Callable[..., Console],
) -> None:
    request_admin_for_sam(open_as("ada"))
    async with console_app(open_as(None), screen="4") as (app, pilot):
        await pilot.press("a", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ApprovalsScreen)
    assert len(open_as("ada").approvals.list("pending")) == 1


@story
async def test_adding_an_operator_with_the_form(open_as: Callable[..., Console]) -> None:
    async with console_app(open_as("ada"), screen="3") as (app, pilot):
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, AddOperatorModal)
        await pilot.press(*"jdoe", "enter")  # name, then on to the roles (viewer is ticked)
        await pilot.press("down", "space")  # also operator
        await pilot.press("tab", "enter")  # the Add button
        await settle(pilot)
        assert isinstance(app.screen, OperatorsScreen)
        table = app.screen.query_one(DataTable)
        assert str(table.get_row("jdoe")[1]) == "viewer, operator"
    assert roles_of(open_as("ada"), "jdoe") == {"viewer", "operator"}


@story
async def test_revoking_a_role_asks_first(open_as: Callable[..., Console]) -> None:
    async with console_app(open_as("ada"), screen="3") as (app, pilot):
        await select_operator(pilot, "bill")
        await pilot.press("x")
        await pilot.pause()
        await pick_role(pilot, "billing")
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("n")
        await settle(pilot)
        assert "billing" in roles_of(open_as("ada"), "bill")
        await pilot.press("x")
        await pilot.pause()
        await pick_role(pilot, "billing")
        await pilot.press("y")
        await settle(pilot)
        assert "bill no longer holds billing" in app.notices_of("information")
    assert roles_of(open_as("ada"), "bill") == frozenset()
