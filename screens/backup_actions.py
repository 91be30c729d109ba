"""The Backups screen's actions: back up, run what is due, verify, restore and prune.

Backups, verifications and restores run in a worker; the service's progress callback reaches
the screen as :class:`BackupProgress` messages that drive a progress bar naming the tenant being
worked on, and a restore's result (or the request it raised, or why it failed) stays on a line
under it until the next run.
"""

from __future__ import annotations

from textual import on
from textual.message import Message
from textual.widgets import Label, ProgressBar, Static

from aptien_ops.backup_policy import PruneDecision
from aptien_ops.errors import Conflict, OpsError, PendingApproval
from aptien_ops.screens.backup_modals import (
    LevelModal,
    RestoreTargetModal,
    TenantModal,
    TypeNameToReplaceModal,
)
from aptien_ops.screens.backup_render import (
    prune_question,
    restore_outcome,
    run_summary,
    short_id,
)
from aptien_ops.screens.backups_view import BackupsView, Shelf
from aptien_ops.screens.base import OpsScreen, highlighted_key
from aptien_ops.screens.formatting import count, plain, plural, short_minute
from aptien_ops.screens.lists import ListTable
from aptien_ops.screens.modals import ConfirmModal
from aptien_ops.services.backups import BackupRow, RestoreResult, RunOutcome


class BackupProgress(Message, bubble=False):
    """Posted from the worker as a run goes: ``done``/``total`` and the tenant (or step) at work."""

    def __init__(self, done: int, total: int, item: str) -> None:
        super().__init__()
        self.done, self.total, self.item = done, total, item


class BackupActions(OpsScreen):
    """The actions of :class:`~aptien_ops.screens.backups.BackupsScreen` on what it shows."""

    shelf: Shelf | None
    _by_id: dict[str, BackupRow]

    def view(self) -> BackupsView | None:
        """What is shown for the region filter (None before the first load)."""
        return self.shelf.views.get(self.ops.region_filter) if self.shelf else None

    def selected(self) -> str | None:
        return highlighted_key(self.query_one(ListTable))

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

        def pruned(_decisions: object) -> None:
            self.notify(
                f"pruned {plural(len(shown), 'backup')}", title="Retention applied", markup=False
            )

        self.app.push_screen(
            ConfirmModal(question, yes="Prune", title="Prune backups").acting(
                self,
                lambda _yes: (
                    lambda: self.console.backups.prune(dry_run=False, confirm=same_as_shown)
                ),
                pruned,
            )
        )
