"""Backups: every backup with its verification, what is due, and the actions on them.

``b`` backs up a tenant (the highlighted one, editable in a small dialog), ``d`` runs what is
due (backups, then verifications), ``v`` verifies the highlighted backup at a chosen level,
``E`` restores it (into a new tenant, or over its own tenant's data once its name is typed: a
four-eyes request) and ``p`` prunes by retention after showing what would go. The actions and
their progress live in :mod:`aptien_ops.screens.backup_actions`; what the table shows for each
region filter is worked out in the worker by :mod:`aptien_ops.screens.backups_view`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Label, ProgressBar, Static

from aptien_ops.backup_policy import DueItem
from aptien_ops.errors import OpsError
from aptien_ops.permissions import Action
from aptien_ops.screens.backup_actions import BackupActions
from aptien_ops.screens.backup_render import detail_text, due_report, record_text
from aptien_ops.screens.backups_view import (
    COLUMNS,
    WINDOW,
    BackupsView,
    Shelf,
    read_shelf,
)
from aptien_ops.screens.base import (
    CLEAR_FILTER,
    FILTER,
    REGION_FILTER,
    open_row,
)
from aptien_ops.screens.filter_bar import FilterBar
from aptien_ops.screens.formatting import count, plain, plural
from aptien_ops.screens.list_filter import CatalogFilteredScreen
from aptien_ops.screens.lists import ListTable
from aptien_ops.screens.modals import RecordModal
from aptien_ops.services.backups import BackupRow


class BackupsScreen(CatalogFilteredScreen, BackupActions):
    """Are the backups there, verified, and on schedule? Run, verify and prune them."""

    MODE = "backups"
    TITLE = "Backups"
    NAV_KEY = "8"
    CSS_PATH = Path(__file__).with_name("backups.tcss")
    AUTO_FOCUS = "#backups-table"
    BINDINGS = [
        Binding(
            "b", "backup", "Back up", tooltip="back up the highlighted tenant (or one you name)"
        ),
        Binding(
            "d",
            "run_due",
            "Run due",
            tooltip="back up every tenant that is due, then verify what is due "
            "(region filter applies)",
        ),
        Binding(
            "v", "verify", "Verify", tooltip="verify the highlighted backup: quick, full or restore"
        ),
        # Named on the backup's detail below the table (the footer has no room left at 80).
        # E, not R: R is the region filter, as on every screen that has one.
        Binding(
            "E",
            "restore",
            "Restore",
            show=False,
            tooltip="restore the highlighted backup into a new tenant, or over its own data",
        ),
        Binding("p", "prune", "Prune", tooltip="apply retention: shows what would go, then asks"),
        REGION_FILTER,
        # Not in the footer (q Quit would drop off at 80 columns); help lists it.
        replace(FILTER, show=False),
        CLEAR_FILTER,
        open_row("open the highlighted backup: every detail the index has"),
    ]
    PERMISSIONS = {
        "backup": Action.BACKUP_RUN,
        "run_due": Action.BACKUP_RUN,
        "verify": Action.BACKUP_VERIFY,
        "restore": Action.BACKUP_RESTORE,
        "prune": Action.BACKUP_PRUNE,
    }
    AUTO_REFRESH = True

    def __init__(self) -> None:
        super().__init__()
        self.shelf: Shelf | None = None
        self._by_id: dict[str, BackupRow] = {}
        self._due_shown: tuple[tuple[DueItem, ...], int] | None = None
        """The due items and their count the Due box shows (a reload finding the same keeps
        it as it is)."""

    def compose_body(self) -> ComposeResult:
        yield Static("loading…", id="backups-status")
        with Horizontal(id="backups-run"):
            yield Label(id="backups-run-label")
            yield ProgressBar(id="backups-progress", show_eta=False)
        yield Static(id="backups-result")
        yield FilterBar(id="backups-filter")
        yield ListTable(COLUMNS, id="backups-table")
        yield Static(id="backups-detail")
        with VerticalScroll(id="backups-due"):
            yield Static(id="backups-due-list")

    def on_mount(self) -> None:
        self.query_one("#backups-run").display = False
        self.query_one("#backups-result").display = False
        self.query_one("#backups-due").border_title = "Due"
        self.watch(self.app, "region_filter", self._region_changed, init=False)

    # -- loading ---------------------------------------------------------------------------

    def refresh_data(self) -> None:
        needle, region = self.needle, self.ops.region_filter
        self.load(lambda: read_shelf(self.console, needle, region), self._loaded)

    def _region_changed(self) -> None:
        # The catalog counts a region's backups: read them again (a hidden screen reads when
        # it is shown).
        if self.is_current:
            self.refresh_data()

    def _loaded(self, shelf: Shelf) -> None:
        self.shelf = shelf
        self._show()

    def _show(self) -> None:
        view = self.view()
        if view is None:
            return
        table = self.query_one(ListTable)
        self._by_id = {}
        status = self.query_one("#backups-status", Static)
        if isinstance(view.rows, OpsError):
            table.fill(())
            status.update(Text(view.rows.one_line(), style="red"))
        else:
            self._by_id, self.found = view.by_id, view.backups
            table.fill(view.list_rows)  # newest first, at most WINDOW: the worker's view
            status.update(self._summary(view))
        self._show_detail(self.selected())
        self._show_due(view)

    def _summary(self, view: BackupsView) -> Text:
        backups, tenants = view.backups, view.tenants
        text = Text(f"{plural(backups, 'backup')} of {plural(tenants, 'tenant')}")
        if self.needle:
            text.append(" holding the filter")
        if view.failed:
            text.append(f" · {view.failed} failed or missing", style="bold red")
        if backups > WINDOW:
            text.append(f" · newest {count(WINDOW)} shown (backup list has all)", style="dim")
        for note in self.shelf.notes if self.shelf else []:
            text.append_text(plain(f" · {note}", "yellow"))
        offers = [self.ops.offer(a) for a in set(self.PERMISSIONS.values())]
        if not any(o.allowed for o in offers):
            read_only = any(o.read_only for o in offers)
            text.append(" · read-only" if read_only else " · view only", style="dim")
        return text

    def _show_due(self, view: BackupsView) -> None:
        box = self.query_one("#backups-due")
        shown = self.query_one("#backups-due-list", Static)
        if isinstance(view.due, OpsError):
            box.border_title = "Due"
            shown.update(Text(view.due.one_line(), style="red"))
            self._due_shown = None
            return
        late = view.late
        box.border_title = f"Due: {count(view.due_count)}" + (f", {late} overdue" if late else "")
        box.set_class(late > 0, "-overdue")
        due = (tuple(view.due), view.due_count)
        if due != self._due_shown:  # else kept: laying it out renders the whole report again
            self._due_shown = due
            shown.update(due_report(view.due, more=view.due_count - len(view.due)))

    def action_open_detail(self) -> None:
        row = self._by_id.get(self.selected() or "")
        if row is None:
            self.notify("no backup selected", severity="warning")
            return
        keys = [
            f"{key} {what}"
            for key, what, action in (
                ("v", "verifies it", Action.BACKUP_VERIFY),
                ("E", "restores it", Action.BACKUP_RESTORE),
            )
            if self.ops.may(action)
        ]
        hint = f"{', '.join(keys)} (from the list)" if keys else ""
        self.app.push_screen(
            RecordModal(f"Backup of {row.record.tenant}", record_text(row), hint=hint)
        )

    @on(DataTable.RowHighlighted, "#backups-table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail(event.row_key.value)

    def _show_detail(self, backup_id: str | None) -> None:
        row = self._by_id.get(backup_id or "")
        if row is None and not self._by_id:
            self.query_one("#backups-detail", Static).update(Text("No backups yet.", style="dim"))
            return
        detail = self.query_one("#backups-detail", Static)
        detail.update(detail_text(row))
        # The key that restores the highlighted backup, on the detail's top border.
        offered = row is not None and self.ops.offer(Action.BACKUP_RESTORE).allowed
        detail.border_title = "R restore" if offered else None
