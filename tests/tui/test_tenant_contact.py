"""A tenant's contact line, on the tenants list and the tenant's own screen: the
representative's name and e-mail, their phone and the client's company (the fields the
partner contact card is made of), each value escaped, never parsed as markup."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from tui_helpers import console_app, screen_text, screen_words, settle, story

from aptien_ops.composition import Console
from aptien_ops.screens.tenant_detail import TenantDetailScreen
from aptien_ops.terminal_text import shown

from hostile_data import MARKUP, SIGNATURES, hostile

pytestmark = pytest.mark.tui

TENANT = "acme-gmbh"  # the first of the list


def _contact(console: Console, **fields: str | None) -> None:
    """Write the contact record straight into the catalog, as any writer of it could."""
    with console.ctx.catalog.transaction() as tx:
        tenant = tx.tenants.get(TENANT)
        assert tenant is not None
        changed = dataclasses.replace(tenant, **fields)  # type: ignore[arg-type]
        tx.tenants.update(changed, by="olga")


def _summary(app: object) -> str:
    screen = app.screen  # type: ignore[attr-defined]
    assert isinstance(screen, TenantDetailScreen) and screen.tenant_name == TENANT
    return str(screen.query_one("#detail-summary").render())


@story
async def test_the_contact_line_shows_phone_and_company(
    frozen: None, demo_tenants: None, open_as: Callable[..., Console]
) -> None:
    _contact(open_as(None), contact_phone="+49 30 5550 1234", company="ACME GmbH")
    async with console_app(open_as("vic"), "2") as (app, pilot):
        listed = screen_words(app)
        assert "· phone +49 30 5550 1234 · company ACME GmbH" in listed
        await pilot.press("enter")
        await settle(pilot)
        assert (
            "contact Greta Vogel <greta.vogel@acme.example> · phone +49 30 5550 1234"
            " · company ACME GmbH"
        ) in " ".join(_summary(app).split())


@story
async def test_hostile_phone_and_company_are_shown_escaped(
    frozen: None, demo_tenants: None, open_as: Callable[..., Console]
) -> None:
    phone, company = hostile("phone"), hostile("company") + " " + "w" * 300
    _contact(open_as(None), contact_phone=phone, company=company)
    async with console_app(open_as("vic"), "2") as (app, pilot):
        await pilot.press("enter")
        await settle(pilot)
        summary = _summary(app)
        for value in (phone, company):
            assert shown(value) in summary  # every control and override escaped, visibly
        raw = summary.encode()
        assert not any(sig in raw for sig in SIGNATURES)
        # Markup is shown as typed, not applied: the text keeps its brackets.
        assert MARKUP in summary and summary.count(MARKUP) == 2
        assert "\\x1b]52;" in screen_text(app)  # the escape is visible on screen
