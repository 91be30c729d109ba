"""Read-only mode and roles: actions the operator may not take are hidden, and refused by the
service (and logged) if they are invoked anyway."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.app import App
from textual.widgets import Static
from tui_helpers import (
    console_app,
    footer,
    palette_titles,
    pick_role,
    screen_text,
    select_operator,
    settle,
    story,
)

from aptien_ops.composition import Console
from aptien_ops.permissions import offered
from aptien_ops.screens.commands import action_title
from aptien_ops.screens.modals import OpsModal
from aptien_ops.screens.operators import OperatorsScreen

pytestmark = pytest.mark.tui


@story
async def test_read_only_hides_every_change_and_the_service_refuses_one_forced_through(
    open_as: Callable[..., Console],
) -> None:
    async with console_app(open_as("ada", read_only=True)) as (app, pilot):
        assert "READ-ONLY" in screen_text(app).splitlines()[0]
        await pilot.press("3")
        await settle(pilot)
        assert isinstance(app.screen, OperatorsScreen)
        assert "Grant role" not in footer(app) and "Add" not in footer(app)
        assert not {"Add operator", "Grant role", "Revoke role"} & set(palette_titles(app))
        await pilot.press("plus")  # the key says why, in the CLI's words, and opens nothing
        await pilot.pause()
        assert isinstance(app.screen, OperatorsScreen)
        assert app.notices_of("warning") == [
            "operator.grant is not available in read-only mode (restart without --read-only)"
        ]

        await select_operator(pilot, "sam")
        app.screen.action_grant()  # forced through, as a stale binding or a script might
        await pilot.pause()
        await pick_role(pilot, "viewer")
        assert "read-only mode" in dialog_problem(app)  # said in the picker, still open
    admin = open_as("ada")
    assert "viewer" not in next(o for o in admin.operators.list() if o.name == "sam").roles


def dialog_problem(app: App[Any]) -> str:
    """What the open dialog says is wrong."""
    assert isinstance(app.screen, OpsModal)
    return str(app.screen.query_one("#modal-problem", Static).content)


@story
async def test_a_viewer_does_not_see_grant_and_is_refused_and_logged_when_forcing_it(
    open_as: Callable[..., Console],
) -> None:
    async with console_app(open_as("vic"), screen="3") as (app, pilot):
        assert "Grant role" not in footer(app)
        assert "Grant role" not in palette_titles(app)
        assert "Go to Operators" in palette_titles(app)

        await select_operator(pilot, "olga")
        app.screen.action_grant()
        await pilot.pause()
        await pick_role(pilot, "billing")
        assert "vic may not operator.grant" in dialog_problem(app)
    log = open_as("ada").opslog.list(10)
    denied = [e for e in log if e.operator == "vic" and e.outcome == "denied"]
    assert denied and denied[0].action == "operator.grant" and denied[0].target == "olga"


@story
async def test_an_admin_sees_and_may_use_every_operator_action(
    open_as: Callable[..., Console],
) -> None:
    async with console_app(open_as("ada"), screen="3") as (app, pilot):
        await select_operator(pilot, "sam")  # not herself: nobody grants a role to themselves
        assert "Grant role" in footer(app) and "Revoke role" in footer(app)
        titles = palette_titles(app)
        for title in (
            "Add operator",
            "Grant role",
            "Revoke role",
            "Approve request",
        ):
            assert title in titles


@story
async def test_the_ops_log_tab_tells_a_viewer_who_may_read_it(
    open_as: Callable[..., Console],
) -> None:
    async with console_app(open_as("vic"), screen="5") as (app, _):
        assert "shown to the admin or security roles only" in screen_text(app)
        assert len(app.screen.window) == 0


@story
async def test_the_palette_offers_every_tenant_and_fleet_action_to_an_admin(
    open_as: Callable[..., Console],
) -> None:
    async with console_app(open_as("ada")) as (app, _):
        titles = palette_titles(app)
        for title in (
            "Go to Fleet",
            "Provision tenant",
            "Open tenant",
            "Suspend tenant",
            "Resume tenant",
            "Cancel tenant",
            "Purge tenant (request)",
            "Check fleet",
            "Migrate fleet",
        ):
            assert title in titles
        assert "Tenant: Back" not in titles


@story
async def test_an_operator_may_not_purge_so_the_palette_does_not_offer_it(
    open_as: Callable[..., Console],
) -> None:
    async with console_app(open_as("olga")) as (app, _):
        titles = palette_titles(app)
        assert (
            "Suspend tenant" in titles
            and "Provision tenant" in titles
            and "Migrate fleet" in titles
        )
        assert "Purge tenant (request)" not in titles


@pytest.mark.parametrize(
    "operator, read_only", [("vic", False), ("olga", False), ("sam", False), ("ada", True)]
)
@story
async def test_the_palette_offers_an_action_exactly_when_the_permission_rule_does(
    open_as: Callable[..., Console], operator: str, read_only: bool
) -> None:
    async with console_app(open_as(operator, read_only=read_only)) as (app, _):
        titles = set(palette_titles(app))
        roles = app.roles
        assert roles is not None
        for screen_class in app.screen_classes():
            for shown in filter(None, (screen_class, screen_class.DETAIL_SCREEN)):
                for binding in shown.BINDINGS:
                    permission = shown.PERMISSIONS.get(binding.action)
                    if permission is None:
                        continue
                    offer = offered(roles, permission, read_only)
                    title = action_title(shown.TITLE, binding)
                    assert (title in titles) == offer.allowed, (title, offer.reason)
