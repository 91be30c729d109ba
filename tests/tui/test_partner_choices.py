"""From a tenant's screen, a partner the rules do not allow is listed greyed with its reason
and cannot be chosen: not by the arrows, not by Enter. Assigning (meridian-
advisory: its agreement has expired) and sharing (lagos-fintech's assignment to it has
lapsed) both refuse it in the dialog, and nothing reaches the service or the ops log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.widgets import OptionList
from tui_helpers import console_app, screen_words, settle, story

from aptien_ops.composition import Console
from aptien_ops.screens.partner_modals import AssignPartnerDialog, ShareContactsDialog
from aptien_ops.screens.tenant_detail import TenantDetailScreen

pytestmark = pytest.mark.tui

LAPSED = "meridian-advisory"


def _entries(console: Console, action: str) -> list[Any]:
    return [e for e in console.opslog.list(limit=500) if e.action == action]


async def _open(pilot: Any, tenant: str) -> None:
    await pilot.press("2")
    await settle(pilot)
    await pilot.press("slash", *tenant, "enter")
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, TenantDetailScreen) and screen.tenant_name == tenant


def _option(dialog: Any, name: str) -> tuple[int, bool, str]:
    """(index, enabled, text) of partner ``name`` in the dialog's list."""
    options = dialog.query_one(OptionList)
    for n in range(options.option_count):
        option = options.get_option_at_index(n)
        if option.id == name:
            return n, not option.disabled, str(option.prompt)
    raise AssertionError(f"{name} is not listed")


async def _cannot_choose(pilot: Any, dialog: Any, reason: str) -> None:
    """``LAPSED`` is greyed with ``reason``; the arrows and Enter never choose it."""
    options = dialog.query_one(OptionList)
    index, enabled, text = _option(dialog, LAPSED)
    assert not enabled and reason in text and "✗" in text
    seen = set()
    for _ in range(options.option_count + 1):  # down through the whole list, and round
        await pilot.press("down")
        seen.add(options.highlighted)
    assert index not in seen and dialog.picked() != LAPSED
    # Even highlighted by force (as a mouse hover might), Enter refuses it in the dialog.
    options.highlighted = index
    assert dialog.picked() is None
    await pilot.press("tab", *"please", "enter")
    await settle(pilot)
    assert "choose a partner the rules allow" in screen_words(pilot.app)
    assert pilot.app.screen is dialog and not dialog.done


@story
async def test_an_expired_partner_cannot_be_assigned_from_the_tenants_screen(
    frozen: None, partner_register: None, open_as: Callable[..., Console]
) -> None:
    pat = open_as("pat")
    async with console_app(pat) as (app, pilot):
        await _open(pilot, "acme-gmbh")
        await pilot.press("n")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, AssignPartnerDialog)
        await pilot.click("#kind-expert")
        await settle(pilot)
        await _cannot_choose(pilot, dialog, "no agreement in force on 2025-03-14")
    assert _entries(open_as(None), "partner.assign") == []
    held = pat.partners.assignments(tenant="acme-gmbh")
    assert LAPSED not in {row.assignment.partner for row in held}


@story
async def test_a_lapsed_assignment_cannot_be_given_the_card(
    frozen: None, partner_register: None, open_as: Callable[..., Console]
) -> None:
    pat = open_as("pat")
    before = len(pat.partners.shares(tenant="lagos-fintech"))
    async with console_app(pat) as (app, pilot):
        await _open(pilot, "lagos-fintech")
        await pilot.press("t")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ShareContactsDialog)
        await _cannot_choose(pilot, dialog, "lapsed: no agreement in force")
        assert "Contact card for" not in screen_words(app)
    assert len(pat.partners.shares(tenant="lagos-fintech")) == before
    assert [e.target for e in _entries(open_as(None), "partner.share")].count("lagos-fintech") == (
        before
    )
