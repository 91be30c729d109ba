"""The big lists read one page per switch, whatever the fleet's size, on SQLite and PostgreSQL:
the catalog filters, orders and counts the tenants, and the screen reads the page its cursor
nears. Counted at the adapter's edge (every tenant row it turns into a ``Tenant``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fleet_fill import fill_fleet
from tui_helpers import console_app, highlighted_tenant, screen_text, settle, story, tenant_rows

from aptien_ops.backends.sql_catalog import backups as backup_adapter
from aptien_ops.backends.sql_catalog import tenants as tenant_adapter
from aptien_ops.backup_policy import BackupRecord
from aptien_ops.composition import Console
from aptien_ops.domain import ListedTenant, Tenant, TenantQuery
from aptien_ops.domain.backup_index import DueFact
from aptien_ops.screens.backups import BackupsScreen
from aptien_ops.screens.backups_view import DUE_SHOWN, WINDOW
from aptien_ops.screens.dashboard import DashboardScreen
from aptien_ops.screens.page_window import MAX_ROWS, PAGE_ROWS
from aptien_ops.screens.tenants import TenantsScreen

pytestmark = pytest.mark.tui

FLEET = 10_000


@pytest.fixture
def sandbox(catalog_config: Path) -> Path:
    """The TUI's sandbox with a SQLite or a PostgreSQL catalog."""
    return catalog_config


