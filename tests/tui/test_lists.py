"""Every list moves, filters and opens the same way, as a k9s or lazygit user expects: j/k, g/G,
Home/End move the cursor; ``/`` narrows the list to the rows whose text holds what is typed; Esc
clears the filter and a second Esc goes back to the list; Enter opens the highlighted row."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from textual.screen import Screen
from textual.widgets import Input
from tui_helpers import ManualClock, console_app, keys, screen_text, settle, story

from aptien_ops.backends.tenant_schema import utc_timestamp
from aptien_ops.composition import Console
from aptien_ops.errors import Forbidden, PendingApproval
from aptien_ops.screens.app import OpsApp
from aptien_ops.screens.event_table import EventTable
from aptien_ops.screens.filter_bar import FilterBar, FilterInput
from aptien_ops.screens.list_filter import CatalogFilteredScreen
from aptien_ops.screens.lists import ListTable
from aptien_ops.screens.modals import RecordModal
from aptien_ops.screens.tenant_detail import TenantDetailScreen

pytestmark = pytest.mark.tui

SnapCompare = Callable[..., bool]
EMAIL = "greta@example.org"
#: Tenants the lists of backups and of Find user results are tested on.
TENANTS = (("acme-gmbh", "DE"), ("sakura-robotics", "JP"), ("savanna-logistics", "KE"))


def requests(open_as: Callable[..., Console]) -> None:
    """Three admin requests by the OS account, and a grant vic was refused (four log entries)."""
    for name in ("sam", "olga", "pat"):
        with pytest.raises(PendingApproval):
            open_as(None).operators.grant(name, "admin")
    with pytest.raises(Forbidden):
        open_as("vic").operators.grant("olga", "admin")


def backups(open_as: Callable[..., Console], provisioned: Callable[..., str]) -> None:
    for name, country in TENANTS:
        provisioned(name, country)
    assert all(outcome.ok for outcome in open_as("olga").backups.run([n for n, _ in TENANTS]))


def users(open_as: Callable[..., Console], provisioned: Callable[..., str]) -> None:
    """``EMAIL`` is a user of every tenant of ``TENANTS``."""
    admin = open_as(None)
    for name, country in TENANTS:
        provisioned(name, country)
        with admin.ctx.store(admin.tenants.show(name).cluster or "").connect(name) as conn:
            conn.execute(
                "INSERT INTO users (email, display_name, created_at) VALUES (?, 'Greta', ?)",
                (EMAIL, utc_timestamp(datetime(2025, 1, 2, tzinfo=UTC))),
            )
            conn.commit()


@dataclass(frozen=True)
class ListCase:
    """A list screen: its key, who looks at it, a filter that keeps some of its rows, what
    Enter opens, and what the catalog must hold first."""

    key: str
    operator: str
    needle: str
    opens: type[Screen[object]]
    setup: Callable[[Callable[..., Console], Callable[..., str]], None] | None = None
    typed_first: tuple[str, ...] = field(default=())


CASES = {
    "tenants": ListCase("2", "vic", "ke", TenantDetailScreen),
    "operators": ListCase("3", "ada", "olga", RecordModal),
    "approvals": ListCase("4", "ada", "olga", RecordModal, lambda o, _p: requests(o)),
    "ops log": ListCase("5", "ada", "vic", RecordModal, lambda o, _p: requests(o)),
    "find user results": ListCase(
        "7", "sam", "sakura", TenantDetailScreen, users, typed_first=(*EMAIL, "enter")
    ),
    "backups": ListCase("8", "ada", "acme", RecordModal, backups),
    "policy": ListCase("9", "ada", "HOURS", RecordModal),
}


def rows_text(table: ListTable | EventTable) -> list[str]:
    if isinstance(table, EventTable):  # the ops log's paged virtual table
        rows = (table.window.row(i) for i in range(table.window.first, table.window.end))
        return [" ".join(c.value(row) for c in table.columns) for row in rows]
    return [" ".join(str(cell) for cell in table.get_row_at(i)) for i in range(table.row_count)]


def the_list(screen: Screen[object]) -> ListTable | EventTable:
    """The screen's list: a ListTable, or the ops log's EventTable."""
    tables = screen.query(ListTable)
    return tables.first() if tables else screen.query_one(EventTable)


def row_count(table: ListTable | EventTable) -> int:
    return len(table.window) if isinstance(table, EventTable) else table.row_count


def cursor_row(table: ListTable | EventTable) -> int:
    return table.cursor if isinstance(table, EventTable) else table.cursor_row


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
@story
async def test_every_list_moves_filters_and_opens_alike(
    case: ListCase,
    request: pytest.FixtureRequest,
    open_as: Callable[..., Console],
    provisioned: Callable[..., str],
) -> None:
    if case.key == "2":
        request.getfixturevalue("demo_tenants")
    if case.setup is not None:
        case.setup(open_as, provisioned)
    async with console_app(open_as(case.operator), screen=case.key) as (app, pilot):
        await pilot.press(*case.typed_first)
        await settle(pilot)
        table = the_list(app.screen)
        table.focus()
        total = row_count(table)
        assert total >= 3, rows_text(table)

        for key, row in (("j", 1), ("j", 2), ("k", 1), ("G", total - 1), ("g", 0)):
            await pilot.press(key)
            assert cursor_row(table) == row, key
        for key, row in (("end", total - 1), ("home", 0)):
            await pilot.press(key)
            assert cursor_row(table) == row, key

        await pilot.press("slash", *case.needle)
        await settle(pilot)
        needle = case.needle.lower()
        kept = rows_text(table)
        assert 0 < len(kept) < total and all(needle in row.lower() for row in kept), kept
        if isinstance(app.screen, CatalogFilteredScreen):  # the catalog searched all rows
            assert f"{len(kept)} found · filter '{needle}'" in screen_text(app), screen_text(app)
        else:
            assert f"{len(kept)} of {total} shown · filter '{needle}'" in screen_text(app)

        await pilot.press("escape")  # clears the filter, still in the bar
        await settle(pilot)
        assert row_count(table) == total and isinstance(app.focused, FilterInput)
        assert app.screen.query_one(FilterBar).needle == ""
        await pilot.press("escape")  # back to the list
        assert app.focused is table

        await pilot.press("slash", *case.needle, "enter")  # Enter keeps the filter
        await settle(pilot)
        assert app.focused is table and row_count(table) == len(kept)
        await pilot.press("escape")  # on the list: clears it
        await settle(pilot)
        assert row_count(table) == total and app.focused is table
        assert app.screen.query_one(FilterBar).display is (case.key == "2")  # Tenants keep it

        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, case.opens)


@story
async def test_typing_j_k_g_in_a_filter_types_letters(
    open_as: Callable[..., Console], demo_tenants: None
) -> None:
    async with console_app(open_as("ada"), screen="3") as (app, pilot):
        table = app.screen.query_one(ListTable)
        await pilot.press("j")
        assert table.cursor_row == 1
        await pilot.press("slash", *"jkgGq")
        await settle(pilot)
        assert isinstance(app.focused, Input) and app.focused.value == "jkgGq"
        assert table.cursor_row == 0 and table.row_count == 0  # no operator holds "jkggq"
        assert app.is_running  # q typed a letter; it did not quit


@story
async def test_fleet_findings_filter_and_scroll_with_the_list_keys(
    open_as: Callable[..., Console], demo_tenants: None
) -> None:
    # The demo tenants have no databases: each one is a finding.
    async with console_app(open_as("ada"), screen="6") as (app, pilot):
        await settle(pilot)
        assert "findings of" in screen_text(app)
        await pilot.press("slash", *"sakura")
        await settle(pilot)
        shown = screen_text(app)
        assert "sakura-robotics" in shown and "acme-gmbh" not in shown
        assert "1 of " in shown and "findings hold the filter" in shown
        await pilot.press("escape", "escape")
        await settle(pilot)
        assert "acme-gmbh" in screen_text(app)
        scroll = app.screen.query_one("#fleet-findings")
        assert app.focused is scroll
        await pilot.press("G")
        await pilot.pause()
        assert scroll.scroll_y == scroll.max_scroll_y
        await pilot.press("g")
        await pilot.pause()
        assert scroll.scroll_y == 0


@story
async def test_find_user_has_its_tab_and_every_tab_fits_80_columns(
    open_as: Callable[..., Console],
) -> None:
    async with console_app(open_as("sam"), screen="7") as (app, pilot):
        tabs = screen_text(app).splitlines()[1]
        assert " 7 Find " in tabs and tabs.endswith(" 8 Backups") and len(tabs) <= 80
    assert ("7", "find-user", "Find user") in OpsApp.tabs()


def test_a_filtered_list_at_80x24(
    snap_compare: SnapCompare, frozen: None, open_as: Callable[..., Console]
) -> None:
    requests(open_as)
    app = OpsApp(open_as("ada"), clock=ManualClock(), cursor_blink=False)
    assert snap_compare(app, terminal_size=(80, 24), run_before=keys("5", "slash", "text:olga"))


@story
async def test_escape_in_the_find_user_address_leaves_it_and_keeps_the_results_filter(
    open_as: Callable[..., Console], provisioned: Callable[..., str]
) -> None:
    users(open_as, provisioned)
    async with console_app(open_as("sam"), screen="7") as (app, pilot):
        await pilot.press(*EMAIL, "enter")
        await settle(pilot)
        table = app.screen.query_one(ListTable)
        await pilot.press("slash", *"sakura", "enter", "e")
        await settle(pilot)
        assert app.focused is app.screen.query_one("#find-email")
        await pilot.press("escape")
        await settle(pilot)
        assert app.focused is table and table.row_count == 1
