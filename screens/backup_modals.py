"""The backups screen's dialogs: which tenant to back up, whether to run what is due, at which
level to verify, and where to restore a backup (and, to replace a tenant's own data, its name
typed to confirm).

Each answer starts a long job (:class:`JobModal`): the dialog stays open saying "working…" until
the job is under way, so that a refusal (an unknown tenant, a name taken, a role missing) is
shown inside it; ``None`` means the operator backed out (Esc).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Self, TypeVar

from textual import on
from textual.app import ComposeResult
from textual.await_complete import AwaitComplete
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from aptien_ops.config import VERIFY_LEVELS
from aptien_ops.domain import validate_tenant_name
from aptien_ops.screens.formatting import plain
from aptien_ops.screens.modals import ConfirmModal, OpsModal, _nothing, _stays_open
from aptien_ops.screens.service_calls import ServiceCaller

R = TypeVar("R")


@dataclass(frozen=True)
class Job:
    """A long job a dialog's answer starts: what its progress line says, and the service call
    (run in a worker of the screen, so that it outlives the dialog)."""

    label: str
    call: Callable[[], object]

    def __call__(self) -> object:
        return self.call()


class JobRunner(ServiceCaller):
    """A screen that runs a dialog's job in its own worker (group ``change``) and shows its
    progress (the Backups screen, an incident's page). ``run_job`` keeps the dialog in
    ``_dialog``; ``after_change`` ends the job."""

    #: The dialog that started the running job (while it waits for it to get going).
    _dialog: JobModal[Any] | None = None

    def run_job(self, dialog: JobModal[Any], job: Job, done: Callable[[Any], None]) -> None:
        raise NotImplementedError

    def _waiting(self) -> JobModal[Any] | None:
        """The dialog that started the running job, while it is still open for it."""
        dialog = self._dialog
        return dialog if dialog is not None and not dialog.handed_off else None

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # A bug in the job (ServiceCaller's handler names it): its dialog takes input again,
        # and the job is over (no outcome will come).
        if event.state == WorkerState.ERROR and event.worker.node is self:
            if event.worker.group == "change":
                dialog = self._waiting()
                if dialog is not None:
                    error = event.worker.error
                    dialog.job_failed(f"internal error: {type(error).__name__}: {error}")
                self.after_change()


class JobModal(OpsModal[R]):
    """A dialog whose answer starts a long job (a backup run, a verification, a restore) on the
    Backups screen (:meth:`running`). The job counts as running from the start (``q`` asks
    first, here too); the dialog says "working…" until the job reports progress, then closes
    and the screen's progress bar goes on. A refusal before that is shown in the dialog, which
    takes an answer again. Esc while it works closes it: the job continues in the background,
    its progress on the screen. (``q`` while it works asks, as every working dialog's does.)"""

    #: The job goes on without the dialog (it reported progress, or the operator pressed Esc).
    handed_off = False
    _runner: JobRunner | None = None

    def running(
        self,
        runner: JobRunner,
        act: Callable[[Any], Job | None],
        done: Callable[[Any], None] = _nothing,
    ) -> Self:
        """Make the answer a job: ``act(answer)`` gives it (None: nothing to run), ``runner``
        runs it and ``done(result)`` runs once it is over."""
        self._runner = runner
        return self.acting(runner, act, done)

    def start(self, call: Callable[[], object]) -> None:
        assert self._runner is not None and isinstance(call, Job)
        self._runner.run_job(self, call, self._done)

    def dismiss(self, result: R | None = None) -> AwaitComplete:
        if self.working and (result is None or result is False):
            self.hand_off()  # Esc: it runs on in the background
            return _stays_open()
        return super().dismiss(result)

    def hand_off(self) -> None:
        """Close the dialog; the job goes on, its progress on the screen."""
        if self.working and not self.handed_off:
            self.handed_off = True
            self._close()

    def job_failed(self, problem: str) -> None:
        """The job stopped before it got going: say why here and take an answer again."""
        self._again(problem)

    def _done(self, result: object) -> None:
        if not self.handed_off:
            super()._done(result)
        elif self._acts is not None:
            self._acts[2](result)


class RunDueModal(JobModal[bool], ConfirmModal):
    """Run what is due? (a :class:`ConfirmModal` whose yes starts the run)."""


#: What each level checks, as the operator chooses between cost and certainty.
LEVEL_HELP = {
    "quick": "size, SHA-256, manifest signature (no key needed)",
    "full": "decrypt, decompress, walk the archive",
    "restore": "into a scratch database, compare row counts",
}


class NameModal(JobModal[str | None]):
    """A dialog that asks for one tenant's name: Enter answers with it (an empty or malformed
    one is refused on the dialog, saying ``EMPTY`` or the CLI's words), Esc backs out."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    EMPTY = "name the tenant"

    def on_mount(self) -> None:
        self.query_one(Input).cursor_blink = getattr(self.app, "cursor_blink", True)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        name = event.value.strip()
        if not name:
            self.show_problem(self.EMPTY)
        elif self.valid(lambda: validate_tenant_name(name)):  # the CLI's words, on the dialog
            self.dismiss(name)

    def action_cancel(self) -> None:
        self.dismiss(None)


class TenantModal(NameModal):
    """The tenant to back up, prefilled with the highlighted one; Enter starts the backup."""

    EMPTY = "name the tenant to back up"

    def __init__(self, default: str = "") -> None:
        super().__init__()
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical(id="modal-box") as box:
            box.border_title = "Back up a tenant"
            yield Label("Tenant to back up now (into its own region's store)", id="modal-question")
            yield Input(
                self.default,
                placeholder="tenant name, e.g. acme-gmbh",
                id="modal-tenant",
                compact=True,
            )
            yield Static(id="modal-problem")
            yield Label("Enter backs up · Esc cancels", classes="modal-hint")


class LevelModal(JobModal[str | None]):
    """quick, full or restore; the region's policy level is highlighted, Enter picks."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, backup_id: str, region: str, default: str) -> None:
        super().__init__()
        self.backup_id, self.store_region = backup_id, region
        self.default = default if default in VERIFY_LEVELS else VERIFY_LEVELS[0]

    def compose(self) -> ComposeResult:
        with Vertical(id="modal-box") as box:
            box.border_title = "Verify backup"
            yield Label(f"Verify {self.backup_id} at which level?", id="modal-question")
            options = [
                Option(f"{level:<9}{LEVEL_HELP[level]}", id=level) for level in VERIFY_LEVELS
            ]
            yield OptionList(*options, id="modal-levels", compact=True)
            yield Label(
                f"region {self.store_region}'s policy asks for {self.default}", classes="modal-hint"
            )
            yield Label("↑↓ choose · Enter verifies · Esc cancels", classes="modal-hint")

    def on_mount(self) -> None:
        self.query_one(OptionList).highlighted = VERIFY_LEVELS.index(self.default)

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class RestoreTargetModal(NameModal):
    """Where the highlighted backup goes: a new tenant's name (made in the backup's region), or
    the backup's own tenant to replace its data. Enter goes on; Esc backs out."""

    EMPTY = "name the tenant to restore into"

    def __init__(self, backup_id: str, tenant: str, region: str) -> None:
        super().__init__()
        self.backup_id, self.tenant, self.store_region = backup_id, tenant, region

    def compose(self) -> ComposeResult:
        with Vertical(id="modal-box") as box:
            box.border_title = "Restore backup"
            yield Label(
                plain(f"Restore {self.backup_id} of {self.tenant} into which tenant?"),
                id="modal-question",
            )
            yield Input(
                placeholder=f"a new name, e.g. {self.tenant[:30]}-restored",
                id="modal-restore-to",
                compact=True,
                max_length=64,
            )
            yield Static(id="modal-problem")
            yield Label(
                plain(
                    f"A new name gets a new tenant in region {self.store_region} with this"
                    f" backup's data; {self.tenant} itself has its data replaced (you confirm"
                    " first)."
                ),
                classes="modal-hint",
            )
            yield Label("Enter goes on · Esc cancels", classes="modal-hint")


class TypeNameToReplaceModal(JobModal[bool]):
    """Replacing a tenant's data asks for its name typed: a wrong name requests nothing."""

    BINDINGS = [Binding("escape", "back_out", "Back out")]

    def __init__(
        self, backup_id: str, tenant: str, created: str, *, four_eyes: bool, approvers: str
    ) -> None:
        """``four_eyes``: the policy has a second operator approve (Enter only requests);
        ``approvers``: who may, in words from the policy (``another admin``)."""
        super().__init__()
        self.backup_id, self.tenant, self.created = backup_id, tenant, created
        self.four_eyes, self.approvers = four_eyes, approvers

    def compose(self) -> ComposeResult:
        with Vertical(id="modal-box", classes="-danger") as box:
            box.border_title = f"Replace {self.tenant}'s data"
            then = (
                f" Enter records a request; {self.approvers} must approve it."
                if self.four_eyes
                else " It starts when you confirm."
            )
            yield Label(
                plain(
                    f"All data of {self.tenant} is replaced with backup {self.backup_id} of"
                    f" {self.created}: everything written since then is lost. The live database"
                    " stays as it is until the restore has matched every row count." + then
                ),
                id="modal-question",
            )
            yield Label("Type the tenant's name to confirm", classes="modal-field")
            yield Input(placeholder=self.tenant, id="modal-typed-name", compact=True, max_length=64)
            yield Static(id="modal-problem")
            enter = "requests the replacement" if self.four_eyes else "replaces the data"
            yield Label(f"Enter {enter} · Esc backs out", classes="modal-hint")

    def on_mount(self) -> None:
        self.query_one(Input).cursor_blink = getattr(self.app, "cursor_blink", True)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        if event.value.strip() != self.tenant:
            self.show_problem("that is not the tenant's name: nothing was requested")
            return
        self.dismiss(True)

    def action_back_out(self) -> None:
        self.dismiss(False)
