"""Typed modal dialogs: confirm, ask for a reason, pick a role, add an operator.

Each returns its answer through ``dismiss``; ``None`` (or ``False``) means the operator backed
out. Escape always backs out; nothing changes until the caller acts on the answer. Questions
quote data (a request's target, a tenant's name): they are shown as plain text, never markup.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path, PurePath
from typing import ClassVar, TypeVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input, Label, OptionList, SelectionList, Static
from textual.widgets.option_list import Option

from aptien_ops.errors import InvalidInput
from aptien_ops.identity import validate_operator_name
from aptien_ops.permissions import ROLES, Role
from aptien_ops.screens.formatting import plain

R = TypeVar("R")

#: The longest reason a service takes (suspend, reject, purge early).
MAX_REASON = 500


class OpsModal(ModalScreen[R]):
    """Base of the console's dialogs: one stylesheet (rules prefixed ``OpsModal``), and one
    way to say what is wrong with what was typed: inside the dialog, under its fields
    (:meth:`show_problem`), never as a toast that hides behind it or outlives it."""

    #: One stylesheet, or a list (a dialog with its own sheet names both).
    CSS_PATH: ClassVar[str | PurePath | list[str | PurePath] | None] = Path(__file__).with_name(
        "modals.tcss"
    )

    def show_problem(self, problem: str | None, *, focus: Widget | None = None) -> None:
        """Show ``problem`` (None: clear it) in the dialog, above its hints, and put the
        focus on the field to fix (``focus``)."""
        text = Text(f"✗ {problem}", style="red") if problem else Text()
        found = self.query("#modal-problem")
        if found:
            found.first(Static).update(text)
        else:
            box, hints = self.query_one("#modal-box"), self.query(".modal-hint")
            line = Static(text, id="modal-problem")
            if hints:
                box.mount(line, before=hints.first())
            else:
                box.mount(line)
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

    def __init__(self, question: str, *, yes: str = "Yes", title: str = "Confirm") -> None:
        super().__init__()
        self.question, self.yes, self.heading = question, yes, title

    def compose(self) -> ComposeResult:
        with Vertical(id="modal-box") as box:
            box.border_title = self.heading
            yield Label(plain(self.question, multiline=True), id="modal-question")
            with Horizontal(id="modal-buttons"):
                yield Button(f"{self.yes} (y)", variant="error", id="modal-yes")
                yield Button("No (n)", variant="primary", id="modal-no")

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
        elif len(reason) > MAX_REASON:
            self.show_problem(f"the reason must be at most {MAX_REASON} characters")
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
                "admin is granted afterwards, with a second admin's approval", classes="modal-hint"
            )
            with Horizontal(id="modal-buttons"):
                yield Button("Add", variant="primary", id="modal-add")
                yield Button("Cancel", id="modal-cancel")
            yield Label("Tab moves · Space toggles a role · Esc cancels", classes="modal-hint")

    def __init__(self) -> None:
        super().__init__()

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
