"""Dialogs of a tenant's lifecycle: how long to keep a cancelled tenant, and the purge that
the operator confirms by typing the tenant's name.

Like every dialog, Escape backs out and nothing changes until the caller acts on the answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Label, Static

from aptien_ops.domain.free_text import REASON
from aptien_ops.screens.modals import OpsModal

MAX_RETAIN_DAYS = 3650


class RetainDaysModal(OpsModal[int | None]):
    """How many days a cancelled tenant stays restorable; Enter submits, Esc backs out."""

    BINDINGS = [Binding("escape", "back_out", "Back out")]

    def __init__(self, name: str, default_days: int) -> None:
        super().__init__()
        self.tenant, self.default_days = name, default_days

    def compose(self) -> ComposeResult:
        with Vertical(id="modal-box") as box:
            box.border_title = "Cancel tenant"
            yield Label(
                f"Cancel {self.tenant}? Its logins stop at once. It stays restorable for this many "
                "days, then it may be purged.",
                id="modal-question",
            )
            yield Input(
                str(self.default_days), type="integer", id="modal-days", compact=True, max_length=4
            )
            yield Static(id="modal-problem")
            yield Label(
                f"Enter cancels the tenant · Esc backs out · default {self.default_days} days",
                classes="modal-hint",
            )

    def on_mount(self) -> None:
        self.query_one(Input).cursor_blink = getattr(self.app, "cursor_blink", True)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        days = int(text) if text.isdigit() else -1
        if not 0 <= days <= MAX_RETAIN_DAYS:
            self.show_problem(f"give a number of days from 0 to {MAX_RETAIN_DAYS}")
            return
        self.dismiss(days)

    def action_back_out(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True)
class PurgeConfirmed:
    """The operator typed the tenant's name; ``early_reason`` if purging before retention ends."""

    early_reason: str | None = None


class TypeNameToPurgeModal(OpsModal[PurgeConfirmed | None]):
    """Purge asks the operator to type the tenant's name: a wrong name requests nothing.

    ``retained_until`` (a date) means the retention has not ended: a reason is asked too.
    """

    BINDINGS = [
        Binding("escape", "back_out", "Back out"),
        # Priority: the focus moves to the reason before the next typed key is handed on.
        Binding("enter", "submit", "Request purge", show=False, priority=True),
    ]

    def __init__(
        self, name: str, *, retained_until: str | None = None, approvers: str = "another admin"
    ) -> None:
        """``approvers``: who may approve the purge, in words from the policy in force."""
        super().__init__()
        self.tenant, self.retained_until, self.approvers = name, retained_until, approvers

    def compose(self) -> ComposeResult:
        with Vertical(id="modal-box", classes="-danger") as box:
            box.border_title = f"Purge {self.tenant}"
            yield Label(
                f"Purging {self.tenant} drops its database and role and destroys its backup key: "
                "every backup of it becomes unreadable. Only a tombstone with its dates is kept. "
                f"Enter records a request; {self.approvers} must approve it.",
                id="modal-question",
            )
            yield Label("Type the tenant's name to confirm", classes="modal-field")
            yield Input(placeholder=self.tenant, id="modal-typed-name", compact=True, max_length=64)
            if self.retained_until:
                yield Label(
                    f"It is retained until {self.retained_until}. Why purge it before then?",
                    classes="modal-field",
                )
                yield Input(
                    placeholder="e.g. the client asked for deletion",
                    id="modal-early-reason",
                    compact=True,
                    max_length=REASON.limit,
                )
            yield Static(id="modal-problem")
            yield Label("Enter requests the purge · Esc backs out", classes="modal-hint")

    def on_mount(self) -> None:
        for field in self.query(Input):
            field.cursor_blink = getattr(self.app, "cursor_blink", True)

    def action_submit(self) -> None:
        name_field = self.query_one("#modal-typed-name", Input)
        if name_field.value.strip() != self.tenant:
            self.show_problem(
                "that is not the tenant's name: nothing was requested", focus=name_field
            )
            return
        reason = None
        if self.retained_until:
            reason_field = self.query_one("#modal-early-reason", Input)
            reason = " ".join(reason_field.value.split())
            if not reason:
                came_from_name = self.focused is name_field
                self.show_problem(
                    None if came_from_name else "say why it goes before the retention end",
                    focus=reason_field,
                )
                return
        self.dismiss(PurgeConfirmed(reason))

    def action_back_out(self) -> None:
        self.dismiss(None)
