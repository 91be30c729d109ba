"""Backups: every backup with its verification, what is due, and the actions on them.

``b`` backs up a tenant (the highlighted one, editable in a small dialog), ``d`` runs what is
due (backups, then verifications), ``v`` verifies the highlighted backup at a chosen level,
``R`` restores it (into a new tenant, or over its own tenant's data once its name is typed: a
four-eyes request) and ``p`` prunes by retention after showing what would go. Backups,
verifications and restores run in a worker; the service's progress callback reaches the screen
as messages that drive a progress bar naming the tenant being worked on, and a restore's result
(or the request it raised, or why it failed) stays on a line under it until the next run.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Label, ProgressBar, Static

from aptien_ops.backup_policy import DueItem, PruneDecision
from aptien_ops.errors import Conflict, OpsError, PendingApproval
from aptien_ops.permissions import Action
from aptien_ops.screens.backup_modals import (
    LevelModal,
    RestoreTargetModal,
    TenantModal,
    TypeNameToReplaceModal,
)
from aptien_ops.screens.backup_render import (
    detail_text,
    due_report,
    last_check,
    prune_question,
    record_text,
    restore_outcome,
    run_summary,
    short_id,
)
from aptien_ops.screens.base import (
    CLEAR_FILTER,
    FILTER,
    REGION_FILTER,
    OpsScreen,
    highlighted_key,
    open_row,
)
from aptien_ops.screens.filter_bar import FilterBar
from aptien_ops.screens.formatting import (
    backup_status_text,
    count,
    plain,
    plural,
    short_minute,
    size,
)
from aptien_ops.screens.lists import ListRow, ListTable
from aptien_ops.screens.modals import ConfirmModal, RecordModal
from aptien_ops.services.backups import BackupRow, RestoreResult, RunOutcome

COLUMNS = (
    ("tenant", "Tenant"),
    ("id", "Id"),
    ("created", "Created"),
    ("size", "Size"),
    ("status", "Status"),
    ("checked", "Last check"),
)
#: Rows the table holds (newest first): DataTable measures every cell it is given.
WINDOW = 500
#: Due items listed (most urgent first); the rest are counted (``backup list due`` has all).
DUE_SHOWN = 40


class BackupProgress(Message, bubble=False):
    """Posted from the worker as a run goes: ``done``/``total`` and the tenant (or step) at work."""

    def __init__(self, done: int, total: int, item: str) -> None:
        super().__init__()
        self.done, self.total, self.item = done, total, item


@dataclass(frozen=True)
class BackupsView:
    """What the screen shows for one region filter, worked out in the worker that read it:
    the UI thread only ever handles ``WINDOW`` rows and ``DUE_SHOWN`` due items, however
    large the fleet."""

    rows: list[BackupRow] | OpsError
    """Newest first, at most ``WINDOW`` (or the service's refusal)."""
    backups: int = 0
    tenants: int = 0
    failed: int = 0
    """Failed or missing from the store."""
    due: list[DueItem] | OpsError = field(default_factory=list)
    """Most urgent first, at most ``DUE_SHOWN`` (or the service's refusal)."""
    due_count: int = 0
    late: int = 0
    due_backups: int = 0
    first_due: str = ""
    """The first tenant due a backup (the back-up dialog's suggestion)."""

    @classmethod
    def of(
        cls,
        rows: list[BackupRow] | OpsError,
        due: list[DueItem] | OpsError,
        region: str | None,
    ) -> BackupsView:
        """``rows`` (oldest first) and ``due`` narrowed to ``region`` (None: all), counted and
        cut to what the screen shows."""
        view = cls(rows, due=due)
        if not isinstance(rows, OpsError):
            mine = [r for r in rows if region is None or r.record.region == region]
            view = replace(
                view,
                # Newest first: the backup an operator looks for is almost always the latest.
                rows=mine[-WINDOW:][::-1],
                backups=len(mine),
                tenants=len({r.record.tenant for r in mine}),
                failed=sum(1 for r in mine if r.status in ("failed", "missing")),
            )
        if not isinstance(due, OpsError):
            items = [i for i in due if region is None or i.region == region]
            backups = [i.tenant for i in items if i.kind == "backup"]
            view = replace(
                view,
                due=items[:DUE_SHOWN],
                due_count=len(items),
                late=sum(1 for i in items if i.overdue),
                due_backups=len(backups),
                first_due=backups[0] if backups else "",
            )
        return view


@dataclass
class Shelf:
    """One load of the screen: the store notes, and the view of every region filter."""

    notes: list[str] = field(default_factory=list)
    views: dict[str | None, BackupsView] = field(default_factory=dict)
    replace_four_eyes: bool = True
    """Whether replacing a tenant's data waits for a second operator (the policy in force)."""


class BackupsScreen(OpsScreen):
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
        Binding(
            "R",
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

    def compose_body(self) -> ComposeResult:
        yield Static("loading…", id="backups-status")
        with Horizontal(id="backups-run"):
            yield Label(id="backups-run-label")
            yield ProgressBar(id="backups-progress", show_eta=False)
        yield Static(id="backups-result")
        yield FilterBar(id="backups-filter")
        yield ListTable(id="backups-table")
        yield Static(id="backups-detail")
        with VerticalScroll(id="backups-due"):
            yield Static(id="backups-due-list")

    def on_mount(self) -> None:
        self.query_one("#backups-run").display = False
        self.query_one("#backups-result").display = False
        self.query_one("#backups-due").border_title = "Due"
        table = self.query_one(ListTable)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        self.watch(self.app, "region_filter", self._show, init=False)

    # -- loading ---------------------------------------------------------------------------

    def refresh_data(self) -> None:
        self.load(self._read, self._loaded)

    def _read(self) -> Shelf:
        """Runs in a worker thread: the backups (reconciled with the stores) and what is due,
        shaped for every region filter."""
        shelf = Shelf()
        service = self.console.backups
        rows: list[BackupRow] | OpsError
        due: list[DueItem] | OpsError
        try:
            listing = service.listing()
            rows, shelf.notes = listing.rows, listing.notes
        except OpsError as error:
            rows = error
        try:
            due = service.due()
        except OpsError as error:
            due = error
        for region in [None, *self.console.settings.regions]:
            shelf.views[region] = BackupsView.of(rows, due, region)
        shelf.replace_four_eyes = self.console.ctx.policy.needs_four_eyes(Action.BACKUP_REPLACE)
        return shelf

    def _loaded(self, shelf: Shelf) -> None:
        self.shelf = shelf
        self._show()

    def view(self) -> BackupsView | None:
        """What is shown for the region filter (None before the first load)."""
        return self.shelf.views.get(self.ops.region_filter) if self.shelf else None

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
            self._by_id = {r.record.id: r for r in view.rows}
            table.fill(  # newest first, at most WINDOW: the worker's view
                ListRow(
                    r.record.id,
                    (
                        r.record.tenant,
                        short_id(r.record.id),
                        short_minute(r.record.created_at),
                        size(r.record.ciphertext_size),
                        backup_status_text(r.status),
                        last_check(r),
                    ),
                )
                for r in view.rows
            )
            status.update(self._summary(view))
        self._show_detail(self.selected())
        self._show_due(view)

    def _summary(self, view: BackupsView) -> Text:
        backups, tenants = view.backups, view.tenants
        text = Text(f"{plural(backups, 'backup')} of {plural(tenants, 'tenant')}")
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
            return
        late = view.late
        box.border_title = f"Due: {count(view.due_count)}" + (f", {late} overdue" if late else "")
        box.set_class(late > 0, "-overdue")
        shown.update(due_report(view.due, more=view.due_count - len(view.due)))

    def selected(self) -> str | None:
        return highlighted_key(self.query_one(ListTable))

    def action_open_detail(self) -> None:
        row = self._by_id.get(self.selected() or "")
        if row is None:
            self.notify("no backup selected", severity="warning")
            return
        keys = [
            f"{key} {what}"
            for key, what, action in (
                ("v", "verifies it", Action.BACKUP_VERIFY),
                ("R", "restores it", Action.BACKUP_RESTORE),
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

    # -- running: back up, run what is due, verify -------------------------------------------

    def _busy(self) -> bool:
        """A run or verification of this screen is still going (say so rather than start
        another)."""
        running = any(
            w.node is self and w.group == "change" and not w.is_finished for w in self.app.workers
        )
        if running:
            self.notify(
                "a backup run or verification is still going; wait for it to finish",
                severity="warning",
            )
        return running

    def action_backup(self) -> None:
        if self._busy():
            return
        row = self._by_id.get(self.selected() or "")
        view = self.view()
        default = row.record.tenant if row else view.first_due if view else ""

        def named(tenant: str | None) -> None:
            if tenant:
                self._run(f"backing up {tenant}", names=[tenant])

        self.app.push_screen(TenantModal(default), named)

    def action_run_due(self) -> None:
        if self._busy():
            return
        region, view = self.ops.region_filter, self.view()
        due = view.due_count if view and not isinstance(view.due, OpsError) else 0
        backups = view.due_backups if view else 0
        verifications = due - backups
        if not due:
            self.notify("nothing is due" + (f" in region {region}" if region else ""), markup=False)
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._run("running what is due", due=True, region=region)

        is_are = "is" if due == 1 else "are"
        where = f"in region {region}" if region else "in every region"
        question = (
            f"Back up {plural(backups, 'tenant')} and verify {plural(verifications, 'backup')}"
            f" that {is_are} due, {where}?"
        )
        self.app.push_screen(ConfirmModal(question, yes="Run", title="Run what is due"), confirmed)

    def _start_progress(self, label: str) -> None:
        self.ops.job_started(self, label)
        self.query_one("#backups-result").display = False
        self.query_one("#backups-run").display = True
        self.query_one("#backups-run-label", Label).update(plain(label))
        self.query_one(ProgressBar).update(total=None, progress=0)

    def _run(
        self,
        label: str,
        *,
        names: list[str] | None = None,
        due: bool = False,
        region: str | None = None,
    ) -> None:
        self._start_progress(label)

        def report(done: int, total: int, item: str) -> None:
            self.post_message(BackupProgress(done, total, item))

        self.change(
            lambda: self.console.backups.run(names or (), due=due, region=region, progress=report),
            self._ran,
        )

    @on(BackupProgress)
    def _progress(self, event: BackupProgress) -> None:
        self.query_one(ProgressBar).update(total=max(event.total, 1), progress=event.done)
        own_words = event.item.startswith(("verify ", "restoring "))
        doing = event.item if own_words else f"backing up {event.item}"
        self.query_one("#backups-run-label", Label).update(plain(doing))

    def _ran(self, outcomes: list[RunOutcome]) -> None:
        message, failed = run_summary(outcomes)
        if failed:
            self.notify(message, title="Backups", severity="error", timeout=15, markup=False)
        else:
            self.notify(message, title="Backups done", markup=False)

    def action_verify(self) -> None:
        if self._busy():
            return
        backup_id = self.selected()
        row = self._by_id.get(backup_id or "")
        if row is None:
            self.notify("no backup selected", severity="warning")
            return
        record = row.record
        settings = self.console.settings.regions.get(record.region)
        default = settings.backup.verify_level if settings else "quick"

        def picked(level: str | None) -> None:
            if level is None:
                return
            self._start_progress(f"verifying {short_id(record.id)} of {record.tenant} ({level})")
            self.change(
                lambda: self.console.backups.verify(record.id, level),
                lambda result: self.notify(
                    f"{result.level} verification passed: {result.detail}",
                    title=f"{record.tenant} verified",
                    markup=False,
                ),
            )

        self.app.push_screen(LevelModal(record.id, record.region, default), picked)

    # -- restoring ---------------------------------------------------------------------------

    def action_restore(self) -> None:
        if self._busy():
            return
        row = self._by_id.get(self.selected() or "")
        if row is None:
            self.notify("no backup selected", severity="warning")
            return
        record = row.record
        four_eyes = self.shelf.replace_four_eyes if self.shelf else True

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._restore(record.id, record.tenant)

        def named(to: str | None) -> None:
            if not to:
                return
            if to != record.tenant:
                self._restore(record.id, to)
                return
            created = short_minute(record.created_at)
            self.app.push_screen(
                TypeNameToReplaceModal(record.id, record.tenant, created, four_eyes=four_eyes),
                confirmed,
            )

        self.app.push_screen(RestoreTargetModal(record.id, record.tenant, record.region), named)

    def _restore(self, backup_id: str, to: str) -> None:
        self._start_progress(f"restoring {short_id(backup_id)} into {to}")

        def report(done: int, total: int, item: str) -> None:
            self.post_message(BackupProgress(done, total, f"restoring into {item}"))

        def restore() -> RestoreResult | OpsError:
            # Runs in the worker. The outcome, whatever it is, stays on the screen (below).
            try:
                return self.console.backups.restore(backup_id, to, progress=report)
            except OpsError as outcome:
                return outcome

        self.change(restore, lambda outcome: self._restored(to, outcome))

    def _restored(self, to: str, outcome: RestoreResult | OpsError) -> None:
        result = self.query_one("#backups-result", Static)
        result.update(restore_outcome(to, outcome))
        result.display = True
        if isinstance(outcome, PendingApproval):
            self.approval_pending(outcome)
        elif isinstance(outcome, OpsError):
            self.service_refused(outcome)

    def service_refused(self, error: OpsError) -> None:
        if error.code == "integrity":
            # The result is stored: the reload shows it in red beside the backup.
            self.notify(
                error.message,
                title="Verification failed",
                severity="error",
                timeout=15,
                markup=False,
            )
            return
        super().service_refused(error)

    def after_change(self) -> None:
        self.query_one("#backups-run").display = False
        self.ops.job_ended(self)
        self.refresh_data()

    # -- retention ---------------------------------------------------------------------------

    def action_prune(self) -> None:
        if self._busy():
            return
        self.plan(lambda: self.console.backups.prune(dry_run=True), self._prune_planned)

    def _prune_planned(self, decisions: list[PruneDecision]) -> None:
        doomed = [d for d in decisions if not d.keep]
        if not doomed:
            self.notify(
                f"nothing to prune: retention keeps all {count(len(decisions))} backups",
                markup=False,
            )
            return
        question = prune_question(decisions)
        shown = {d.backup_id for d in doomed}

        def same_as_shown(now_doomed: list[PruneDecision]) -> None:
            # Runs in the worker: delete only what the operator saw and agreed to.
            if {d.backup_id for d in now_doomed} != shown:
                raise Conflict(
                    "what retention would prune changed since it was shown", hint="press p again"
                )

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.change(
                    lambda: self.console.backups.prune(dry_run=False, confirm=same_as_shown),
                    lambda _: self.notify(
                        f"pruned {plural(len(shown), 'backup')}",
                        title="Retention applied",
                        markup=False,
                    ),
                )

        self.app.push_screen(ConfirmModal(question, yes="Prune", title="Prune backups"), confirmed)
