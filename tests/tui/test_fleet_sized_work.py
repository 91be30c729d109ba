"""What the UI thread does on the Fleet and Backups screens does not grow with the fleet: the
same at 1,000 tenants as at 10,000 (issue 11, "never freeze").

Counted, not timed: the findings the UI thread handles (matches against the filter, rows laid
out, findings grouped) and the rows handed to the Backups table on a return.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import pytest
from fleet_fill import fill_fleet
from rich.console import Group
from sqlalchemy import delete, select
from textual.widgets import DataTable, Static
from tui_helpers import console_app, screen_text, settle, story

from aptien_ops.backends import catalog_schema as schema
from aptien_ops.composition import Console
from aptien_ops.screens import fleet
from aptien_ops.screens.backups import BackupsScreen
from aptien_ops.screens.backups_view import WINDOW
from aptien_ops.screens.columns import SpecGrid
from aptien_ops.screens.fleet import FINDINGS_SHOWN, SHOWN_PER_KIND_AT_LEAST, FleetScreen
from aptien_ops.screens.lists import ListTable

pytestmark = pytest.mark.tui

T = TypeVar("T")


async def at_1000_and_10000(
    open_as: Callable[..., Console], visit: Callable[[Console], Awaitable[T]]
) -> tuple[T, T]:
    """What ``visit`` finds on a fleet of 1,000 tenants, then of 10,000 (a console opened
    anew on the larger catalog)."""
    admin = open_as(None)
    fill_fleet(admin, 1_000)
    small = await visit(admin)
    fill_fleet(admin, 9_000, start=1_000)
    return small, await visit(open_as(None))


def on_ui_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


class FindingsHandled:
    """Counts, on the UI thread only, the findings matched against a filter, laid out as a
    row, or handed to the report that groups them."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.ui = Counter[str]()
        text, row, report = fleet._finding_text, fleet._finding_row, fleet.findings_report

        def matched(finding: Any) -> str:
            self._note("matched")
            return text(finding)

        def laid_out(finding: Any) -> Any:
            self._note("laid out")
            return row(finding)

        def grouped(findings: Sequence[Any]) -> Any:
            self._note("grouped", len(findings))
            return report(findings)

        monkeypatch.setattr(fleet, "_finding_text", matched)
        monkeypatch.setattr(fleet, "_finding_row", laid_out)
        monkeypatch.setattr(fleet, "findings_report", grouped)

    def _note(self, what: str, n: int = 1) -> None:
        if on_ui_thread():
            self.ui[what] += n


async def fleet_visit(console: Console, handled: FindingsHandled) -> tuple[int, Counter[str]]:
    """Show the Fleet screen, then filter its findings by a text every finding holds; the
    findings the check found, and what the UI thread did with them (check done, filter
    shown)."""
    async with console_app(console) as (app, pilot):
        await pilot.press("6")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, FleetScreen) and screen.findings is not None
        found = screen.findings[None].findings
        handled.ui.clear()
        await pilot.press("slash", *"tenant", "enter")
        await settle(pilot)
        assert f"{found:,} of {found:,} findings hold the filter" in screen_text(app)
        report = screen.query_one("#fleet-report", Static).content
        assert isinstance(report, Group)  # what is laid out on the UI thread: a bounded few
        rows = sum(len(r.rows) for r in report.renderables if isinstance(r, SpecGrid))
        kinds = screen.findings[None].kinds
        assert 0 < rows <= max(FINDINGS_SHOWN, SHOWN_PER_KIND_AT_LEAST * kinds)
        await pilot.press("escape")  # every finding again
        await settle(pilot)
        assert "hold the filter" not in screen_text(app)
        return found, Counter(handled.ui)


@story
async def test_the_fleet_findings_and_their_filter_take_the_same_ui_work_at_1000_and_10000(
    open_as: Callable[..., Console], monkeypatch: pytest.MonkeyPatch
) -> None:
    handled = FindingsHandled(monkeypatch)
    # No databases: every tenant is a finding.
    (small_found, small), (large_found, large) = await at_1000_and_10000(
        open_as, lambda console: fleet_visit(console, handled)
    )
    assert small_found >= 1_000 and large_found >= 10_000
    # The findings are matched, grouped and laid out in workers; the UI thread only shows the
    # report they made: nothing of it is per finding.
    assert small == large == Counter(), (small, large)


class TableWork:
    """Rows handed to any DataTable and tables emptied (a refill), since last cleared."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.done = Counter[str]()
        add_row, clear = DataTable.add_row, ListTable.clear

        def added(table: DataTable[Any], *cells: Any, **options: Any) -> Any:
            self.done["rows"] += 1
            return add_row(table, *cells, **options)

        def cleared(table: ListTable, *args: Any, **kwargs: Any) -> Any:
            self.done["clears"] += 1
            return clear(table, *args, **kwargs)

        monkeypatch.setattr(DataTable, "add_row", added)
        monkeypatch.setattr(ListTable, "clear", cleared)


def drop_newest_backup(console: Console) -> None:
    """Another operator's change: the newest backup leaves the index (every row of the
    window moves up by one, an older one comes in at the end)."""
    backups = schema.backups
    with console.ctx.catalog.transaction() as tx:
        newest = tx.conn.execute(
            select(backups.c.id).order_by(backups.c.created_at.desc()).limit(1)
        ).scalar_one()
        tx.conn.execute(delete(backups).where(backups.c.id == newest))


async def backups_returns(console: Console, work: TableWork) -> tuple[Counter[str], Counter[str]]:
    """Open the Backups screen, go to the dashboard and back twice (the second time after the
    index changed); what the table was given on each return."""
    async with console_app(console, screen="8") as (app, pilot):
        await settle(pilot)
        assert isinstance(app.screen, BackupsScreen)
        due = app.screen.query_one("#backups-due-list", Static)
        drawn: list[object] = []
        update = due.update
        due.update = lambda *a, **k: (drawn.append(a), update(*a, **k))[1]  # type: ignore[method-assign]
        returns = []
        for change in (None, drop_newest_backup):
            if change is not None:
                change(console)
            await pilot.press("1")
            await settle(pilot)
            work.done.clear()
            await pilot.press("8")
            await settle(pilot)
            assert app.screen.query_one(ListTable).row_count == WINDOW
            returns.append(Counter(work.done) + Counter(due=len(drawn)))
            drawn.clear()
        return returns[0], returns[1]


@story
async def test_a_backups_return_refills_nothing_unchanged_and_a_window_when_changed(
    open_as: Callable[..., Console], monkeypatch: pytest.MonkeyPatch
) -> None:
    work = TableWork(monkeypatch)
    (small_same, small_changed), (large_same, large_changed) = await at_1000_and_10000(
        open_as, lambda console: backups_returns(console, work)
    )
    # Nothing changed: the table keeps its rows, the Due box its report.
    assert small_same == large_same == Counter(), (small_same, large_same)
    # Changed: one refill of the window (a chunk per frame), whatever the fleet.
    for changed in (small_changed, large_changed):
        assert changed["clears"] == 1 and changed["rows"] == WINDOW, changed
        assert changed["due"] <= 1, changed
