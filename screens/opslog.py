"""The ops log: all of it, newest first, paged from the catalog as the operator moves (a
virtual table holding at most ``MAX_ROWS`` entries); ``v`` verifies the whole chain and ``w``
checks it against its witnesses outside the catalog too (the event log, the stores'
checkpoints).

↑↓ PgUp PgDn move through the log, reading the next page by seq as the cursor nears an edge;
Home jumps to the newest entry and End to the oldest. The status line says where the view is
(``entries 1–17 of 12,345``). The log reloads by itself while shown (new entries appear above
and the cursor stays on its entry), and on ``r``/ctrl+r.

``/`` filters the whole log in the catalog (:mod:`aptien_ops.screens.list_filter`): the table
is then the entries holding the text, paged the same way, however old they are.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from aptien_ops.domain import OpsLogEntry, OpsLogPage
from aptien_ops.errors import IntegrityFailure, OpsError
from aptien_ops.opslog import VerifyReport
from aptien_ops.permissions import Action
from aptien_ops.screens.base import CLEAR_FILTER, FILTER, open_row
from aptien_ops.screens.event_table import Column, EventTable
from aptien_ops.screens.filter_bar import FilterBar
from aptien_ops.screens.formatting import count, outcome_text, short_minute
from aptien_ops.screens.list_filter import CatalogFilteredScreen
from aptien_ops.screens.modals import RecordModal
from aptien_ops.screens.opslog_window import MAX_ROWS, PAGE_ROWS, LogWindow
from aptien_ops.screens.paged_list import PagedTable
from aptien_ops.services.opslog_service import Witnesses
from aptien_ops.terminal_text import shown

#: Target last: it takes a wide terminal's extra width, a narrow one cuts it (with …), and
#: the detail pane repeats it. Who did what and how it ended are never pushed off.
COLUMNS = (
    Column("#", 5, value=lambda e: str(e.seq)),
    Column("Time (UTC)", 11, value=lambda e: short_minute(e.logged_at)),
    Column(
        "Operator", 8, share=1, shrink=True, most=16, essential=True, value=lambda e: e.operator
    ),
    Column("Action", 14, share=2, shrink=True, most=24, essential=True, value=lambda e: e.action),
    Column("Outcome", 8, share=1, shrink=True, most=16, essential=True, value=lambda e: e.outcome),
    Column("Target", 6, share=3, shrink=True, value=lambda e: e.target),
)


def refused(entry: OpsLogEntry) -> bool:
    """Denied and failed attempts are drawn in red (ok and pending are not)."""
    return entry.outcome not in ("ok", "pending")


class OpsLogScreen(CatalogFilteredScreen):
    """Every operator action and denial, as the tamper-evident log recorded it."""

    MODE = "opslog"
    TITLE = "Ops log"
    NAV_KEY = "5"
    CSS_PATH = Path(__file__).with_name("opslog.tcss")
    AUTO_FOCUS = "#opslog-table"
    BINDINGS = [
        Binding(
            "v", "verify", "Verify chain", tooltip="check every entry's HMAC and the signed head"
        ),
        Binding(
            "w",
            "verify_witnessed",
            "With witnesses",
            tooltip="also check the event log and the backup stores' checkpoints: a wiped,"
            " truncated or rolled-back log is named",
        ),
        FILTER,
        CLEAR_FILTER,
        open_row("open the highlighted entry: who, from where, and every parameter"),
    ]
    PERMISSIONS = {"verify": Action.OPSLOG_VERIFY, "verify_witnessed": Action.OPSLOG_VERIFY}
    AUTO_REFRESH = True

    @classmethod
    def help_sections(cls) -> list[tuple[str, list[tuple[str, str]]]]:
        return [
            (
                "Ops log entries",
                [
                    ("↑ ↓ PgUp PgDn", "move; older pages are read as the cursor nears them"),
                    ("Home", "the newest entry"),
                    ("End", "the oldest entry of the whole log"),
                ],
            )
        ]

    def __init__(self, page_rows: int = PAGE_ROWS, max_rows: int = MAX_ROWS) -> None:
        super().__init__()
        self.page_rows = page_rows
        self.window = LogWindow(max_rows)
        #: Which read is on its way ("first", "after", "before", "top", "bottom", "again").
        self.pending: str | None = None
        self._generation = 0
        #: Why nothing is shown (the operator's roles do not allow the log), or "".
        self.closed = ""

    def compose_body(self) -> ComposeResult:
        yield Static(id="opslog-verify")
        yield Static(id="opslog-status")
        yield FilterBar(id="opslog-filter")
        yield PagedTable(COLUMNS, self.window, alert=refused, id="opslog-table")
        yield Static(id="opslog-detail")

    def on_mount(self) -> None:
        self.query_one("#opslog-verify", Static).update(
            "v verifies the whole chain (HMAC and signed head)"
        )

    @property
    def table(self) -> PagedTable:
        return self.query_one(PagedTable)

    # -- reading pages ---------------------------------------------------------------------

    def refresh_data(self) -> None:
        if self.ops.roles is None:
            return  # roles still loading; this runs again when they arrive
        offer = self.ops.offer(Action.OPSLOG_VIEW)
        if not offer.allowed:
            # Not asking the service spares the log a denial entry for merely opening the tab.
            needed = " or ".join(offer.needs)
            self.closed = f"The ops log is shown to the {needed} roles only."
            self._generation += 1  # an answer still on its way is not shown
            self.window.clear()
            self.table.reset()
            self._show_detail(None)
            return
        self.closed = ""
        if not self.window.read or not self.window.has_before:
            self._read("first" if not self.window.read else "again")
        else:
            self._read("again", before=(self.window.newest_seq or 0) + 1)

    def _read(self, what: str, *, before: int | None = None, after: int | None = None) -> None:
        """Read a page in a worker; ``what`` says what to do with it when it is in."""
        self._generation += 1
        generation, self.pending = self._generation, what
        rows = self.page_rows if what != "again" else max(self.page_rows, len(self.window))
        rows = min(rows, self.window.max_rows)
        opslog, grep = self.console.opslog, self.needle or None
        self.load(
            lambda: opslog.page(limit=rows, before=before, after=after, grep=grep),
            lambda page: self._take(generation, what, page),
        )
        self._show_status()

    def filter_applied(self) -> None:
        """The whole log read again for the entries holding the filter (or all)."""
        if self.closed or self.ops.roles is None:
            return
        self._read("filter")

    @on(EventTable.Wanted)
    def _wanted(self, event: EventTable.Wanted) -> None:
        event.stop()
        direction = event.direction
        if direction == "top":
            self._read("top")
        elif direction == "bottom":
            self._read("bottom", after=0)
        elif self.pending is None and direction == "after" and self.window.has_after:
            self._read("after", before=self.window.oldest_seq)
        elif self.pending is None and direction == "before" and self.window.has_before:
            self._read("before", after=self.window.newest_seq)

    def _take(self, generation: int, what: str, page: OpsLogPage) -> None:
        if generation != self._generation:
            return  # a later read was asked for; its answer is what counts
        self.pending = None
        table, window = self.table, self.window
        if what == "after":
            table.window_changed(dropped_above=window.add_older(page))
        elif what == "before":
            table.window_changed(added_above=window.add_newer(page))
        else:
            self._replaced(what, page)
        self._show_status()
        table.check_edges()  # the cursor may already be near the new edge
        if self.needle:
            self.show_found(window.total)

    def _replaced(self, what: str, page: OpsLogPage) -> None:
        """A page that replaces the window: the first, an end, or the same entries again."""
        table, window = self.table, self.window
        highlighted = table.highlighted
        following = table.cursor == 0  # on the newest entry: stay on the newest
        window.replace(page)
        table.reset()
        if what == "bottom":
            table.move_to(window.end - 1)
        elif what in ("again", "filter") and highlighted is not None and not following:
            position = window.position_of(highlighted.seq)
            table.move_to(position if position is not None else window.first)
        else:
            table.move_to(window.first)

    def service_refused(self, error: OpsError) -> None:
        if isinstance(error, IntegrityFailure):
            # Shown where the operator is looking, in red, naming the entry; not as a toast.
            self.query_one("#opslog-verify", Static).update(
                Text(f"✗ integrity failure: {error.one_line()}", style="bold red")
            )
            return
        self.pending = None
        self._show_status()
        super().service_refused(error)

    # -- showing ---------------------------------------------------------------------------

    @on(EventTable.Highlighted)
    def _highlighted(self, event: EventTable.Highlighted) -> None:
        event.stop()
        self._show_detail(event.row)
        self._show_status()

    def _show_status(self) -> None:
        window, table = self.window, self.table
        text = Text()
        if self.closed:
            pass
        elif not window.read:
            text.append("reading the ops log…", style="dim")
        elif not window.total:
            text.append("the ops log is empty", style="dim")
        else:
            top, bottom = table.on_screen()
            text.append(f"entries {count(top + 1)}–{count(bottom)}", style="bold")
            matching = " that hold the filter" if self.needle else ""
            text.append(f" of {count(window.total)}{matching}, newest first")
            if self.pending is not None:
                text.append(" · reading…", style="dim")
            elif bottom < window.total:
                text.append(" · End: the oldest", style="dim")
        self.query_one("#opslog-status", Static).update(text)

    def _show_detail(self, entry: OpsLogEntry | None) -> None:
        detail = self.query_one("#opslog-detail", Static)
        detail.update(self.closed if entry is None else entry_text(entry))

    def action_open_detail(self) -> None:
        entry = self.table.highlighted
        if entry is None:
            self.notify("no entry selected", severity="warning")
            return
        self.app.push_screen(RecordModal(f"Ops log #{entry.seq}", entry_text(entry)))

    # -- verify ----------------------------------------------------------------------------

    def action_verify(self) -> None:
        self.query_one("#opslog-verify", Static).update(
            Text("verifying the chain…", style="yellow")
        )
        self.change(self.console.opslog.verify, self._verified)

    def action_verify_witnessed(self) -> None:
        self.query_one("#opslog-verify", Static).update(
            Text("verifying the chain against the event log and the stores…", style="yellow")
        )
        witnesses = Witnesses((self.console.settings.logging.file,), store=True)
        self.change(lambda: self.console.opslog.verify(witnesses), self._verified)

    def _verified(self, report: VerifyReport) -> None:
        intact = f"✓ ops log intact: {count(report.entries)} entries"
        text = Text(f"{intact}, signed head at #{report.head_seq}", style="bold green")
        witness = report.witness
        if witness is not None:
            text.append(f"; witnesses agree up to #{witness.highest_seq}", style="bold green")
            if witness.untrusted:
                first = shown(witness.untrusted[0])
                text.append(f"\n{len(witness.untrusted)} not trusted: {first}", style="bold yellow")
        self.query_one("#opslog-verify", Static).update(text)


def entry_text(entry: OpsLogEntry) -> Text:
    """One entry in full: what on which target, the outcome, who from where, the parameters."""
    text = Text()
    text.append(f"#{entry.seq} {shown(entry.action)} {shown(entry.target)} → ", style="bold")
    text.append_text(outcome_text(entry.outcome))
    who = (
        entry.operator
        if entry.operator == entry.os_account
        else f"{entry.operator} (OS account {entry.os_account})"
    )
    text.append(f"\nat {entry.at} by {shown(who)} from {shown(entry.ssh_origin or 'local')}")
    if entry.approval_id is not None:
        text.append(f" · approval #{entry.approval_id}")
    text.append(f"\nparameters {shown(entry.params)}", style="dim")
    return text
