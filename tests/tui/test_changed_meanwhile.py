"""Two operators on one catalog: a change made from a screen that read an older version of the
row (another operator changed it since) is refused; a dialog says what the row is now and who
changed it, and offers to read it again. Nothing is overwritten. At 80x24."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tui_helpers import (
    console_app,
    open_tenant,
    screen_text,
    screen_words,
    select_operator,
    settle,
    story,
)

from aptien_ops.composition import Console
from aptien_ops.screens.modals import ConfirmModal, OpsModal

pytestmark = pytest.mark.tui


def _changed_meanwhile(app: object) -> ConfirmModal:
    dialog = app.screen  # type: ignore[attr-defined]
    assert isinstance(dialog, ConfirmModal), dialog
    assert dialog.heading == "Changed meanwhile"
    return dialog


@story
async def test_a_suspend_from_a_stale_tenant_screen_says_what_changed_and_reloads(
    open_as: Callable[..., Console], provisioned: Callable[..., str]
) -> None:
    provisioned("acme-gmbh", "DE")
    ada, olga = open_as("ada"), open_as("olga")
    async with console_app(ada, size=(80, 24)) as (app, pilot):
        detail = await open_tenant(pilot)
        assert detail.view is not None and detail.view.detail.tenant.state == "active"
        read = detail.view.detail.tenant.version
        olga.lifecycle.suspend("acme-gmbh", "chargeback")  # another operator, meanwhile
        await pilot.press("s")
        await settle(pilot)
        reason = app.screen
        assert isinstance(reason, OpsModal)
        await pilot.press(*"unpaid invoices", "enter")
        await settle(pilot)
        dialog = _changed_meanwhile(app)
        assert dialog.question.startswith("tenant acme-gmbh changed since you read it (version ")
        assert 'state is now suspended "chargeback" (by olga at ' in dialog.question
        assert dialog.question.endswith("UTC). Nothing was changed.")
        words = screen_words(app)
        assert "tenant acme-gmbh changed since you read it" in words, screen_text(app)
        assert "Reload (y)" in words and "Close (n)" in words
        assert app.notices == []
        await pilot.press("y")  # Reload
        await settle(pilot)
        assert app.screen is detail and dialog not in app.screen_stack
        assert detail.view is not None
        assert (detail.view.detail.tenant.state, detail.view.detail.tenant.state_reason) == (
            "suspended",
            "chargeback",
        )
        # a change made without a dialog (resume) says so too; Close shows it as it is now
        olga.lifecycle.resume("acme-gmbh")
        await pilot.press("u")
        await settle(pilot)
        assert "state is now active (by olga at " in _changed_meanwhile(app).question
        await pilot.press("n")  # Close
        await settle(pilot)
        assert app.screen is detail and detail.view.detail.tenant.state == "active"
        olga.lifecycle.suspend("acme-gmbh", "chargeback again")
        await pilot.press("r")  # and r reads it again whenever the operator wants
        await settle(pilot)
        assert detail.view.detail.tenant.state_reason == "chargeback again"
    kept = olga.tenants.show("acme-gmbh")
    assert (kept.state_reason, kept.changed_by, kept.version) == (
        "chargeback again",
        "olga",
        read + 3,
    )


@story
async def test_a_role_granted_meanwhile_makes_a_stale_grant_say_so(
    open_as: Callable[..., Console],
) -> None:
    async with console_app(open_as("ada"), screen="3", size=(80, 24)) as (app, pilot):
        await select_operator(pilot, "pat")
        open_as(None).operators.grant("pat", "billing")  # another admin, meanwhile
        await pilot.press("plus")
        await settle(pilot)
        await pilot.press("enter")  # the first role offered
        await settle(pilot)
        _changed_meanwhile(app)
        assert "operator pat changed since you read it" in screen_words(app)
        assert "roles are now billing, partner-manager" in screen_words(app)
        await pilot.press("y")
        await settle(pilot)
    pat = next(o for o in open_as(None).operators.list() if o.name == "pat")
    assert pat.roles == {"billing", "partner-manager"}
