"""Notices: the operational notices (maintenance, outages, changes) not resolved or cancelled
(``a``: all), with their status, window and the tenants their stored scope holds, filtered
with ``/``; Enter opens a notice with its scope, updates and deliveries per channel; ``n``
drafts a new one.

Every member of staff sees notices (``notice.view``, not logged); operators and admins draft,
send, update, resolve and cancel them. Rows are read and shaped in a worker (the service the
command line's ``notice list`` and ``notice show`` call), again every ``[tui]
refresh_seconds`` while the screen is shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from aptien_ops.errors import OpsError
from aptien_ops.permissions import Action
from aptien_ops.screens.base import CLEAR_FILTER, FILTER, OpsScreen, open_row
from aptien_ops.screens.columns import ColumnSpec
from aptien_ops.screens.filter_bar import FilterBar
from aptien_ops.screens.formatting import plural
from aptien_ops.screens.lists import ListRow, ListTable
from aptien_ops.screens.notice_detail import NoticeDetailScreen
from aptien_ops.screens.notice_modals import DraftNoticeModal
from aptien_ops.screens.notice_render import list_cells, summary_text
from aptien_ops.screens.summary_list import SummaryListScreen
from aptien_ops.services.op_notice_results import NoticeDetail
from aptien_ops.services.op_notices import NoticeDraft, OpNoticeService

#: Id and status never cut; the title takes the rest (cut first, with …), the kind next.
COLUMNS = (
    ColumnSpec("Id", 13, essential=True),
    ColumnSpec("Status", 11, essential=True),
    ColumnSpec("Starts", 11),
    ColumnSpec("Tenants", 7, justify="right"),
    ColumnSpec("Kind", 5, shrink=True),
    ColumnSpec("Title", 8, share=1, shrink=True),
)


@dataclass(frozen=True)
class NoticeBoard:
    """One read of the notices, shaped for the table (in the worker that read them)."""

    rows: list[ListRow]
    summaries: dict[str, Text]
    everything: bool


def notice_board(service: OpNoticeService, everything: bool) -> NoticeBoard:
    """Runs in a worker: the notices, each with its stored scope counted per region (one
    read)."""
    rows: list[ListRow] = []
    summaries: dict[str, Text] = {}
    for row in service.list(everything=everything):
        n = row.notice
        rows.append(ListRow(n.id, list_cells(n, sum(row.regions.values()))))
        summaries[n.id] = summary_text(n, row.regions)
    return NoticeBoard(rows, summaries, everything)


class NoticesScreen(SummaryListScreen):
    """Every notice not finished (``a``: all); Enter opens one, ``n`` drafts one."""

    MODE = "notices"
    TITLE = "Notices"
    NAV_KEY = "N"
    IN_TABS = False
    CSS_PATH = Path(__file__).with_name("notices.tcss")
    AUTO_FOCUS = "#notices-table"
    BINDINGS = [
        FILTER,
        CLEAR_FILTER,
        open_row("open the highlighted notice: scope, updates, deliveries per channel"),
        Binding("n", "draft", "New", tooltip="draft a notice: kind, title, body, window, scope"),
        Binding("a", "toggle_all", "All/open", tooltip="show every notice, or those not finished"),
    ]
    PERMISSIONS = {"draft": Action.NOTICE_DRAFT}
    DETAIL_SCREEN = NoticeDetailScreen
    #: Other operators draft and send notices, and windows start: read again while shown.
    AUTO_REFRESH = True
    NOUN = "notice"
    NONE_YET = "No notice in progress, scheduled or drafted (n drafts one; a shows all)."

    def __init__(self) -> None:
        super().__init__()
        self.everything = False
        self.board = NoticeBoard([], {}, False)

    def compose_body(self) -> ComposeResult:
        yield FilterBar(id="notices-filter")
        yield Static("loading…", id="notices-status")
        yield ListTable(COLUMNS, id="notices-table")
        yield Static(id="notices-detail")

    def refresh_data(self) -> None:
        service, everything = self.console.op_notices, self.everything
        self.load(lambda: notice_board(service, everything), self._loaded)

    def _loaded(self, board: NoticeBoard) -> None:
        self.board = board
        self.summaries, self.listed = board.summaries, len(board.rows)
        self.query_one(ListTable).fill(board.rows)
        which = "in all" if board.everything else "not resolved or cancelled"
        self.show_status(Text(f"{plural(len(board.rows), 'notice')} {which}"))
        self.show_summary(self.selected())

    def show_status(self, line: Text) -> None:
        self.query_one("#notices-status", Static).update(line)

    def service_refused(self, error: OpsError) -> None:
        """A read or a change refused or failed: one line on the screen, in the service's
        words (the dialogs show their own)."""
        self.show_status(Text(f"✗ {error.one_line()}", style="red"))
        if error.code == "forbidden":
            self.ops.refresh_roles()

    def action_toggle_all(self) -> None:
        self.everything = not self.everything
        self.refresh_data()

    def open_screen(self, key: str, then: str) -> OpsScreen:
        return NoticeDetailScreen(key, then=then or None)

    def action_draft(self, draft: NoticeDraft | None = None) -> None:
        open_draft(self, draft)


def open_draft(screen: OpsScreen, draft: NoticeDraft | None = None) -> None:
    """The draft form (prefilled with ``draft``: the Fleet screen's maintenance of a cluster);
    once drafted, the new notice's page opens."""
    service = screen.console.op_notices

    def act(given: NoticeDraft) -> Callable[[], NoticeDetail]:
        return partial(service.draft, given)

    def drafted(detail: NoticeDetail) -> None:
        screen.notify(
            f"{detail.id} drafted: {plural(len(detail.tenants), 'tenant')} in scope"
            " (s on it sends it)",
            title="Notice drafted",
            markup=False,
        )
        screen.app.push_screen(NoticeDetailScreen(detail.id))

    who = screen.ops.approvers_of(Action.NOTICE_SEND_USERS)
    modal = DraftNoticeModal(screen.console.ctx.now(), draft, approvers=who)
    screen.app.push_screen(modal.acting(screen, act, drafted))
