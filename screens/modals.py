"""Typed modal dialogs: confirm, ask for a reason, pick a role, add an operator, show a record.

Each returns its answer through ``dismiss``; ``None`` (or ``False``) means the operator backed
out. Escape always backs out; nothing changes until the caller acts on the answer. A dialog
whose answer is a change (:meth:`OpsModal.acting`) makes the service call itself and stays open
until it is done, so that an error is shown inside it, beside what was typed. Questions quote
data (a request's target, a tenant's name): they are shown as plain text, never markup.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path, PurePath
from typing import Any, ClassVar, Self, TypeVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.await_complete import AwaitComplete
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input, Label, OptionList, SelectionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from aptien_ops.domain.free_text import REASON
from aptien_ops.errors import InvalidInput, OpsError, PendingApproval, Stale
from aptien_ops.identity import validate_operator_name
from aptien_ops.permissions import ROLES, Role
from aptien_ops.screens.formatting import plain
from aptien_ops.screens.lists import ListScroll
from aptien_ops.screens.service_calls import ServiceCaller

R = TypeVar("R")

#: What a dialog's answer becomes (:meth:`OpsModal.acting`): the service call to make, or None
#: for none (the dialog just closes).
Act = Callable[[Any], Callable[[], object] | None]


def _nothing(_result: object) -> None:
    """A change's result that needs no word beyond the reloaded screen."""


def _stays_open() -> AwaitComplete:
    """What ``dismiss`` returns when the dialog stays open."""
    nothing: AwaitComplete = AwaitComplete.nothing()  # type: ignore[no-untyped-call]
    return nothing


class OpsModal(ModalScreen[R], ServiceCaller):
    """Base of the console's dialogs: one stylesheet (rules prefixed ``OpsModal``), and one
    way to say what is wrong: inside the dialog, under its fields (:meth:`show_problem`), never
    as a toast that hides behind it or outlives it — what was typed, and (:meth:`acting`) what
    the service refused or failed to do with it."""

    #: One stylesheet, or a list (a dialog with its own sheet names both).
    CSS_PATH: ClassVar[str | PurePath | list[str | PurePath] | None] = Path(__file__).with_name(
        "modals.tcss"
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit_asking", "Quit", show=False, tooltip="quit (asks: a job is running)")
    ]
    _acts: tuple[ServiceCaller, Act, Callable[[Any], None]] | None = None
    #: A change made from this dialog is under way: it cannot be answered or closed again.
    working = False
    _focused_before: Widget | None = None

    def acting(
        self, owner: ServiceCaller, act: Act, done: Callable[[Any], None] = _nothing
    ) -> Self:
        """Make the operator's answer a change: ``act(answer)`` gives the service call, which
        runs in a worker while the dialog stays open saying "working…". Done, the dialog closes
        and ``done(result)`` runs for ``owner`` (the screen that opened it); a four-eyes request
        closes it too and ``owner`` says who must approve. A refusal or failure is shown in the
        dialog, which stays open to change the answer or back out with Esc. ``owner`` reloads
        after every attempt. Backing out (None or False) calls nothing."""
        self._acts = (owner, act, done)
        return self

    def dismiss(self, result: R | None = None) -> AwaitComplete:
        if self.working:
            return _stays_open()  # the change is under way: it says when it is done
        call = None
        if self._acts is not None and result is not None and result is not False:
            call = self._acts[1](result)
        if call is None:
            return super().dismiss(result)
        self.working, self._focused_before = True, self.focused
        self.show_working()
        self.query_one("#modal-box").disabled = True
        self.start(call)
        return _stays_open()

    def start(self, call: Callable[[], object]) -> None:
        """Make the change: in this dialog's worker (a long job's dialog hands it to its
        screen's, see ``screens/backup_modals.JobModal``)."""
        self.change(call, self._done)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "quit_asking":
            # A dialog stands between q and the app: while it works for a long job (a backup
            # run, a migration), its q asks the app's question instead.
            return self.working and bool(getattr(self.app, "jobs", None))
        return True

    async def action_quit_asking(self) -> None:
        await self.app.run_action("quit")

    def show_working(self, progress: str = "") -> None:
        """Say that the change is under way (and how far it got: ``progress``)."""
        line = f"working… {progress}" if progress else "working…"
        self._problem_line().update(Text(line, style="dim"))

    _close_when_shown = False

    def _close(self) -> None:
        self.working = False
        if self.app.screen is not self:
            # A question is over the dialog (q's "a job is running"): ``dismiss`` would pop
            # that question instead. The dialog closes once it is shown again.
            self._close_when_shown = True
            return
        super().dismiss(None)

    def on_screen_resume(self) -> None:
        if self._close_when_shown:
            self._close_when_shown = False
            super().dismiss(None)

    def _done(self, result: object) -> None:
        assert self._acts is not None
        self._close()
        self._acts[2](result)

    def _again(self, problem: str) -> None:
        """The change did not happen: the dialog takes an answer again, ``problem`` shown."""
        self.working = False
        self.query_one("#modal-box").disabled = False
        self.show_problem(problem, focus=self._focused_before)

    def approval_pending(self, pending: PendingApproval) -> None:
        self._close()
        if self._acts is not None:
            self._acts[0].approval_pending(pending)

    def changed_meanwhile(self, stale: Stale) -> None:
        """Another operator changed what this dialog would change: the answer no longer
        applies, so the dialog closes and its screen says what changed (and offers a reload)."""
        self._close()
        if self._acts is not None:
            self._acts[0].changed_meanwhile(stale)
        else:
            super().changed_meanwhile(stale)

    def service_refused(self, error: OpsError) -> None:
        if self.working:
            self._again(error.one_line())
        else:
            super().service_refused(error)

    def after_change(self) -> None:
        if self._acts is not None:
            self._acts[0].after_change()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # ServiceCaller's handler runs too (a toast names the bug); the dialog takes input again.
        if event.state == WorkerState.ERROR and event.worker.node is self and self.working:
            error = event.worker.error
            self._again(f"internal error: {type(error).__name__}: {error}")

    def _problem_line(self) -> Static:
        found = self.query("#modal-problem")
        if found:
            return found.first(Static)
        box, hints = self.query_one("#modal-box"), self.query(".modal-hint")
        line = Static(id="modal-problem")
        if hints:
            box.mount(line, before=hints.first())
        else:
            box.mount(line)
        return line

    def show_problem(self, problem: str | None, *, focus: Widget | None = None) -> None:
        """Show ``problem`` (None: clear it) in the dialog, above its hints, and put the
        focus on the field to fix (``focus``)."""
        self._problem_line().update(Text(f"✗ {problem}", style="red") if problem else Text())
        if focus is not None:
            self.set_focus(focus)

    def valid(self, check: Callable[[], object], *, focus: Widget | None = None) -> bool:
        """Run ``check``, one of the core's validators: what it refuses (InvalidInput) is
        shown as the dialog's problem, in the CLI's words."""
        try:
            check()
        except InvalidInput as error:
            self.show_problem(error.one_line(), focus=focus)
            return False
        self.show_problem(None)
        return True


