"""The provision form records the country the operator sees, however the keys arrive.

A paste without bracketed paste, or a slow SSH link batching keys, delivers a whole word (and
the Enters after it) at once: events from an earlier prefix then arrive after the text has
moved on. A tenant for Ireland was once provisioned in ``us`` as Iran that way. Here the keys
come in one burst, and late events are posted on purpose; on SQLite and on the suite's
PostgreSQL (the eu cluster, where Ireland's tenant is made).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual import events
from textual.keys import _character_to_key
from textual.pilot import Pilot
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option
from tui_helpers import console_app, open_provision_form, screen_text, settle, story

from aptien_ops.composition import Console
from aptien_ops.errors import NotFound
from aptien_ops.screens.provision import ProvisionModal

from fleet_configs import eu_cluster_kind, eu_fleet_config  # noqa: F401 - fixtures kind, config

pytestmark = pytest.mark.tui


@pytest.fixture
def sandbox(config: Path) -> Path:
    """The consoles of ``open_as`` open this sandbox: eu on SQLite, then on PostgreSQL."""
    return config


def burst(pilot: Pilot[None], *keys: str) -> None:
    """Queue ``keys`` all at once, as a paste without bracketed paste or a batching SSH link
    delivers them: the app handles none before the last is queued (``"enter"`` is Enter,
    any other string is typed character by character)."""
    for key in keys:
        for char in ["\r"] if key == "enter" else key:
            name = "enter" if char == "\r" else char
            name = name if name.isalnum() else _character_to_key(name)
            pilot.app.post_message(events.Key(name, char))


async def iran_listed_for_i(pilot: Pilot[None], form: ProvisionModal, name: str) -> Option:
    """Type ``name``, Enter and "i" into the form; return the Iran option the list shows."""
    await pilot.press(*name, "enter", "i")
    await settle(pilot)
    listed = form.query_one("#provision-countries", OptionList)
    shown = [listed.get_option_at_index(i) for i in range(listed.option_count)]
    return next(o for o in shown if str(o.id).endswith(":IR"))


def deliver_late(form: ProvisionModal, option: Option) -> None:
    """What a slow link delivers late: ``option`` highlighted, then chosen, in the list."""
    listed = form.query_one("#provision-countries", OptionList)
    listed.post_message(OptionList.OptionHighlighted(listed, option, 0))
    listed.post_message(OptionList.OptionSelected(listed, option, 0))


def country_of(console: Console, name: str) -> tuple[str, str]:
    tenant = console.tenants.show(name)
    return tenant.country, tenant.region


@story
async def test_ireland_typed_in_one_burst_with_its_enters_is_ireland_in_eu(
    open_as: Callable[..., Console], tenant_name: str
) -> None:
    async with console_app(open_as("olga")) as (app, pilot):
        await open_provision_form(pilot)
        # "ir" on the way is Iran's code: only the whole word may count.
        burst(pilot, tenant_name, "enter", "ireland", "enter", "enter", "enter")
        await settle(pilot)
        assert f"{tenant_name} is active in eu" in screen_text(app)
    assert country_of(open_as("ada"), tenant_name) == ("IE", "eu")


@story
async def test_a_highlight_from_an_earlier_prefix_never_sets_the_country(
    open_as: Callable[..., Console], tenant_name: str
) -> None:
    async with console_app(open_as("olga")) as (app, pilot):
        form = await open_provision_form(pilot)
        iran = await iran_listed_for_i(pilot, form, tenant_name)
        await pilot.press(*"reland")  # pilot.press: the keys without pauses between them
        deliver_late(form, iran)
        await settle(pilot)
        assert "→ Ireland (IE) · region eu" in screen_text(app)
        await pilot.press("enter", "enter", "enter")
        await settle(pilot)
    assert country_of(open_as("ada"), tenant_name) == ("IE", "eu")


@story
async def test_a_late_highlight_after_no_match_is_refused_and_nothing_is_provisioned(
    open_as: Callable[..., Console], tenant_name: str
) -> None:
    async with console_app(open_as("olga")) as (app, pilot):
        form = await open_provision_form(pilot)
        iran = await iran_listed_for_i(pilot, form, tenant_name)
        burst(pilot, "xzq")
        # Even with the list focused, as when the operator moves in it.
        form.query_one("#provision-countries", OptionList).focus()
        deliver_late(form, iran)
        await settle(pilot)
        form.query_one("#provision-email", Input).focus()
        burst(pilot, "enter")
        await settle(pilot)
        assert "✗ no country matches 'ixzq'" in screen_text(app)
        assert app.screen is form and form.request is None
        assert form.query_one("#provision-country", Input).value == "ixzq"
    with pytest.raises(NotFound):
        open_as("ada").tenants.show(tenant_name)
    assert open_as("ada").tenants.list() == []


@story
async def test_changed_events_out_of_order_do_not_change_what_is_used(
    open_as: Callable[..., Console], tenant_name: str
) -> None:
    async with console_app(open_as("olga")) as (app, pilot):
        form = await open_provision_form(pilot)
        burst(pilot, tenant_name, "enter", "ireland")
        await settle(pilot)
        box = form.query_one("#provision-country", Input)
        for stale in ("irelan", "ir", "i", "korea"):  # late, and in the wrong order
            box.post_message(Input.Changed(box, stale))
        await settle(pilot)
        assert "→ Ireland (IE) · region eu" in screen_text(app)
        burst(pilot, "enter", "enter", "enter")
        await settle(pilot)
    assert country_of(open_as("ada"), tenant_name) == ("IE", "eu")


@story
async def test_a_pick_then_more_typing_in_one_burst_counts_for_nothing(
    open_as: Callable[..., Console], tenant_name: str
) -> None:
    async with console_app(open_as("olga")) as (app, pilot):
        form = await open_provision_form(pilot)
        # ↓ picks the first match of "kor"; the letters after it change the text, so the
        # pick goes: "korea" still matches two countries.
        burst(pilot, tenant_name, "enter", "kor")
        for key in ("down", "e", "a"):
            pilot.app.post_message(events.Key(key, None if key == "down" else key))
        burst(pilot, "enter", "enter", "enter")
        await settle(pilot)
        assert "✗ 'korea' matches 2 countries: pick one with ↑↓" in screen_text(app)
        assert form.request is None
        await pilot.press("down", "down")  # now the second: the Republic of Korea
        await settle(pilot)
        assert "→ Republic of Korea (KR) · region us" in screen_text(app)
        form.query_one("#provision-email", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
    assert country_of(open_as("ada"), tenant_name) == ("KR", "us")
