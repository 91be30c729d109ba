"""Resizing the terminal while a list, a form or a dialog is open (80×24 → 60×20 → 120×40,
as a window dragged smaller then larger over SSH): what is open stays open, with what was
typed, the focus and the cursor where they were, fits the new size, and goes on working."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.app import App
from textual.geometry import Region
from textual.widgets import Input
from tui_helpers import (
    console_app,
    highlighted_tenant,
    open_provision_form,
    screen_text,
    settle,
    story,
)

from aptien_ops.composition import Console
from aptien_ops.domain import TenantState
from aptien_ops.screens.tenants import TenantsScreen

pytestmark = pytest.mark.tui

SIZES = [(60, 20), (120, 40), (80, 24)]


def fits(app: App[Any]) -> None:
    """Every widget of the top screen that is shown lies inside the terminal."""
    width, height = app.size
    terminal = Region(0, 0, width, height)
    for widget in app.screen.query("*"):
        if widget.display and widget.region.area:
            assert terminal.contains_region(widget.region), (widget, widget.region, app.size)


@story
async def test_the_provision_form_keeps_what_was_typed_through_resizes_and_still_provisions(
    open_as: Callable[..., Console],
) -> None:
    async with console_app(open_as("olga")) as (app, pilot):
        form = await open_provision_form(pilot)
        await pilot.press(*"acme-gmbh", "enter", *"germ", "down")
        await settle(pilot)
        focused = app.focused
        assert isinstance(focused, Input)
        for width, height in SIZES:
            await pilot.resize_terminal(width, height)
            await settle(pilot)
            assert app.screen is form and app.focused is focused, (width, height)
            assert form.query(Input).first().value == "acme-gmbh"
            assert focused.value == "germ"
            assert "Germany (DE)" in screen_text(app), (width, height)
            fits(app)
        await pilot.press("enter", "enter", "enter")
        await settle(pilot)
        assert "acme-gmbh is active in eu on eu-sandbox-1." in screen_text(app)
    assert open_as("ada").tenants.show("acme-gmbh").state == TenantState.ACTIVE


@story
async def test_the_tenant_list_and_its_detail_keep_the_cursor_through_resizes(
    open_as: Callable[..., Console], demo_tenants: None
) -> None:
    async with console_app(open_as("ada"), screen="2") as (app, pilot):
        await pilot.press("down", "down")
        await settle(pilot)
        chosen = highlighted_tenant(app)
        assert chosen is not None
        for width, height in SIZES:
            await pilot.resize_terminal(width, height)
            await settle(pilot)
            assert isinstance(app.screen, TenantsScreen)
            assert highlighted_tenant(app) == chosen, (width, height)
            assert chosen in screen_text(app), (width, height)
            fits(app)
        await pilot.press("enter")  # the detail opens over the list
        await settle(pilot)
        detail = app.screen
        assert not isinstance(detail, TenantsScreen) and chosen in screen_text(app)
        for width, height in SIZES:
            await pilot.resize_terminal(width, height)
            await settle(pilot)
            assert app.screen is detail and chosen in screen_text(app), (width, height)
            fits(app)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, TenantsScreen) and highlighted_tenant(app) == chosen
