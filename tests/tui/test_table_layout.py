"""Every table screen at 60x20, 80x24 and 200x50, one terminal resized between them, with the
column widths read from the widget: an essential column (a name, a state) is always wholly on
screen, at 80 columns its values are never cut, and at 200 the extra width went to the columns
with a share of it (names, e-mail and IP addresses, targets) while states, dates and counts
stayed as wide as their values."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pytest
from test_snapshots import fleet
from tui_helpers import console_app, settle, story

from aptien_ops.composition import Console
from aptien_ops.screens.columns import ColumnSpec
from aptien_ops.screens.event_table import EventTable
from aptien_ops.screens.lists import ListTable

pytestmark = pytest.mark.tui

__all__ = ["fleet"]  # a fixture used by name

SIZES = ((60, 20), (80, 24), (200, 50))


@dataclass(frozen=True)
class Placed:
    """Where a column is drawn: its value's cells, its right edge, its widest value."""

    spec: ColumnSpec
    width: int
    right: int
    content: int


def placed(table: ListTable | EventTable) -> tuple[list[Placed], int]:
    """Each column as the widget lays it out now, and how many cells of the table are seen."""
    columns: list[Placed] = []
    right = 0
    if isinstance(table, ListTable):
        for spec, column in zip(table.specs, table.ordered_columns, strict=True):
            right += column.get_render_width(table)
            columns.append(Placed(spec, column.width, right, column.content_width))
        assert table.scroll_x == 0
        return columns, table.size.width - table.styles.scrollbar_size_vertical
    seen = table.scrollable_content_region.width
    for spec, width, content in zip(table.columns, table._widths(seen), table.natural, strict=True):
        right += 1 + width
        columns.append(Placed(spec, width, right, content))
    return columns, seen


def check_sizes(layouts: Sequence[tuple[list[Placed], int]], what: str) -> None:
    (at_60, seen_60), (at_80, seen_80), (at_200, seen_200) = layouts
    for size, (columns, seen) in zip(SIZES, layouts, strict=True):
        for c in columns:
            where = f"{what} at {size}: {c.spec.title!r}"
            if c.spec.essential:
                assert c.right <= seen, f"{where} is pushed off ({c.right} > {seen})"
                assert c.width >= c.spec.least, where
            if not c.spec.shrink and not c.spec.wrap:
                assert c.width >= c.content, f"{where} cut ({c.width} < {c.content})"
    # At 80 columns an essential value is whole, unless every other column that may be cut
    # gave way first (a long e-mail beside an IP, a result and a method).
    gave_way = all(c.width == c.spec.least for c in at_80 if c.spec.shrink and not c.spec.essential)
    for c in at_80:
        if c.spec.essential:
            assert c.width >= c.content or gave_way, f"{what} at 80x24: {c.spec.title!r} is cut"
    grew = 0
    for c80, c200 in zip(at_80, at_200, strict=True):
        where = f"{what}: {c200.spec.title!r}"
        if c200.spec.share:
            assert c200.width >= c80.width, where
            grew += c200.width - c80.width
        else:
            assert c200.width == max(c200.spec.least, c200.content), f"{where} took extra width"
    assert grew >= (seen_200 - seen_80) // 2, f"{what}: the wide columns got {grew} cells"
    assert seen_60 < seen_80 < seen_200


async def layouts_of(
    console: Console, keys: Sequence[str], table: str
) -> list[tuple[list[Placed], int]]:
    """Open the screen at 60x20, then resize the terminal to 80x24 and 200x50."""
    found: list[tuple[list[Placed], int]] = []
    async with console_app(console, size=SIZES[0]) as (app, pilot):
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        for size in SIZES:
            await pilot.resize_terminal(*size)
            await settle(pilot)
            found.append(placed(app.screen.query_one(table)))
    return found


LISTS = {
    "tenants": ("ada", ("2",), "#tenants-table"),
    "operators": ("ada", ("3",), "#operators-table"),
    "approvals": ("ada", ("4",), "#approvals-table"),
    "ops log": ("ada", ("5",), "#opslog-table"),
    "find user": ("sam", ("7",), "#find-table"),
    "backups": ("olga", ("8",), "#backups-table"),
    "policy": ("ada", ("9",), "#policy-table"),
    "partners": ("ada", ("0",), "#partners-table"),
    "notices": ("ada", ("N",), "#notices-table"),
}


@pytest.mark.parametrize("screen", LISTS)
@story
async def test_every_list_keeps_its_essential_columns_and_widens_the_wide_ones(
    fleet: None, partner_register: None, open_as: Callable[..., Console], screen: str
) -> None:
    operator, keys, table = LISTS[screen]
    check_sizes(await layouts_of(open_as(operator), keys, table), screen)


@pytest.mark.parametrize("tab", ["l", "a"], ids=["logins", "audit"])
@story
async def test_the_logins_and_audit_tables_keep_their_essential_columns(
    frozen: None,
    seed_tenants: Callable[..., list[str]],
    open_as: Callable[..., Console],
    tab: str,
) -> None:
    seed_tenants()
    table = "#logins-table" if tab == "l" else "#audit-table"
    layouts = await layouts_of(open_as("sam"), ("2", "enter", tab), table)
    check_sizes(layouts, table)
    (at_80, _), (at_200, _) = layouts[1], layouts[2]
    if tab == "l":  # the user's address and the IP got the extra width, the IP up to IPv6's
        user, ip = at_200[1], at_200[2]
        assert user.width > at_80[1].width and ip.width == 39


@story
async def test_the_incidents_list_keeps_its_id_and_clock_and_widens_the_title(
    frozen: None, incident_board: dict[str, str], open_as: Callable[..., Console]
) -> None:
    layouts = await layouts_of(open_as("sam"), ("exclamation_mark",), "#incidents-table")
    check_sizes(layouts, "incidents")
    (at_80, _), (at_200, _) = layouts[1], layouts[2]
    title_80, title_200 = at_80[-1], at_200[-1]
    assert title_200.width >= title_200.content > title_80.width  # whole at 200 columns
    # At 80x24 the title has the room: only the id, the short clock and the status beside it.
    assert [c.spec.title for c in at_80] == ["Id", "Clock", "Status", "Title"]
    assert title_80.width >= 30, title_80