class ConfirmModal(OpsModal[bool]):
    """Yes or no. ``No`` has the focus, so a stray Enter never confirms a destructive action."""

    BINDINGS = [
        Binding("escape,n", "answer(False)", "No"),
        Binding("y", "answer(True)", "Yes"),
    ]

    def __init__(
        self, question: str, *, yes: str = "Yes", no: str = "No", title: str = "Confirm"
    ) -> None:
        super().__init__()
        self.question, self.yes, self.no, self.heading = question, yes, no, title

    def compose(self) -> ComposeResult:
        with Vertical(id="modal-box") as box:
            box.border_title = self.heading
            yield Label(plain(self.question, multiline=True), id="modal-question")
            with Horizontal(id="modal-buttons"):
                yield Button(f"{self.yes} (y)", variant="error", id="modal-yes")
                yield Button(f"{self.no} (n)", variant="primary", id="modal-no")

    def on_mount(self) -> None:
        self.query_one("#modal-no", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "modal-yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class ReasonModal(OpsModal[str | None]):
    """A one-line reason (rejections) or value; Enter submits a non-empty one that ``check``
    (a core validator, if given) accepts, Escape backs out."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self,
        question: str,
        *,
        title: str = "Reason",
        placeholder: str = "why?",
        check: Callable[[str], object] | None = None,
    ) -> None:
        super().__init__()
        self.question, self.heading, self.placeholder = question, title, placeholder
        self.check = check

    def compose(self) -> ComposeResult:
        with Vertical(id="modal-box") as box:
            box.border_title = self.heading
            yield Label(plain(self.question, multiline=True), id="modal-question")
            yield Input(placeholder=self.placeholder, id="modal-reason", compact=True)
            yield Label("Enter submits · Esc cancels", classes="modal-hint")

    def on_mount(self) -> None:
        self.query_one(Input).cursor_blink = getattr(self.app, "cursor_blink", True)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        reason = " ".join(event.value.split())
        if not reason:
            self.show_problem("a reason is required")
        elif not self.valid(partial(REASON.within_limit, reason)):
            return  # the one documented limit (domain/free_text.py), in the CLI's words
        elif self.check is None or self.valid(partial(self.check, reason)):
            self.dismiss(reason)

    def action_cancel(self) -> None:
        self.dismiss(None)


class RolePickerModal(OpsModal[str | None]):
    """Choose one role from ``roles``; Enter picks the highlighted one."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self, question: str, roles: list[str], *, title: str = "Role", note: str = ""
    ) -> None:
        super().__init__()
        self.question, self.roles, self.heading, self.note = question, roles, title, note

    def compose(self) -> ComposeResult:
        with Vertical(id="modal-box") as box:
            box.border_title = self.heading
            yield Label(plain(self.question, multiline=True), id="modal-question")
            yield OptionList(*(Option(r, id=r) for r in self.roles), id="modal-roles", compact=True)
            if self.note:
                yield Label(plain(self.note, multiline=True), classes="modal-hint")
            yield Label("↑↓ choose · Enter picks · Esc cancels", classes="modal-hint")

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class AddOperatorModal(OpsModal[tuple[str, tuple[str, ...]] | None]):
    """A new operator: their OS account name and at least one role (admin comes by approval)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, approvers: str = "another admin") -> None:
        """``approvers``: who approves granting admin, in words from the policy in force."""
        super().__init__()
        self.approvers = approvers

    def compose(self) -> ComposeResult:
        with Vertical(id="modal-box") as box:
            box.border_title = "Add operator"
            yield Label("OS account name of the new operator", id="modal-question")
            yield Input(placeholder="e.g. jdoe", id="modal-name", compact=True)
            yield Label("Roles", classes="modal-label")
            yield SelectionList[str](
                *((r, r, r == Role.VIEWER) for r in ROLES if r != Role.ADMIN),
                id="modal-role-list",
                compact=True,
            )
            yield Label(
                f"admin is granted afterwards, once {self.approvers} approves",
                classes="modal-hint",
                markup=False,
            )
            with Horizontal(id="modal-buttons"):
                yield Button("Add", variant="primary", id="modal-add")
                yield Button("Cancel", id="modal-cancel")
            yield Label("Tab moves · Space toggles a role · Esc cancels", classes="modal-hint")

    def on_mount(self) -> None:
        self.query_one("#modal-name", Input).cursor_blink = getattr(self.app, "cursor_blink", True)

    @on(Input.Submitted)
    def _name_entered(self) -> None:
        self.query_one("#modal-role-list", SelectionList).focus()

    @on(Button.Pressed, "#modal-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#modal-add")
    def _add(self) -> None:
        field = self.query_one("#modal-name", Input)
        name = field.value.strip()
        roles = tuple(self.query_one("#modal-role-list", SelectionList).selected)
        if not name:
            self.show_problem("the operator's OS account name is required", focus=field)
        elif not self.valid(lambda: validate_operator_name(name), focus=field):
            return
        elif not roles:
            self.show_problem("choose at least one role")
        else:
            self.dismiss((name, roles))


class RecordModal(OpsModal[None]):
    """One row of a list in full (Enter on a backup, a request, an ops-log entry, an operator):
    ``body`` is already made safe for the terminal by whoever built it. Esc or Enter closes."""

    BINDINGS = [Binding("escape,enter", "close", "Close")]

    def __init__(self, title: str, body: Text, *, hint: str = "") -> None:
        super().__init__()
        self.heading, self.body, self.hint = title, body, hint

    def compose(self) -> ComposeResult:
        with Vertical(id="modal-box") as box:
            box.border_title = plain(self.heading)  # it may quote an operator's name
            with ListScroll(id="modal-record"):
                yield Static(self.body)
            if self.hint:
                yield Label(plain(self.hint, multiline=True), classes="modal-hint")
            yield Label("Esc or Enter closes", classes="modal-hint")

    def on_mount(self) -> None:
        self.query_one(ListScroll).focus()

    def action_close(self) -> None:
        self.dismiss(None)
