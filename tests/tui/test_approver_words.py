"""Who must approve a four-eyes request is said the way the policy in force says it, on every
screen and dialog that mentions it (as the CLI words its refusals), never a fixed "a second
admin": a policy naming other approvers changes each sentence."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from textual.widgets import Label
from tui_helpers import Pins, console_app, screen_words, settle, story, until

from aptien_ops.composition import Console
from aptien_ops.identity import os_account
from aptien_ops.permissions import Action
from aptien_ops.screens.app import OpsApp
from aptien_ops.screens.modals import AddOperatorModal
from aptien_ops.screens.notice_modals import DraftNoticeModal

pytestmark = pytest.mark.tui

#: Approvers no built-in default names: each sentence must have read them from the policy.
NAMED = {
    Action.OPERATOR_GRANT_ADMIN: frozenset({"security"}),
    Action.POLICY_SET: frozenset({"security"}),
    Action.NOTICE_SEND_USERS: frozenset({"admin"}),
    Action.TENANT_PURGE: frozenset({"security", "admin"}),
}


async def _with_policy(app: OpsApp, pilot: object) -> None:
    await until(pilot, lambda: app.policy is not None, "the policy to be read")  # type: ignore[arg-type]
    assert app.policy is not None
    approvers = {**app.policy.approvers, **{str(a): r for a, r in NAMED.items()}}
    app.policy = replace(app.policy, approvers=approvers)


@story
async def test_each_sentence_names_the_approvers_of_the_policy(
    open_as: Callable[..., Console],
) -> None:
    async with console_app(open_as("ada"), "3") as (app, pilot):
        assert isinstance(app, OpsApp)
        assert app.approvers_of(Action.TENANT_PURGE) == "another admin"  # the built-in
        await _with_policy(app, pilot)
        assert app.approvers_of(Action.TENANT_PURGE) == "another admin or security operator"

        app.screen.refresh_data()  # type: ignore[attr-defined]
        await settle(pilot)
        assert "granting admin: another security operator approves" in screen_words(app)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, AddOperatorModal)
        words = screen_words(app)
        assert "admin is granted afterwards, once another security operator approves" in words
        await pilot.press("escape")
        await settle(pilot)

        await pilot.press("N", "n")
        await settle(pilot)
        assert isinstance(app.screen, DraftNoticeModal)
        note = str(app.screen.query_one("#modal-question", Label).render())
        assert "sending asks another admin first" in note, note
        await pilot.press("escape")
        await settle(pilot)


@story
async def test_the_production_policy_screen_names_its_approvers(
    open_as: Callable[..., Console], sandbox: Path, pins: Pins
) -> None:
    text = sandbox.read_text().replace('mode = "sandbox"', 'mode = "production"', 1)
    sandbox.write_text(text.replace("initial_admins = []", f'initial_admins = ["{os_account()}"]'))
    pins.account = os_account()
    async with console_app(open_as(None), "9") as (app, pilot):
        assert isinstance(app, OpsApp)
        await _with_policy(app, pilot)
        app.screen.refresh_data()  # type: ignore[attr-defined]
        await settle(pilot)
        words = screen_words(app)
        assert "e requests a change of the highlighted key; another security operator" in words
