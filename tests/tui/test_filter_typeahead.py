"""``/`` and the letters typed right after it arrive together (a fast typist, a slow SSH link):
every letter goes into the filter, none acts as the list's own key (billing, sort, region,
provision, prune…)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual._xterm_parser import XTermParser
from textual.widgets import Input
from tui_helpers import console_app, settle, story

from aptien_ops.composition import Console
from aptien_ops.screens.app import OpsApp
from aptien_ops.screens.backups import BackupsScreen
from aptien_ops.screens.tenants import TenantsScreen

pytestmark = pytest.mark.tui


def type_at_once(app: OpsApp, typed: str) -> None:
    """``typed`` as one read of the terminal's bytes: every key is queued before the app
    handles the first one."""
    parser = XTermParser()
    for event in [*parser.feed(typed), *parser.feed("")]:
        app._driver.send_message(event)  # the way real input comes in


def filter_value(app: OpsApp) -> str:
    focused = app.focused
    assert isinstance(focused, Input), focused
    return focused.value


@story
async def test_letters_right_after_slash_go_into_the_tenants_filter(
    open_as: Callable[..., Console], demo_tenants: None
) -> None:
    async with console_app(open_as("vic"), screen="2", size=(80, 24)) as (app, pilot):
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, TenantsScreen)
        type_at_once(app, "/branson")  # b: billing, r: region, s: sort, n: provision
        await settle(pilot)
        assert app.screen is screen  # no provisioning dialog
        assert filter_value(app) == "branson"
        assert screen.billing_filter == 0 and screen.sort_column == 0
        assert app.region_filter is None


@story
async def test_letters_right_after_slash_go_into_the_backups_filter(
    open_as: Callable[..., Console], provisioned: Callable[..., str]
) -> None:
    provisioned("acme-gmbh", "DE")
    assert all(o.ok for o in open_as("olga").backups.run(["acme-gmbh"]))
    async with console_app(open_as("ada"), screen="8", size=(80, 24)) as (app, pilot):
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, BackupsScreen)
        type_at_once(app, "/prod")  # p: prune, r: region, d: the backup's detail
        await settle(pilot)
        assert app.screen is screen  # no prune or detail dialog
        assert filter_value(app) == "prod"
        assert app.region_filter is None
