"""How every table shares out its width (screens/columns.py), without an app: the rule itself,
every table's columns at the smallest terminal, and the logins burst line at 80 and 60 columns.
The tables themselves, at 60x20, 80x24 and 200x50, are in test_table_layout.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console
from rich.text import Text

from aptien_ops.login_activity import BurstThresholds, FailureBurst, LoginActivity
from aptien_ops.screens import (
    approvals,
    backup_render,
    backups_view,
    dashboard,
    find_user,
    fleet,
    operators,
    opslog,
    partners,
    policy,
    tenants,
)
from aptien_ops.screens.activity_chart import burst_line, middle
from aptien_ops.screens.columns import SMALLEST, ColumnSpec, SpecGrid, fit
from aptien_ops.screens.event_table import column_widths
from aptien_ops.screens.inspect_kinds import AUDIT, LOGINS

IPV6 = "2001:0db8:85a3:0000:0000:8a2e:0370:7334"
LONG_EMAIL = "bartholomew.featherstonehaugh-worthington@subsidiary.example-holdings.com"

#: Every DataTable list: its columns, and what one column costs beside its value (the cells'
#: padding) on a line 60 cells wide less the scrollbar.
LISTS = {
    "approvals": approvals.COLUMNS,
    "operators": operators.COLUMNS,
    "find user": find_user.COLUMNS,
    "partners": partners.COLUMNS,
    "backups": backups_view.COLUMNS,
    "policy": policy.COLUMNS,
}
#: The virtual tables (one space before each column; the scrollbar takes one cell).
VIRTUAL = {
    "tenants": tenants.COLUMNS,
    "ops log": opslog.COLUMNS,
    "logins": LOGINS.columns,
    "audit": AUDIT.columns,
}


@pytest.mark.parametrize("name", LISTS)
def test_every_lists_columns_fit_in_60_columns_at_their_least(name: str) -> None:
    columns = LISTS[name]
    assert any(c.essential for c in columns), f"{name}: no essential column"
    assert sum(c.least + 2 for c in columns) <= SMALLEST - 1, name


@pytest.mark.parametrize("name", VIRTUAL)
def test_every_virtual_tables_columns_fit_in_60_columns_at_their_least(name: str) -> None:
    columns = VIRTUAL[name]
    assert any(c.essential for c in columns), f"{name}: no essential column"
    assert sum(c.least + 1 for c in columns) <= SMALLEST - 1, name


@pytest.mark.parametrize("name", ["dashboard counts", "dashboard regions", "fleet", "due"])
def test_every_cards_columns_fit_in_60_columns_at_their_least(name: str) -> None:
    columns = {
        "dashboard counts": dashboard.COUNT_COLUMNS,
        "dashboard regions": dashboard.REGION_COLUMNS,
        "fleet": fleet.FINDING_COLUMNS,
        "due": backup_render.DUE_COLUMNS,
    }[name]
    # A card's border and padding take four cells; the grid puts two between columns.
    assert sum(c.least + 2 for c in columns) - 2 <= SMALLEST - 4, name


def spec(
    least: int, *, share: int = 0, shrink: bool = False, essential: bool = False, most: int = 0
) -> ColumnSpec:
    return ColumnSpec("x", least, share=share, shrink=shrink, essential=essential, most=most)


def test_a_column_that_may_not_shrink_is_as_wide_as_its_widest_value() -> None:
    state, name = spec(5, essential=True), spec(8, shrink=True, share=1)
    assert fit([name, state], [30, 12], 20) == [8, 12]


def test_an_essential_name_is_whole_before_other_columns_grow() -> None:
    name, cluster = spec(8, shrink=True, share=1, essential=True), spec(6, shrink=True)
    assert fit([name, cluster], [17, 12], 25) == [17, 8]


def test_an_essential_column_gives_back_cells_only_down_to_its_least() -> None:
    name, state = spec(10, shrink=True, essential=True), spec(9, essential=True)
    assert fit([name, state], [40, 9], 22) == [13, 9]
    assert fit([name, state], [40, 9], 5) == [10, 9]  # too narrow: nothing below its least


def test_the_extra_width_goes_by_share_to_the_wide_columns_only() -> None:
    columns = [spec(11), spec(10, share=3, shrink=True), spec(15, share=2, shrink=True, most=39)]
    at_80, at_200 = fit(columns, [11, 30, 15], 70), fit(columns, [11, 30, 15], 190)
    assert at_80[0] == at_200[0] == 11  # a date never takes the extra width
    assert at_200[2] == 39  # an IPv6 address whole, no wider
    assert at_200[1] == 190 - 11 - 39 and sum(at_200) == 190
    assert at_80[1] >= 30 and sum(at_80) == 70


def test_without_a_wide_column_the_table_stays_as_wide_as_its_values() -> None:
    assert fit([spec(6), spec(5)], [6, 8], 200) == [6, 8]


@pytest.mark.parametrize("width", [59, 60, 79, 80, 120, 199, 200, 300])
def test_a_virtual_tables_line_is_never_wider_than_the_table(width: int) -> None:
    for columns in VIRTUAL.values():
        natural = [40 if c.shrink else max(len(c.title), c.least) for c in columns]
        widths = column_widths(columns, width, natural)
        assert sum(widths) + len(widths) <= width


def test_the_logins_ip_column_holds_an_ipv6_address_whole_at_200_columns() -> None:
    natural = [11, len(LONG_EMAIL), len(IPV6), 14, 8]
    titles = [c.title for c in LOGINS.columns]
    at_80 = dict(zip(titles, column_widths(LOGINS.columns, 79, natural), strict=True))
    at_200 = dict(zip(titles, column_widths(LOGINS.columns, 199, natural), strict=True))
    assert at_80["IP"] >= 15 and at_80["Result"] == 14  # an IPv4 address, a result whole
    assert at_200["IP"] == len(IPV6) and at_200["User"] >= len(LONG_EMAIL)
    assert at_200["When (UTC)"] == at_80["When (UTC)"] == 11


def rendered(grid: SpecGrid, width: int) -> list[str]:
    console = Console(width=width, record=True, color_system=None, legacy_windows=False)
    console.print(grid)
    return console.export_text().rstrip("\n").splitlines()


def test_a_card_cuts_a_long_name_with_an_ellipsis_and_wraps_its_prose() -> None:
    rows = [("  " + "x" * 50, "eu · eu-sandbox-1", "catalog says active, but the database is gone")]
    lines = rendered(SpecGrid(fleet.FINDING_COLUMNS, rows, header=False), 56)
    assert all(len(line) <= 56 for line in lines)
    assert "…" in lines[0] and "gone" in " ".join(lines)


def activity(key: str, by: str, *, bursts: int = 2) -> LoginActivity:
    until = datetime(2025, 3, 14, 9, 26, tzinfo=UTC)
    start = until - timedelta(days=2, hours=3)
    burst = FailureBurst(by, key, start, start + timedelta(minutes=4), 12_345)
    return LoginActivity(
        since=until - timedelta(days=7),
        until=until,
        per="hour",
        logins=99_999,
        failures=12_345,
        distinct_users=1,
        distinct_ips=1,
        distinct_user_agents=1,
        buckets=(),
        bursts=(burst,) * bursts,
        first_seen_ips=(),
        thresholds=BurstThresholds(20, timedelta(minutes=10)),
    )


def fits(line: Text, width: int) -> str:
    assert line.cell_len <= width, (width, line.plain)
    return line.plain


@pytest.mark.parametrize("width", [78, 58])  # 80 and 60 columns less the chart's padding
@pytest.mark.parametrize("key, by", [(LONG_EMAIL, "user"), (IPV6, "ip"), ("203.0.113.7", "ip")])
def test_the_burst_line_fits_and_keeps_what_matters(width: int, key: str, by: str) -> None:
    line = fits(burst_line(activity(key, by), width), width)
    assert line.startswith("⚠ 2 bursts · ")
    assert "12,345 fail" in line and "at 03-12 06:26" in line  # how many, and when
    said = "for" if by == "user" else "from"
    shown = line.split(f" {said} ", 1)[1].split(" at ", 1)[0]
    assert shown == key or (shown == middle(key, len(shown)) and "…" in shown)
    assert shown[:5] == key[:5] and shown[-4:] == key[-4:]  # its start and its domain


def test_the_burst_line_keeps_its_window_when_there_is_room() -> None:
    line = fits(burst_line(activity("203.0.113.7", "ip", bursts=1), 120), 120)
    assert line == (
        "⚠ 1 burst · latest: 12,345 failures from 203.0.113.7 at 03-12 06:26"
        " · per hour 03-07 09:26 → 03-14 09:26"
    )


@pytest.mark.parametrize("width", [78, 58])
def test_the_calm_burst_line_fits(width: int) -> None:
    line = fits(burst_line(activity("x", "ip", bursts=0), width), width)
    assert line.startswith("no bursts (≥ 20 failures in 10 min)")


def test_middle_keeps_both_ends() -> None:
    assert middle("greta.vogel@acme.example", 24) == "greta.vogel@acme.example"
    assert middle("greta.vogel@acme.example", 12) == "greta.…ample"
    assert len(middle(IPV6, 15)) == 15
