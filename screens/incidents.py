"""Incidents: every personal-data breach not closed, with its 72-hour clock (time left;
highlighted under 24 hours; OVERDUE in red past 72 without a report; stopped once reported),
filtered with ``/``; Enter opens an incident with its timeline, scope, reports and deliveries.

Shown to the ``security`` and ``admin`` roles (``breach.view``); others are told who may see
it, and the service is not asked. Rows are read and shaped in a worker, again every
``AUTO_REFRESH_SECONDS`` while the screen is shown (the clocks move on).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from aptien_ops.permissions import Action
from aptien_ops.screens.base import CLEAR_FILTER, FILTER, OpsScreen, open_row
from aptien_ops.screens.columns import ColumnSpec
from aptien_ops.screens.filter_bar import FilterBar
from aptien_ops.screens.formatting import minute, plain, plural
from aptien_ops.screens.incident_detail import IncidentDetailScreen
from aptien_ops.screens.incident_modals import OpenIncidentModal
from aptien_ops.screens.incident_render import (
    clock_cell,
    list_clock_cell,
    severity_cell,
    status_cell,
)
from aptien_ops.screens.lists import ListRow, ListTable
from aptien_ops.screens.summary_list import SummaryListScreen
from aptien_ops.services.incident_results import IncidentDetail, IncidentRow

#: The clock second and never cut (worded short: :func:`list_clock_cell`); the title takes
#: the rest, 32 cells at 80 columns, and is cut first (with …). The severity is in the summary.
COLUMNS = (
    ColumnSpec("Id", 13, essential=True),
    ColumnSpec("Clock", 12, essential=True),
    ColumnSpec("Status", 9),
    ColumnSpec("Title", 8, share=1, shrink=True),
)


@dataclass(frozen=True)
class Board:
    """One read of the incidents, shaped for the table (in the worker that read it)."""

    rows: list[ListRow]
    summaries: dict[str, Text]
    overdue: int
    urgent: int


def board(incidents: list[IncidentRow]) -> Board:
    """Rows and summary lines, most urgent clock first (overdue, then soonest deadline)."""
    ordered = sorted(
        incidents,
        key=lambda r: (not r.countdown.running, r.countdown.deadline_at, r.id),
    )
    rows: list[ListRow] = []
    summaries: dict[str, Text] = {}
    for r in ordered:
        cells = (r.id, list_clock_cell(r.countdown), status_cell(str(r.status)), plain(r.title))
        rows.append(ListRow(r.id, cells))
        line = Text(f"{r.id}  ", style="bold")
        line.append_text(plain(r.title))
        line.append("\n")
        line.append_text(clock_cell(r.countdown))
        line.append(" · severity ")
        line.append_text(severity_cell(str(r.severity)))
        line.append(
            f" · risk to people: {r.risk_to_people}\naware {minute(r.aware_at)} UTC"
            f" · deadline {minute(r.countdown.deadline_at)} UTC"
        )
        summaries[r.id] = line
    overdue = sum(r.countdown.overdue for r in incidents)
    urgent = sum(r.countdown.urgent for r in incidents)
    return Board(rows, summaries, overdue, urgent)


class IncidentsScreen(SummaryListScreen):
    """Every incident not closed; the clock column says which report is due first."""

    MODE = "incidents"
    TITLE = "Incidents"
    NAV_KEY = "exclamation_mark"
    IN_TABS = False
    CSS_PATH = Path(__file__).with_name("incidents.tcss")
    AUTO_FOCUS = "#incidents-table"
    BINDINGS = [
        FILTER,
        CLEAR_FILTER,
        open_row("open the highlighted incident: timeline, scope, reports, deliveries"),
        Binding("n", "open_incident", "New", tooltip="open a new incident: its clock starts"),
    ]
    PERMISSIONS = {"open_incident": Action.BREACH_OPEN}
    DETAIL_SCREEN = IncidentDetailScreen
    #: The clocks run and other officers open incidents: read again while shown.
    AUTO_REFRESH = True
    NOUN = "incident"
    NONE_YET = "No open incidents."

    def __init__(self) -> None:
        super().__init__()
        self.board = Board([], {}, 0, 0)
        #: Why nothing is shown (the operator's roles do not allow incidents), or "".
        self.closed = ""

    def compose_body(self) -> ComposeResult:
        yield FilterBar(id="incidents-filter")
        yield Static("loading…", id="incidents-status")
        yield ListTable(COLUMNS, id="incidents-table")
        yield Static(id="incidents-detail")

    def refresh_data(self) -> None:
        if self.ops.roles is None:
            return  # roles still loading; this runs again when they arrive
        offer = self.ops.offer(Action.BREACH_VIEW)
        if not offer.allowed:
            # Not asking the service spares the log a denial entry for merely opening the tab.
            self.closed = f"Incidents are shown to the {' or '.join(offer.needs)} roles only."
            self._loaded(Board([], {}, 0, 0))
            return
        self.closed = ""
        incidents = self.console.incidents
        self.load(lambda: board(incidents.list()), self._loaded)

    def _loaded(self, shaped: Board) -> None:
        self.board = shaped
        self.summaries, self.listed = shaped.summaries, len(shaped.rows)
        self.query_one(ListTable).fill(shaped.rows)
        status = self.query_one("#incidents-status", Static)
        if self.closed:
            status.update(Text(self.closed, style="yellow"))
        else:
            line = Text(f"{plural(len(shaped.rows), 'incident')} not closed")
            if shaped.overdue:
                line.append(f" · {shaped.overdue} OVERDUE", style="bold white on red")
            if shaped.urgent:
                line.append(f" · {shaped.urgent} under 24h", style="bold yellow")
            status.update(line)
        self.show_summary(self.selected())

    def no_summary(self) -> str:
        return "" if self.closed else super().no_summary()

    def open_screen(self, key: str, then: str) -> OpsScreen:
        return IncidentDetailScreen(key, then=then or None)

    def action_open_incident(self) -> None:
        service = self.console.incidents

        def opened(detail: IncidentDetail) -> None:
            self.notify(
                f"{detail.id} opened: report due by {minute(detail.incident.deadline_at)} UTC",
                title="Incident opened",
            )

        modal = OpenIncidentModal(self.console.ctx.now())
        self.app.push_screen(modal.acting(self, lambda given: partial(service.open, given), opened))
