"""Partners in the TUI: the register at a glance, a partner in full, and a tenant's partners
assigned, ended and given the contact card from the tenant's own screen, by the partner
manager only; what the rules refuse is shown in the dialog, in the service's words."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from textual.widgets import OptionList
from tui_helpers import console_app, footer, screen_text, screen_words, settle, story

from aptien_ops.composition import Console
from aptien_ops.screens.partner_detail import PartnerDetailScreen
from aptien_ops.screens.partner_modals import AssignPartnerDialog, ShareContactsDialog
from aptien_ops.screens.partner_render import partners_text
from aptien_ops.screens.partners import PartnersScreen
from aptien_ops.screens.tenant_detail import TenantDetailScreen

pytestmark = pytest.mark.tui

#: The first tenant of the list: DE, region eu; rhein-consulting is its expert.
TENANT = "acme-gmbh"
PHONE = "+49 30 5550 1234"
CARD = "Contact card for"


def _entries(console: Console, action: str) -> list[Any]:
    return [e for e in console.opslog.list(limit=500) if e.action == action]


async def _open_tenant(pilot: Any) -> TenantDetailScreen:
    await pilot.press("2")
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, TenantDetailScreen) and screen.tenant_name == TENANT
    return screen


def _options(dialog: Any) -> list[tuple[str, bool, str]]:
    """(partner, enabled, text) of each partner the dialog lists, in its order."""
    options = dialog.query_one(OptionList)
    return [
        (str(o.id), not o.disabled, str(o.prompt))
        for o in (options.get_option_at_index(n) for n in range(options.option_count))
    ]


@story
async def test_the_register_shows_each_partners_state_at_a_glance(
    frozen: None, partner_register: None, open_as: Callable[..., Console]
) -> None:
    async with console_app(open_as("vic"), "0") as (app, pilot):
        assert isinstance(app.screen, PartnersScreen)
        words = screen_words(app)
        for state in ("eligible", "expires in 12 days", "review overdue", "lapsed", "ended"):
            assert state in words, state
        await pilot.press("slash", *"nordic", "enter")
        await settle(pilot)
        assert "nordic-sales" in screen_text(app) and "rhein-consulting" not in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("G")
        await settle(pilot)
        assert app.screen.selected() == "rhein-consulting"
        await pilot.press("g", "j")
        await settle(pilot)
        assert app.screen.selected() == "atlas-partners"


@story
async def test_a_partner_opens_with_its_agreements_reviews_assignments_and_shares(
    frozen: None, partner_register: None, open_as: Callable[..., Console]
) -> None:
    async with console_app(open_as("vic"), "0") as (app, pilot):
        await pilot.press("slash", *"meridian", "enter")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, PartnerDetailScreen)
        words = screen_words(app)
        assert "MA-2023-09" in words and "expired" in words
        assert "lagos-fintech as expert" in words and "lapsed: no agreement in force" in words
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, PartnersScreen)


@story
async def test_the_partner_manager_assigns_a_partner_from_the_tenants_screen(
    frozen: None, partner_register: None, open_as: Callable[..., Console]
) -> None:
    pat = open_as("pat")
    async with console_app(pat) as (app, pilot):
        tenant = await _open_tenant(pilot)
        assert "Assign partner" in footer(app)
        await pilot.press("n")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, AssignPartnerDialog)
        assert dialog.picked() == "atlas-partners"  # the one eligible sales partner, first
        await pilot.press("enter", *"client asked for a reseller", "enter")
        await settle(pilot)
        assert "✓ atlas-partners assigned to acme-gmbh as sales" in screen_words(app)
        [entry] = _entries(open_as(None), "partner.assign")
        assert (entry.target, entry.outcome) == (TENANT, "ok")
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is tenant
        assert "partners rhein-consulting (expert) · atlas-partners (sales)" in screen_words(app)


@story
async def test_ineligible_partners_are_greyed_with_the_rule_they_fail(
    frozen: None, partner_register: None, open_as: Callable[..., Console]
) -> None:
    async with console_app(open_as("pat")) as (app, pilot):
        await _open_tenant(pilot)
        await pilot.press("n")
        await settle(pilot)
        listed = _options(app.screen)
        assert listed[0][:2] == ("atlas-partners", True)
        assert [name for name, enabled, _ in listed if enabled] == ["atlas-partners"]
        greyed = {name: text for name, enabled, text in listed if not enabled}
        assert "the partner is suspended" in greyed["andes-partners"]
        assert "does not include DE or eu" in greyed["nordic-sales"]
        assert "no agreement in force on 2025-03-14" in greyed["meridian-advisory"]
        assert "gulf-advisors" not in greyed  # ended: not a candidate at all
        await pilot.click("#kind-expert")
        await settle(pilot)
        expert = {name: (enabled, text) for name, enabled, text in _options(app.screen)}
        assert expert["rhein-consulting"] == (False, expert["rhein-consulting"][1])
        assert "assigned already" in expert["rhein-consulting"][1]
        assert expert["atlas-partners"][0]


@story
async def test_a_refusal_is_shown_in_the_dialog(
    frozen: None, partner_register: None, open_as: Callable[..., Console]
) -> None:
    pat = open_as("pat")
    async with console_app(pat) as (app, pilot):
        await _open_tenant(pilot)
        await pilot.press("n")
        await settle(pilot)
        # Between the list and the click, another partner manager ends its agreement.
        pat.partners.agreement_end("atlas-partners", "AP-2024-11", "not renewed")
        await pilot.press("enter", *"reseller", "enter")
        await settle(pilot)
        assert isinstance(app.screen, AssignPartnerDialog)
        words = screen_words(app)
        assert "✗ atlas-partners may not be assigned to acme-gmbh" in words
        assert "(rule: agreement)" in words
        assert _entries(open_as(None), "partner.assign")[0].outcome.startswith("failed")


@story
async def test_a_viewer_is_told_why_and_no_dialog_opens(
    frozen: None, partner_register: None, open_as: Callable[..., Console]
) -> None:
    async with console_app(open_as("vic")) as (app, pilot):
        tenant = await _open_tenant(pilot)
        assert "Assign partner" not in footer(app)
        for key in ("n", "t"):
            await pilot.press(key)
            await settle(pilot)
            assert app.screen is tenant
        assigned, shared = app.notices_of("warning")
        assert "vic may not partner.assign (needs role partner-manager)" in assigned
        assert "vic may not partner.share (needs role partner-manager)" in shared


@story
async def test_sharing_shows_the_card_once_and_logs_one_entry(
    frozen: None, partner_register: None, open_as: Callable[..., Console]
) -> None:
    pat = open_as("pat")
    before = len(pat.partners.shares(tenant=TENANT))
    async with console_app(pat) as (app, pilot):
        tenant = await _open_tenant(pilot)
        await pilot.press("t")
        await settle(pilot)
        assert isinstance(app.screen, ShareContactsDialog)
        assert CARD not in screen_text(app)
        await pilot.press("enter", *"client asked for an on-site visit", "enter")
        await settle(pilot)
        words = screen_words(app)
        assert "Contact card for rhein-consulting" in words
        assert "ACME GmbH" in words and PHONE in words and "Greta Vogel" in words
        [entry] = _entries(open_as(None), "partner.share")
        assert (entry.target, entry.outcome) == (TENANT, "ok") and PHONE not in entry.params
        assert len(pat.partners.shares(tenant=TENANT)) == before + 1
        await pilot.press("escape")
        await settle(pilot)
        # (The tenant's own screen shows its contact line, phone included: the card is gone.)
        assert app.screen is tenant and CARD not in screen_text(app)
        await pilot.press("t")  # again: nothing shown until a new share
        await settle(pilot)
        assert CARD not in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
    assert len(_entries(open_as(None), "partner.share")) == 1


@story
async def test_the_dashboard_counts_what_partner_check_reports(
    frozen: None, partner_register: None, open_as: Callable[..., Console]
) -> None:
    async with console_app(open_as("vic")) as (app, _):
        card = app.screen.query_one("#dashboard-partners").render()
        breach, warning, register = str(card).splitlines()
        assert breach == "✗ out of policy: 1 lapsed assignment · 1 review overdue"
        assert warning.startswith("! warning: 2 expiring within 30 days (still in force")
        assert register.startswith("7 partners,")
    summary = open_as("vic").partners.summary()
    assert summary.out_of_policy and summary.warning
    # Expiring agreements alone are a warning, in yellow, under a card within policy.
    calm = partners_text(replace(summary, lapsed=0, overdue=0), 30)
    assert str(calm).splitlines()[:2] == [
        "✓ every partner and assignment is within policy",
        "! warning: 2 expiring within 30 days (still in force; renew them)",
    ]
    styles = {str(calm)[s.start : s.end]: str(s.style) for s in calm.spans}
    assert styles["✓ every partner and assignment is within policy"] == "green"
    assert styles["2 expiring within 30 days"] == "yellow"
    loud = partners_text(summary, 30)
    assert {str(loud)[s.start : s.end]: str(s.style) for s in loud.spans}[
        "1 lapsed assignment"
    ] == "bold red"


@story
async def test_the_partner_manager_ends_an_assignment_and_the_history_keeps_it(
    frozen: None, partner_register: None, open_as: Callable[..., Console]
) -> None:
    pat = open_as("pat")
    async with console_app(pat) as (app, pilot):
        tenant = await _open_tenant(pilot)
        await pilot.press("x")
        await settle(pilot)
        assert [name for name, enabled, _ in _options(app.screen)] == ["rhein-consulting"]
        await pilot.press("enter", *"client no longer needs payroll advice", "enter")
        await settle(pilot)
        assert "✓ rhein-consulting no longer assigned to acme-gmbh" in screen_words(app)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is tenant and "rhein-consulting (expert)" not in screen_words(app)
    [ended] = pat.partners.assignments(tenant=TENANT, include_ended=True)
    assert ended.state == "ended" and ended.assignment.ended_by == "pat"
