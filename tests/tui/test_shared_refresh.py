"""Screens of shared state read the catalog again by themselves every ``[tui] refresh_seconds``
(and on r or ctrl+r), showing what other operators changed without losing the cursor, the filter
or the region filter (which R cycles).
The timer's tick is called as the timer calls it (no sleeps). At 80x24."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import DataTable
from tui_helpers import (
    FROZEN_NOW,
    console_app,
    highlighted_tenant,
    screen_text,
    settle,
    story,
    tenant_rows,
)

from aptien_ops.composition import Console
from aptien_ops.config import load_settings
from aptien_ops.domain import Tenant, TenantState
from aptien_ops.errors import ConfigError
from aptien_ops.screens.backups import BackupsScreen
from aptien_ops.screens.base import highlighted_key
from aptien_ops.screens.tenants import TenantsScreen

pytestmark = pytest.mark.tui

EU = ["acme-gmbh", "anatolia-foods", "lagos-fintech", "nile-textiles", "nordlicht-as"]


@pytest.fixture
def every_7_seconds(sandbox: Path) -> None:
    text = sandbox.read_text()
    assert "refresh_seconds = 30" in text
    sandbox.write_text(text.replace("refresh_seconds = 30", "refresh_seconds = 7"))


def another_operator_changes_the_fleet(console: Console) -> None:
    """A tenant provisioned ahead of the highlighted one (in the filter and out of it), and the
    highlighted one suspended, written by another session."""
    with console.ctx.catalog.transaction() as tx:
        for name, country, region in (("abacus-shipping", "GR", "eu"), ("aaa-us", "US", "us")):
            tx.tenants.insert(
                Tenant(
                    name, country, region, f"{region}-sandbox-1", TenantState.ACTIVE,
                    None, None, FROZEN_NOW, FROZEN_NOW,
                )
            )  # fmt: skip
        lagos = tx.tenants.get("lagos-fintech", for_update=True)
        assert lagos is not None
        from dataclasses import replace

        tx.tenants.update(replace(lagos, state=TenantState.SUSPENDED), by="olga")


@story
async def test_the_tenants_list_shows_another_operators_change_keeping_cursor_and_filter(
    open_as: Callable[..., Console], demo_tenants: None, frozen: None, every_7_seconds: None
) -> None:
    async with console_app(open_as("ada"), screen="2", size=(80, 24)) as (app, pilot):
        screen = app.screen
        assert isinstance(screen, TenantsScreen)
        timer = screen._reload_timer
        assert timer is not None and timer._interval == 7  # [tui] refresh_seconds
        await pilot.press("slash", *"eu", "enter")
        await settle(pilot)
        assert [t.name for t in tenant_rows(app)][:5] == EU
        await pilot.press("down", "down")
        await settle(pilot)
        assert highlighted_tenant(app) == "lagos-fintech"
        another_operator_changes_the_fleet(open_as("olga"))
        screen.timed_reload()  # what the timer calls every 7 s
        await settle(pilot)
        names = [t.name for t in tenant_rows(app)]
        assert names[:6] == ["abacus-shipping", *EU]
        assert "aaa-us" not in names, "the filter still applies"
        assert highlighted_tenant(app) == "lagos-fintech", "the cursor stayed on its tenant"
        assert screen.needle == "eu"
        assert "filter 'eu'" in screen_text(app)
        lagos_row = next(line for line in screen_text(app).splitlines() if "lagos-fintech" in line)
        assert "suspended" in lagos_row
        assert "↻ 09:26" in screen_text(app)


@story
async def test_a_refresh_interval_of_0_reads_only_on_demand(
    open_as: Callable[..., Console], demo_tenants: None, sandbox: Path
) -> None:
    sandbox.write_text(sandbox.read_text().replace("refresh_seconds = 30", "refresh_seconds = 0"))
    async with console_app(open_as("ada"), screen="2", size=(80, 24)) as (app, _pilot):
        assert app.screen._reload_timer is None


@pytest.mark.parametrize("value", ["3", "3601", '"often"'])
def test_a_refresh_interval_out_of_range_is_refused_naming_the_key(
    sandbox: Path, value: str
) -> None:
    sandbox.write_text(
        sandbox.read_text().replace("refresh_seconds = 30", f"refresh_seconds = {value}")
    )
    with pytest.raises(ConfigError, match=r"tui.*refresh_seconds"):
        load_settings(sandbox)


@story
async def test_the_backups_list_shows_a_backup_another_operator_ran_keeping_cursor_and_filter(
    open_as: Callable[..., Console], provisioned: Callable[..., str]
) -> None:
    for name, country in (("acme-gmbh", "DE"), ("nordlicht-as", "NO")):
        provisioned(name, country)
    olga = open_as("olga")
    [first] = olga.backups.run(["acme-gmbh"])
    [second] = olga.backups.run(["acme-gmbh"])
    async with console_app(open_as("ada"), screen="8", size=(80, 24)) as (app, pilot):
        screen = app.screen
        assert isinstance(screen, BackupsScreen)
        await pilot.press("slash", *"acme", "enter")
        await settle(pilot)
        table = screen.query_one(DataTable)
        table.move_cursor(row=table.get_row_index(first.backup_id))
        await settle(pilot)
        [third] = olga.backups.run(["acme-gmbh"])  # another operator, meanwhile
        olga.backups.run(["nordlicht-as"])
        screen.timed_reload()  # what the timer calls
        await settle(pilot)
        shown = {str(key.value) for key in table.rows}
        assert shown == {first.backup_id, second.backup_id, third.backup_id}, "the filter stays"
        assert highlighted_key(table) == first.backup_id, "the cursor stayed on its backup"
        assert screen.needle == "acme"


@story
async def test_the_dashboard_counts_what_another_operator_changed(
    open_as: Callable[..., Console], demo_tenants: None, frozen: None
) -> None:
    async with console_app(open_as("vic"), size=(80, 24)) as (app, pilot):
        assert "│ all         10          1             0          1       0     12" in (
            screen_text(app)
        )
        another_operator_changes_the_fleet(open_as("olga"))
        app.screen.timed_reload()
        await settle(pilot)
        # two tenants more (one in eu, one in us), and lagos-fintech suspended
        text = screen_text(app)
        assert "│ all         11          2             0          1       0     14" in text
        assert "14 due, none overdue yet (press 8)" in text


# -- r reads again on every screen, R cycles the region filter (r never changes it) ----------


@pytest.mark.parametrize("reload", ["r", "ctrl+r"])
@story
async def test_r_reads_the_tenants_again_keeping_the_region_and_shift_r_cycles_it(
    open_as: Callable[..., Console], demo_tenants: None, frozen: None, reload: str
) -> None:
    async with console_app(open_as("ada"), screen="2", size=(80, 24)) as (app, pilot):
        await pilot.press("R")
        await settle(pilot)
        assert app.region_filter == "eu"
        await pilot.press("down")
        await settle(pilot)
        before = highlighted_tenant(app)
        another_operator_changes_the_fleet(open_as("olga"))
        await pilot.press(reload)
        await settle(pilot)
        names = [t.name for t in tenant_rows(app)]
        assert "abacus-shipping" in names and "aaa-us" not in names
        assert app.region_filter == "eu", "r reads again; it does not cycle the region"
        assert highlighted_tenant(app) == before
        await pilot.press("R")
        await settle(pilot)
        assert app.region_filter == "us"
        assert "aaa-us" in [t.name for t in tenant_rows(app)]


@story
async def test_r_reads_the_dashboard_again_keeping_the_region_and_shift_r_cycles_it(
    open_as: Callable[..., Console], demo_tenants: None, frozen: None
) -> None:
    async with console_app(open_as("vic"), size=(80, 24)) as (app, pilot):
        await pilot.press("R")
        await settle(pilot)
        assert app.region_filter == "eu"
        eu_row = "│ eu           5          1             0          0       0      6"
        assert eu_row in screen_text(app), screen_text(app)
        another_operator_changes_the_fleet(open_as("olga"))
        await pilot.press("r")
        await settle(pilot)
        text = screen_text(app)
        # abacus-shipping more, lagos-fintech suspended
        assert "│ eu           5          2             0          0       0      7" in text, text
        assert app.region_filter == "eu" and "region: eu" in text.splitlines()[0]
        await pilot.press("R")
        await settle(pilot)
        assert app.region_filter == "us"


@story
async def test_r_reads_the_backups_again_keeping_the_region_and_shift_r_cycles_it(
    open_as: Callable[..., Console], provisioned: Callable[..., str]
) -> None:
    provisioned("acme-gmbh", "DE")
    provisioned("maple-health", "CA")
    async with console_app(open_as("ada"), screen="8", size=(80, 24)) as (app, pilot):
        screen = app.screen
        assert isinstance(screen, BackupsScreen)
        await pilot.press("R")
        await settle(pilot)
        assert app.region_filter == "eu"
        table = screen.query_one(DataTable)
        assert table.row_count == 0
        olga = open_as("olga")
        [eu] = olga.backups.run(["acme-gmbh"])  # another operator, meanwhile
        [us] = olga.backups.run(["maple-health"])
        await pilot.press("r")
        await settle(pilot)
        assert {str(key.value) for key in table.rows} == {eu.backup_id}
        assert app.region_filter == "eu", "r reads again; it does not cycle the region"
        await pilot.press("R")
        await settle(pilot)
        assert app.region_filter == "us"
        assert {str(key.value) for key in table.rows} == {us.backup_id}
