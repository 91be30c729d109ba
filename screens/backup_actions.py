"""The Backups screen's actions: back up, run what is due, verify, restore and prune.

Backups, verifications and restores run in a worker; the service's progress callback reaches
the screen as :class:`BackupProgress` messages that drive a progress bar naming the tenant being
worked on, and a restore's result (or the request it raised, or why it failed) stays on a line
under it until the next run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual import on
from textual.message import Message
from textual.widgets import Label, ProgressBar, Static

from aptien_ops.backup_policy import PruneDecision
from aptien_ops.domain import VerifyResult
from aptien_ops.errors import Conflict, OpsError, PendingApproval
from aptien_ops.permissions import Action
from aptien_ops.screens.backup_modals import (
    Job,
    JobModal,
    JobRunner,
    LevelModal,
    RestoreTargetModal,
    RunDueModal,
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


class BackupActions(OpsScreen, JobRunner):
    """The actions of :class:`~aptien_ops.screens.backups.BackupsScreen` on what it shows."""

    shelf: Shelf | None
    _by_id: dict[str, BackupRow]
    #: The tenant a restore goes into: its outcome stays on the screen.
    _restoring: str | None = None

    def view(self) -> BackupsView | None:
        """What is shown for the region filter (None before the first load)."""
        return self.shelf.view if self.shelf else None

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

        def backup(tenant: str) -> Job:
            return Job(f"backing up {tenant}", self._runner(names=[tenant], due=False, region=None))

        self.app.push_screen(TenantModal(default).running(self, backup, self._ran))

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

        def run(_yes: bool) -> Job:
            return Job("running what is due", self._runner(names=[], due=True, region=region))

        is_are = "is" if due == 1 else "are"
        where = f"in region {region}" if region else "in every region"
        question = (
            f"Back up {plural(backups, 'tenant')} and verify {plural(verifications, 'backup')}"
            f" that {is_are} due, {where}?"
        )
        dialog = RunDueModal(question, yes="Run", title="Run what is due")
        self.app.push_screen(dialog.running(self, run, self._ran))

    # -- the job a dialog started ------------------------------------------------------------

    def run_job(self, dialog: JobModal[Any], job: Job, done: Callable[[Any], None]) -> None:
        """Run ``job`` (``dialog``'s answer) in this screen's worker: the dialog waits for it
        to get going (:meth:`_waiting`), the progress bar shows it till the end."""
        self._dialog = dialog
        self._start_progress(job.label)
        self.change(job.call, done)

    def _start_progress(self, label: str) -> None:
        self.ops.job_started(self, label)
        self.query_one("#backups-result").display = False
        self.query_one("#backups-run").display = True
        self.query_one("#backups-run-label", Label).update(plain(label))
        self.query_one(ProgressBar).update(total=None, progress=0)

    def _report(self, done: int, total: int, item: str) -> None:
        """The service's progress callback (in the worker): a message to the screen."""
        self.post_message(BackupProgress(done, total, item))

    def _runner(
        self, *, names: list[str], due: bool, region: str | None
    ) -> Callable[[], list[RunOutcome]]:
        def run() -> list[RunOutcome]:
            # A hang-up (self.ops.leaving): the dump under way finishes, no other starts.
            stopped = self.ops.leaving.is_set
            return self.console.backups.run(
                names, due=due, region=region, progress=self._report, stopped=stopped
            )

        return run

    @on(BackupProgress)
    def _progress(self, event: BackupProgress) -> None:
        dialog = self._waiting()
        if dialog is not None:
            dialog.hand_off()  # under way: the bar below goes on
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

        def verify(level: str) -> Job:
            return Job(
                f"verifying {short_id(record.id)} of {record.tenant} ({level})",
                lambda: self.console.backups.verify(record.id, level),
            )

        def verified(result: VerifyResult) -> None:
            self.notify(
                f"{result.level} verification passed: {result.detail}",
                title=f"{record.tenant} verified",
                markup=False,
            )

        dialog = LevelModal(record.id, record.region, default)
        self.app.push_screen(dialog.running(self, verify, verified))

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
        approvers = self.ops.approvers_of(Action.BACKUP_REPLACE)

        def into(to: str) -> Job | None:
            # Its own tenant: not yet; the name is typed to confirm first (below).
            return None if to == record.tenant else self._restore(record.id, to)

        def replace(yes: bool) -> Job | None:
            return self._restore(record.id, record.tenant) if yes else None

        def named(to: str | None) -> None:
            if to != record.tenant:
                return  # backed out, or restored into a new tenant by then
            created = short_minute(record.created_at)
            confirm = TypeNameToReplaceModal(
                record.id, record.tenant, created, four_eyes=four_eyes, approvers=approvers
            )
            self.app.push_screen(confirm.running(self, replace, self._restored))

        dialog = RestoreTargetModal(record.id, record.tenant, record.region)
        self.app.push_screen(dialog.running(self, into, self._restored), named)

    def _restore(self, backup_id: str, to: str) -> Job:
        self._restoring = to

        def report(done: int, total: int, item: str) -> None:
            self._report(done, total, f"restoring into {item}")

        return Job(
            f"restoring {short_id(backup_id)} into {to}",
            lambda: self.console.backups.restore(backup_id, to, progress=report),
        )

    def _restored(self, result: RestoreResult) -> None:
        self._show_result(restore_outcome(result.tenant, result))

    def _show_result(self, line: Text) -> None:
        """A restore's outcome: it stays on a line under the progress bar until the next job."""
        shown = self.query_one("#backups-result", Static)
        shown.update(line)
        shown.display = True

    def approval_pending(self, pending: PendingApproval) -> None:
        dialog = self._waiting()
        if dialog is not None:
            dialog.hand_off()  # nothing runs until approved: the dialog's part is done
        if self._restoring is not None:
            self._show_result(restore_outcome(self._restoring, pending))
        super().approval_pending(pending)

    def service_refused(self, error: OpsError) -> None:
        dialog = self._waiting()
        if dialog is not None:
            # Said beside the answer; a failed verification is stored, and the reload shows it
            # in red beside the backup.
            dialog.service_refused(error)
            return
        if self._restoring is not None:
            self._show_result(restore_outcome(self._restoring, error))
        if error.code == "integrity":
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
        self._dialog = self._restoring = None
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
