"""An operator provisions a tenant through the form: name, country search, region shown before
confirming, then the steps ticking one by one."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.widgets import Input
from tui_helpers import (
    console_app,
    footer,
    highlighted_tenant,
    open_provision_form,
    screen_text,
    screen_words,
    settle,
    story,
    tenant_rows,
)

from aptien_ops.composition import Console
from aptien_ops.domain import TenantState
from aptien_ops.errors import NotFound, Unavailable
from aptien_ops.screens.tenants import TenantsScreen
from aptien_ops.services.provisioning import STEPS

pytestmark = pytest.mark.tui


def ticked(app) -> list[str]:  # type: ignore[no-untyped-def]
    """Steps shown with a tick in the step list."""
    lines = screen_text(app).splitlines()
    return [step for step in STEPS if any(f"✓ {step} " in line for line in lines)]


@story
async def test_an_operator_provisions_a_tenant_by_searching_its_country(
    open_as: Callable[..., Console],
) -> None:
    async with console_app(open_as("olga")) as (app, pilot):
        await open_provision_form(pilot)
        await pilot.press(*"acme-gmbh")
        assert "✓ valid name" in screen_text(app)
        await pilot.press("enter", *"germ")
        await settle(pilot)
        assert "? 'germ' matches 1 country: ↓ picks it" in screen_text(app)
        await pilot.press("down")
        await settle(pilot)
        assert "→ Germany (DE) · region eu (UN M49 Europe)" in screen_text(app)  # before confirming
        await pilot.press("enter", *"Greta Vogel", "enter", *"greta@acme.example", "enter")
        await settle(pilot)
        assert ticked(app) == list(STEPS)
        assert "acme-gmbh is active in eu on eu-sandbox-1." in screen_text(app)
        await pilot.press("enter")  # Close has the focus
        await settle(pilot)
        assert isinstance(app.screen, TenantsScreen)
        row = next(t for t in tenant_rows(app) if t.name == "acme-gmbh")
        assert (row.country, row.region, row.cluster) == ("DE", "eu", "eu-sandbox-1")
        assert highlighted_tenant(app) == "acme-gmbh"
    tenant = open_as("ada").tenants.show("acme-gmbh")
    assert (tenant.state, tenant.contact_email) == (TenantState.ACTIVE, "greta@acme.example")


@story
async def test_the_form_refuses_an_address_as_the_service_would_and_takes_any_case(
    open_as: Callable[..., Console],
) -> None:
    async with console_app(open_as("olga")) as (app, pilot):
        form = await open_provision_form(pilot)
        await pilot.press(*"acme-gmbh", "enter", *"DE", "enter", "enter", *"greta@ACME", "enter")
        await settle(pilot)
        assert form.request is None and app.notices_of("warning") == [
            "the contact e-mail must be an e-mail address: 'greta@ACME' has no dot in its domain"
        ]
        await pilot.press(*".EXAMPLE", "enter")  # the e-mail field has the focus again
        await settle(pilot)
        assert ticked(app) == list(STEPS)
    assert open_as("ada").tenants.show("acme-gmbh").contact_email == "greta@ACME.EXAMPLE"


@story
async def test_arrow_keys_pick_another_match_while_typing_the_country(
    open_as: Callable[..., Console],
) -> None:
    async with console_app(open_as("olga")) as (app, pilot):
        await open_provision_form(pilot)
        await pilot.press(*"pacific-rim", "enter", *"united")
        await settle(pilot)
        assert "? 'united' matches 6 countries: pick one with ↑↓" in screen_text(app)
        await pilot.press("down")
        await settle(pilot)
        assert "→ United Arab Emirates (AE) · region eu (UN M49 Western Asia)" in screen_text(app)
        await pilot.press("down", "down", "down", "down", "up")
        await settle(pilot)
        shown = screen_words(app)
        assert "→ United States Minor Outlying Islands (UM) · region us (UN M49 Oceania)" in shown
        await pilot.press("enter", "enter", "enter")  # the pick holds while the text is the same
        await settle(pilot)
    tenant = open_as("ada").tenants.show("pacific-rim")
    assert (tenant.country, tenant.region) == ("UM", "us")


@pytest.mark.parametrize(
    "name, reason",
    [
        ("Acme GmbH", "invalid tenant name 'Acme GmbH'"),
        ("postgres", "tenant name 'postgres' is reserved"),
        ("x'; DROP DATABASE catalog; --", "invalid tenant name"),
    ],
)
@story
async def test_an_invalid_name_shows_the_reason_and_provisions_nothing(
    open_as: Callable[..., Console], name: str, reason: str
) -> None:
    async with console_app(open_as("olga")) as (app, pilot):
        form = await open_provision_form(pilot)
        await pilot.press(*name)
        await settle(pilot)
        assert f"✗ {reason}" in screen_words(app)
        await pilot.press(
            "enter", *"DE", "enter", "enter", "enter"
        )  # on through every field to submit
        await settle(pilot)
        assert app.screen is form and form.request is None
        assert "the name is not valid yet" in app.notices_of("warning")
    assert open_as("ada").tenants.list() == []


@story
async def test_a_country_that_matches_nothing_cannot_be_confirmed(
    open_as: Callable[..., Console],
) -> None:
    async with console_app(open_as("olga")) as (app, pilot):
        form = await open_provision_form(pilot)
        await pilot.press(*"acme-gmbh", "enter", *"atlantis")
        await settle(pilot)
        assert "? no country matches 'atlantis'" in screen_text(app)
        await pilot.press("enter", "enter", "enter")
        await settle(pilot)
        assert "✗ no country matches 'atlantis'" in screen_text(app)  # in the form, not a toast
        assert app.screen is form and form.request is None and app.notices_of("warning") == []
        assert form.focused is form.query_one("#provision-country")
        assert form.query_one("#provision-country", Input).value == "atlantis"
    assert open_as("ada").tenants.list() == []


@story
async def test_a_failed_step_is_named_and_retry_resumes_where_it_stopped(
    open_as: Callable[..., Console], monkeypatch: pytest.MonkeyPatch
) -> None:
    console = open_as("olga")
    store = console.ctx.store("eu-sandbox-1")
    apply_schema = store.apply_schema
    fail_once = [True]

    def cluster_goes_down(tenant: str, target_version: int, *, region: str) -> int:
        if fail_once:
            fail_once.clear()
            raise Unavailable("cluster eu-sandbox-1 stopped answering")
        return apply_schema(tenant, target_version, region=region)

    monkeypatch.setattr(store, "apply_schema", cluster_goes_down)
    async with console_app(console) as (app, pilot):
        await open_provision_form(pilot)
        await pilot.press(*"acme-gmbh", "enter", *"DE", "enter", "enter", "enter")
        await settle(pilot)
        shown = screen_text(app)
        assert ticked(app) == ["reserve", "owner-role", "database"]
        assert "✗ schema: cluster eu-sandbox-1 stopped answering" in shown
        assert open_as("ada").tenants.show("acme-gmbh").state == TenantState.PROVISIONING
        await pilot.press("enter")  # Retry has the focus
        await settle(pilot)
        assert ticked(app) == list(STEPS)
        assert "owner-role       owner role, password sealed (done before)" in screen_text(app)
    assert open_as("ada").tenants.show("acme-gmbh").state == TenantState.ACTIVE


@story
async def test_a_viewer_is_not_offered_provisioning(open_as: Callable[..., Console]) -> None:
    async with console_app(open_as("vic"), screen="2") as (app, pilot):
        assert "Provision" not in footer(app)
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, TenantsScreen)
    with pytest.raises(NotFound):
        open_as("ada").tenants.show("acme-gmbh")


@pytest.mark.parametrize(
    "typed, shown, country",
    [
        ("IE", "→ Ireland (IE) · region eu (UN M49 Europe)", "IE"),
        ("ireland", "→ Ireland (IE) · region eu (UN M49 Europe)", "IE"),
        ("United States", "→ United States of America (US) · region us", "US"),
        ("united kingdom", "→ United Kingdom of Great Britain and Northern Ireland (GB)", "GB"),
        ("niger", "→ Niger (NE) · region eu", "NE"),  # not Nigeria, listed after it
        # UK is reserved by ISO (for GB) and also how Ukraine starts: it asks, saying so.
        ("uk", "? 'uk' matches 2 countries: pick one with ↑↓ (use GB for the United", None),
        ("korea", "? 'korea' matches 2 countries: pick one with ↑↓", None),
        ("germ", "? 'germ' matches 1 country: ↓ picks it", None),
        ("xx", "? XX is a user-assigned code, not a country", None),
    ],
)
@story
async def test_an_exact_code_or_name_is_used_and_anything_else_asks(
    open_as: Callable[..., Console], typed: str, shown: str, country: str | None
) -> None:
    async with console_app(open_as("olga")) as (app, pilot):
        form = await open_provision_form(pilot)
        await pilot.press(*"acme-gmbh", "enter", *typed)
        await settle(pilot)
        assert shown in screen_words(app)  # before submitting
        await pilot.press("enter", "enter", "enter")
        await settle(pilot)
        if country is None:
            assert app.screen is form and form.request is None
            assert f"✗ {shown[2:]}" in screen_words(app)
        else:
            assert "acme-gmbh is active" in screen_text(app)
    provisioned = [(t.name, t.country) for t in open_as("ada").tenants.list()]
    assert provisioned == ([("acme-gmbh", country)] if country else [])
