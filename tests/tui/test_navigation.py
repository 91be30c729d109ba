"""An operator moves around the console by keys alone, at 80x24, and by the command palette."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from textual._xterm_parser import XTermParser
from textual.widgets import Input
from tui_helpers import console_app, from_palette, screen_text, settle, story, tenant_rows

from aptien_ops.composition import Console
from aptien_ops.screens.app import OpsApp
from aptien_ops.screens.approvals import ApprovalsScreen
from aptien_ops.screens.commands import OpsCommands
from aptien_ops.screens.dashboard import DashboardScreen
from aptien_ops.screens.event_table import EventTable
from aptien_ops.screens.fleet import FleetScreen
from aptien_ops.screens.formatting import TENANT_STATE_STYLES
from aptien_ops.screens.help import HelpScreen, key_sections
from aptien_ops.screens.incidents import IncidentsScreen
from aptien_ops.screens.jobs_screen import JobsScreen
from aptien_ops.screens.modals import RolePickerModal
from aptien_ops.screens.notices import NoticesScreen
from aptien_ops.screens.operators import OperatorsScreen
from aptien_ops.screens.opslog import OpsLogScreen
from aptien_ops.screens.tenants import TenantsScreen

pytestmark = pytest.mark.tui

SCREENS_BY_KEY = [
    ("1", DashboardScreen),
    ("2", TenantsScreen),
    ("3", OperatorsScreen),
    ("4", ApprovalsScreen),
    ("5", OpsLogScreen),
    ("6", FleetScreen),
    ("exclamation_mark", IncidentsScreen),
    ("N", NoticesScreen),
    ("J", JobsScreen),
]


@story
async def test_each_screen_is_one_key_away(
    open_as: Callable[..., Console], demo_tenants: None
) -> None:
    async with console_app(open_as("ada")) as (app, pilot):
        assert isinstance(app.screen, DashboardScreen)
        for key, screen_class in [*SCREENS_BY_KEY[1:], SCREENS_BY_KEY[0]]:
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, screen_class), key


@story
async def test_the_dashboard_counts_tenants_per_region_without_listing_them(
    open_as: Callable[..., Console], demo_tenants: None
) -> None:
    async with console_app(open_as("vic")) as (app, pilot):
        shown = screen_text(app)
        assert re.search(r"│ all +10 +1 +0 +1 +0 +12 +│", shown), shown
        assert "Backups" in shown and "Partners: breaches" in shown
        app.screen.query_one("#dashboard-cards").scroll_end(animate=False)  # under the fold
        await settle(pilot)
        assert "Breaches" in screen_text(app) and "Billing" in screen_text(app)


@pytest.mark.parametrize(
    "title, screen_class",
    [
        ("Go to Tenants", TenantsScreen),
        ("Go to Operators", OperatorsScreen),
        ("Go to Approvals", ApprovalsScreen),
        ("Go to Ops log", OpsLogScreen),
        ("Go to Fleet", FleetScreen),
        ("Go to Dashboard", DashboardScreen),
    ],
)
@story
async def test_the_command_palette_reaches_every_screen(
    open_as: Callable[..., Console], title: str, screen_class: type
) -> None:
    async with console_app(open_as("ada")) as (app, pilot):
        if screen_class is DashboardScreen:
            await pilot.press("3")
            await settle(pilot)
        await from_palette(pilot, title)
        assert isinstance(app.screen, screen_class)


@story
async def test_help_opens_with_question_mark_and_f1_and_lists_screen_keys(
    open_as: Callable[..., Console],
) -> None:
    async with console_app(open_as("ada")) as (app, pilot):
        for key in ("question_mark", "f1"):
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen)
            sections = {title: dict(rows) for title, rows in key_sections(app)}
            assert "filter" in sections["Tenants"]["/"]
            assert "grant a role" in sections["Operators"]["+"]
            assert "approve" in sections["Approvals"]["a"]
            assert "HMAC" in sections["Ops log"]["v"]
            assert "lock" in sections["Everywhere"]["ctrl+l"]
            assert "read what the screen shows again" in sections["Everywhere"]["r, ctrl+r"]
            assert "region filter" in sections["Tenants"]["R"]
            assert "region filter" in sections["Backups"]["R"]
            assert "restore" in sections["Backups"]["E"]
            assert "r" not in sections["Tenants"] and "r" not in sections["Approvals"]
            assert sections["Everywhere"]["6"] == "go to Fleet"
            assert (
                "provision" in sections["Tenants"]["n"] and "open" in sections["Tenants"]["Enter"]
            )
            assert (
                "suspend" in sections["Tenant"]["s"] and "type its name" in sections["Tenant"]["p"]
            )
            assert "upgrade tenant schemas" in sections["Fleet"]["m"]
            assert "Keys" in screen_text(app)
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, DashboardScreen)


@story
async def test_slash_filters_tenants_by_any_column(
    open_as: Callable[..., Console], demo_tenants: None
) -> None:
    async with console_app(open_as("vic"), screen="2") as (app, pilot):
        table = app.screen.query_one(EventTable)
        assert len(tenant_rows(app)) == 12
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press(*"ke")  # Kenya's country code, and "sakura-robotics" by name
        await settle(pilot)  # the catalog filters the tenants
        rows = tenant_rows(app)
        names = [t.name for t in rows]
        assert names == ["savanna-logistics"] or set(names) >= {"savanna-logistics"}
        assert all("ke" in f"{t.name} {t.country}".lower() for t in rows)
        await pilot.press("enter")
        assert app.focused is table
        assert f"{len(names)} found · filter 'ke'" in screen_text(app)


def filter_text(app: OpsApp) -> str:
    tenants = next(s for s in app.screen_stack if isinstance(s, TenantsScreen))
    return tenants.query_one(Input).value


@pytest.mark.parametrize(
    "typed, then",
    [
        ("\x1b?", "help opens"),  # Textual reads Esc + "?" typed fast as "?" alone
        ("\x1bs", "sorted by country"),  # and Esc + "s" as alt+s
    ],
)
@story
async def test_a_key_typed_right_after_escape_leaves_the_filter_and_acts(
    open_as: Callable[..., Console], demo_tenants: None, typed: str, then: str
) -> None:
    async with console_app(open_as("vic"), screen="2") as (app, pilot):
        await pilot.press("slash", *"ke")
        parser = XTermParser()
        for event in [
            *parser.feed(typed),
            *parser.feed(""),
        ]:  # the terminal's bytes, as Textual reads them
            app._driver.send_message(event)  # the way real input (and Pilot.press) comes in
        await settle(pilot)
        assert filter_text(app) == "ke"
        if then == "help opens":
            assert isinstance(app.screen, HelpScreen)
        else:
            assert app.focused is app.screen.query_one(EventTable)
            assert then in screen_text(app)


@story
async def test_escape_clears_the_filter_and_a_second_goes_back_to_the_table(
    open_as: Callable[..., Console], demo_tenants: None
) -> None:
    async with console_app(open_as("vic"), screen="2") as (app, pilot):
        table = app.screen.query_one(EventTable)
        await pilot.press("slash", *"ke", "escape")
        await settle(pilot)
        assert filter_text(app) == "" and len(tenant_rows(app)) == 12
        assert isinstance(app.focused, Input)
        await pilot.press("escape")
        assert app.focused is table
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)


@story
async def test_region_key_filters_tenants_and_shows_in_the_header(
    open_as: Callable[..., Console], demo_tenants: None
) -> None:
    async with console_app(open_as("vic"), screen="2") as (app, pilot):
        await pilot.press("R")
        await settle(pilot)
        assert app.region_filter == "eu"
        assert "region: eu" in screen_text(app).splitlines()[0]
        regions = {t.region for t in tenant_rows(app)}
        assert regions == {"eu"}
        await pilot.press("R", "R")
        await settle(pilot)
        assert app.region_filter is None
        assert len(tenant_rows(app)) == 12


@story
async def test_s_cycles_the_sort_column(
    open_as: Callable[..., Console], demo_tenants: None
) -> None:
    async with console_app(open_as("vic"), screen="2") as (app, pilot):
        await pilot.press("s")  # by country
        await settle(pilot)  # the catalog sorts the rows
        countries = [t.country for t in tenant_rows(app)]
        assert countries == sorted(countries)
        assert "sorted by country" in screen_text(app)


@story
async def test_the_palette_runs_a_screens_action_from_anywhere(
    open_as: Callable[..., Console],
) -> None:
    async with console_app(open_as("ada")) as (app, pilot):
        await from_palette(pilot, "revoke role")
        assert isinstance(app.screen, RolePickerModal)
        assert app.screen_stack[-2].__class__ is OperatorsScreen


@story
async def test_the_palette_offers_no_screenshot_of_tenant_data(
    open_as: Callable[..., Console],
) -> None:
    async with console_app(open_as("ada")) as (app, _):
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Quit" in titles and "Screenshot" not in titles


@pytest.mark.parametrize("operator", ["ada", "sam"])
@story
async def test_palette_entries_read_as_actions_with_keys_as_the_footer_shows_them(
    open_as: Callable[..., Console], operator: str
) -> None:
    async with console_app(open_as(operator)) as (app, _):
        commands = OpsCommands(app.screen).commands()
        for title, help_text, _ in commands:
            assert ":" not in title, title  # "Verify backup", not "Backups: Verify"
            assert not re.search(r"\b(slash|enter|escape|ctrl\+\w)\b", help_text), help_text
        titles = [title for title, _, _ in commands]
        assert {"Go to Backups", "Refresh", "Show keys of every screen"} <= set(titles)
        assert ("Verify backup" in titles) is (operator == "ada")
        assert ("Find user by e-mail" in titles) is (operator == "sam")


@story
async def test_the_tenants_list_colours_each_state_as_every_screen_does(
    open_as: Callable[..., Console], demo_tenants: None
) -> None:
    async with console_app(open_as("vic")) as (app, pilot):
        await pilot.press("2")
        await settle(pilot)
        table = app.screen.query_one(EventTable)
        colours: dict[str, str] = {}
        for y in range(1, table.size.height):
            for segment in table.render_line(y):
                word = segment.text.strip()
                if word in TENANT_STATE_STYLES and segment.style and segment.style.color:
                    colours[word] = segment.style.color.name
        # The cursor's row takes the cursor's style; the other rows show their state's colour.
        assert colours.get("suspended") == "yellow" and colours.get("cancelled") == "red"
        assert colours.get("active") == "green"
