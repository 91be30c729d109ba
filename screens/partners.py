"""Partners: the official register at a glance (kind, coverage, agreement until, and whether
each is eligible, expiring, lapsed or ended), filtered with ``/``; Enter opens a partner with
its agreements, reviews, assignments and shares.

The register is read and shaped into rows in a worker; the UI thread only fills the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from aptien_ops.domain.partners import utc_date
from aptien_ops.screens.base import CLEAR_FILTER, FILTER, open_row
from aptien_ops.screens.columns import ColumnSpec
from aptien_ops.screens.filter_bar import FilterBar
from aptien_ops.screens.formatting import plain, plural
from aptien_ops.screens.lists import ListRow, ListTable
from aptien_ops.screens.partner_detail import PartnerDetailScreen
from aptien_ops.screens.partner_render import (
    coverage_text,
    glance,
    kind_text,
    row_summary,
    until_text,
)
from aptien_ops.screens.summary_list import SummaryListScreen

#: The state second, never cut; at 60 columns the kind and coverage are cut first (with …).
COLUMNS = (
    ColumnSpec("Name", 10, share=2, shrink=True, essential=True),
    ColumnSpec("State", 8, essential=True),
    ColumnSpec("Until", 10),
    ColumnSpec("Kind", 4, shrink=True),
    ColumnSpec("Coverage", 4, share=2, shrink=True),
)


@dataclass(frozen=True)
class Register:
    """One read of the register, shaped for the table (in the worker that read it)."""

    rows: list[ListRow]
    summaries: dict[str, Text]
    eligible: int


class PartnersScreen(SummaryListScreen):
    """Every partner of the register; the state column says what needs an operator."""

    MODE = "partners"
    TITLE = "Partners"
    NAV_KEY = "0"
    CSS_PATH = Path(__file__).with_name("partners.tcss")
    AUTO_FOCUS = "#partners-table"
    BINDINGS = [
        FILTER,
        CLEAR_FILTER,
        open_row("open the highlighted partner: agreements, reviews, assignments, shares"),
    ]
    DETAIL_SCREEN = PartnerDetailScreen
    NOUN = "partner"
    NONE_YET = "No partners yet."

    def __init__(self) -> None:
        super().__init__()
        self.register = Register([], {}, 0)

    def compose_body(self) -> ComposeResult:
        yield FilterBar(id="partners-filter")
        yield Static("loading…", id="partners-status")
        yield ListTable(COLUMNS, id="partners-table")
        yield Static(id="partners-detail")

    def refresh_data(self) -> None:
        self.load(self._read, self._loaded)

    def _read(self) -> Register:
        """Runs in a worker thread: the register, each partner's row and summary lines."""
        today = utc_date(self.console.ctx.now())
        rows: list[ListRow] = []
        summaries: dict[str, Text] = {}
        eligible = 0
        for p in self.console.partners.list():
            eligible += p.eligible
            state = glance(
                p.status,
                p.eligible,
                p.in_force_until,
                today,
                expiring=p.expiring,
                review_overdue=p.review_overdue,
            )
            cells = (
                plain(p.name),
                state,
                until_text(p.in_force_until, p.eligible),
                kind_text(p.kinds),
                plain(coverage_text(p.coverage)),
            )
            rows.append(ListRow(p.name, cells))
            summaries[p.name] = row_summary(p, state)
        return Register(rows, summaries, eligible)

    def _loaded(self, register: Register) -> None:
        self.register = register
        self.summaries, self.listed = register.summaries, len(register.rows)
        self.query_one(ListTable).fill(register.rows)
        total = len(register.rows)
        self.query_one("#partners-status", Static).update(
            f"{plural(total, 'partner')} · {register.eligible} eligible today (UTC)"
        )
        self.show_summary(self.selected())