@pytest.fixture
def rows_read(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """``[n]``: tenant rows the catalog adapter turned into ``Tenant``s (a list's page: into
    ``ListedTenant``s, each with its licence) since last set to 0."""
    read = [0]
    make, listed = tenant_adapter._tenant, tenant_adapter._listed

    def counted(row: Any) -> Tenant:
        read[0] += 1
        return make(row)

    def counted_listed(row: Any) -> ListedTenant:
        read[0] += 1
        return listed(row)

    monkeypatch.setattr(tenant_adapter, "_tenant", counted)
    monkeypatch.setattr(tenant_adapter, "_listed", counted_listed)
    yield read


@pytest.fixture
def backups_read(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    """Backup rows the index adapter turned into ``BackupRecord``s and due items into
    ``DueFact``s, and the pages of each it was asked for, since the counts were last set
    to 0."""
    read = {"backups": 0, "due": 0, "pages": 0, "due pages": 0}
    record, fact = backup_adapter._record, backup_adapter.DueFact
    index = backup_adapter.SqlBackupIndex
    page, due = index.page, index.due

    def counted_record(row: Any) -> BackupRecord:
        read["backups"] += 1
        return record(row)

    def counted_fact(*args: Any) -> DueFact:
        read["due"] += 1
        return fact(*args)

    def counted_page(*args: Any, **kwargs: Any) -> Any:
        read["pages"] += 1
        return page(*args, **kwargs)

    def counted_due(*args: Any, **kwargs: Any) -> Any:
        read["due pages"] += 1
        return due(*args, **kwargs)

    monkeypatch.setattr(backup_adapter, "_record", counted_record)
    monkeypatch.setattr(backup_adapter, "DueFact", counted_fact)
    monkeypatch.setattr(index, "page", counted_page)
    monkeypatch.setattr(index, "due", counted_due)
    yield read


@story
async def test_the_backups_and_the_dashboard_read_a_page_and_counts_of_10000_tenants_backups(
    open_as: Callable[..., Console], backups_read: dict[str, int]
) -> None:
    admin = open_as(None)
    fill_fleet(admin, FLEET)  # one backup each, none verified: every tenant is due something
    async with console_app(admin, screen="1") as (app, pilot):
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        assert "overdue verification" in screen_text(app)
        per_step = {"dashboard": dict(backups_read)}

        async def step(name: str, *keys: str) -> None:
            await settle(pilot)
            backups_read.update(dict.fromkeys(backups_read, 0))
            await pilot.press(*keys)
            await settle(pilot)
            per_step[name] = dict(backups_read)

        await step("first visit", "8")
        assert isinstance(app.screen, BackupsScreen)
        view = app.screen.view()
        assert view is not None and not isinstance(view.due, Exception)
        assert (view.backups, len(view.by_id)) == (FLEET, WINDOW)
        assert len(view.due) == DUE_SHOWN and view.due_count >= FLEET
        assert f"{FLEET:,} backups of {FLEET:,} tenants" in screen_text(app)
        await pilot.press("1")
        await step("dashboard again", "ctrl+r")
        await step("return", "8")
        await step("filter", "slash", *"tenant-00999", "enter")
        assert app.screen.view().backups == 1  # type: ignore[attr-defined]
        await step("refresh", "ctrl+r")
        await step("region", "R")
        assert {r.record.region for r in app.screen.view().by_id.values()} == {"eu"}  # type: ignore[attr-defined]
    # The dashboard counts (it builds no backup and no due item); the Backups screen reads a
    # page of the index and the due items it shows (a read per step; typing a filter may
    # read as it goes), never the whole fleet.
    assert per_step["dashboard"]["backups"] == per_step["dashboard"]["due"] == 0, per_step
    assert per_step["dashboard again"]["backups"] == per_step["dashboard again"]["due"] == 0
    for name, n in per_step.items():
        assert n["backups"] <= WINDOW * n["pages"], (name, n)
        assert n["due"] <= DUE_SHOWN * n["due pages"], (name, n)
        assert name == "filter" or n["pages"] <= 1, (name, n)


@story
async def test_a_switch_to_the_tenants_reads_one_page_of_a_10000_tenant_fleet(
    open_as: Callable[..., Console], rows_read: list[int]
) -> None:
    admin = open_as(None)
    fill_fleet(admin, FLEET)
    async with console_app(admin, screen="1") as (app, pilot):
        per_step: dict[str, int] = {}

        async def step(name: str, *keys: str) -> None:
            await settle(pilot)
            rows_read[0] = 0
            await pilot.press(*keys)
            await settle(pilot)
            per_step[name] = rows_read[0]

        await step("first visit", "2")
        assert isinstance(app.screen, TenantsScreen)
        screen = app.screen
        assert "1–" in screen_text(app) and f"of {FLEET:,} tenants" in screen_text(app)
        await pilot.press("1")  # the dashboard, and back: a return
        await step("return", "2")
        await step("End", "end")
        assert highlighted_tenant(app) == f"tenant-{FLEET - 1:05d}"
        assert f"–{FLEET:,} of {FLEET:,} tenants" in screen_text(app)
        await step("Home", "home")
        assert highlighted_tenant(app) == "tenant-00000"
        await step("j", "j")
        assert highlighted_tenant(app) == "tenant-00001"
        for _ in range(12):  # PgDn well past the first page: the next ones are read
            await step("pagedown", "pagedown")
        assert len(screen.window) <= MAX_ROWS
        await step("filter", "slash", *"0999", "enter")
        assert {t.name for t in tenant_rows(app)} == {
            "tenant-00999",
            *(f"tenant-0999{i}" for i in range(10)),
        }
        assert "11 found · filter '0999'" in screen_text(app)
        await step("refresh", "ctrl+r")
        await step("sort", "s")
        await step("region", "R")
        assert {t.region for t in tenant_rows(app)} == {"eu"}
    # Never the whole fleet: a page (and the one around the cursor) per step.
    assert max(per_step.values()) <= PAGE_ROWS, per_step
    assert sum(per_step.values()) < FLEET // 10, per_step


@story
async def test_the_catalog_filters_orders_and_counts_a_page_alike_on_both_adapters(
    open_as: Callable[..., Console], rows_read: list[int]
) -> None:
    admin = open_as(None)
    fill_fleet(admin, 1_000)
    tenants = admin.tenants
    page = tenants.page(TenantQuery(order="state"), offset=0, limit=50)
    assert len(page.tenants) == 50 and rows_read[0] == 50
    assert (page.tally.matches, page.tally.total) == (1_000, 1_000)
    keys = [(str(t.state), t.name) for t in page.tenants]
    assert keys == sorted(keys) and keys[0][0] == "active"
    found = tenants.page(TenantQuery(region="eu", grep="TENANT-0000"), offset=0, limit=3)
    assert [t.name for t in found.tenants] == ["tenant-00001", "tenant-00003", "tenant-00005"]
    assert (found.tally.matches, found.tally.total) == (5, 500)  # 00001 … 00009, of eu's 500
    around = tenants.page(TenantQuery(), offset=0, limit=20, around="tenant-00500")
    assert around.offset == 490 and around.tenants[10].name == "tenant-00500"
    last = tenants.page(TenantQuery(), offset=5_000, limit=20)  # past the end: the last page
    assert last.offset == 980 and last.tenants[-1].name == "tenant-00999"
    literal = tenants.page(TenantQuery(grep="%"), offset=0, limit=10)  # a literal, not a wildcard
    assert literal.tenants == () and literal.tally.matches == 0
