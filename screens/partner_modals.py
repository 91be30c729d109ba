"""Dialogs of a tenant's partners: assign one, end an assignment, share the contact card.

Each dialog makes its own service call (in a worker) and shows what came of it inside
itself, under its fields: a refusal names the rule that failed and the operator can pick
again; a success is shown until the dialog is closed. The contact card is shown once, in the
dialog that shared it: it is kept nowhere else, so seeing it again takes a new (logged) share.
Partner and tenant text is data: shown through ``plain``, never as markup.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, OptionList, RadioButton, RadioSet, Static
from textual.widgets.option_list import Option

from aptien_ops.domain.free_text import REASON
from aptien_ops.errors import OpsError
from aptien_ops.screens.formatting import plain
from aptien_ops.screens.modals import OpsModal
from aptien_ops.screens.service_calls import ServiceCaller
from aptien_ops.terminal_text import shown

#: The kinds a partner is assigned as, in the order the dialog offers them.
KINDS = ("sales", "expert")


@dataclass(frozen=True)
class Choice:
    """A partner the dialog lists: ``why_not`` (the rule that fails) greys it out."""

    name: str
    label: str
    """What follows the name: the legal name, the kinds, an assignment's since."""
    why_not: str | None = None

    def option(self) -> Option:
        name = shown(self.name, width=24)
        text = Text(f"{name:<20}", style="bold" if self.why_not is None else "dim")
        text.append(f" {shown(self.label, width=48)}", style="dim")
        if self.why_not is not None:
            text.append(f"\n  ✗ {shown(self.why_not, width=68)}", style="dim italic")
        return Option(text, id=self.name, disabled=self.why_not is not None)


def eligible_first(choices: Sequence[Choice]) -> list[Choice]:
    """Eligible partners first, each group in name order."""
    return sorted(choices, key=lambda c: (c.why_not is not None, c.name))


class PartnerDialog(OpsModal[bool], ServiceCaller):
    """A dialog that acts itself: pick a partner, give a reason, then ``act`` in a worker;
    dismissed with True once something changed (the caller reloads), else False."""

    CSS_PATH = [
        Path(__file__).with_name("modals.tcss"),
        Path(__file__).with_name("partner_modals.tcss"),
    ]
    BINDINGS = [Binding("escape", "close", "Close")]
    HEADING = ""
    VERB = ""

    def __init__(self, tenant: str, question: str) -> None:
        super().__init__()
        self.tenant, self.question = tenant, question
        self.done = False

    def compose(self) -> ComposeResult:
        with Vertical(id="modal-box") as box:
            box.border_title = self.HEADING
            yield Label(plain(self.question, multiline=True), id="modal-question")
            yield from self.compose_fields()
            yield OptionList(id="partner-choices", compact=True)
            yield Input(
                placeholder="reason (kept in the ops log)",
                id="partner-reason",
                compact=True,
                max_length=REASON.limit,
            )
            yield Static(id="modal-problem")
            yield Label(
                f"Tab moves · Enter {self.VERB} · Esc closes", classes="modal-hint", id="hint"
            )

    def compose_fields(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        self.query_one(Input).cursor_blink = getattr(self.app, "cursor_blink", True)
        self.read_choices()

    def read_choices(self) -> None:
        """Start reading the partners to list (in a worker)."""

    def show_choices(self, choices: Sequence[Choice], empty: str) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        listed = eligible_first(choices)
        options.add_options([c.option() for c in listed])
        if not listed:
            self.show_problem(empty)
        first = next((n for n, c in enumerate(listed) if c.why_not is None), None)
        options.highlighted = first
        options.focus()

    def picked(self) -> str | None:
        options = self.query_one(OptionList)
        if options.highlighted is None:
            return None
        option = options.get_option_at_index(options.highlighted)
        return None if option.disabled else option.id

    @on(OptionList.OptionSelected)
    def _option_chosen(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted, "#partner-reason")
    def _submitted(self, event: Input.Submitted) -> None:
        if self.done:
            self.dismiss(True)
            return
        partner = self.picked()
        field = self.query_one(Input)
        if partner is None:
            self.show_problem("choose a partner the rules allow", focus=self.query_one(OptionList))
            return
        if not self.valid(lambda: REASON.check(event.value), focus=field):
            return
        reason = REASON.check(event.value)
        self.show_problem(None)
        self.change(lambda: self.act(partner, reason), self._acted)

    def act(self, partner: str, reason: str) -> Any:
        """Runs in a worker: the service call."""
        raise NotImplementedError

    def result_text(self, result: Any) -> Text:
        raise NotImplementedError

    def _acted(self, result: Any) -> None:
        self.done = True
        box = self.query_one("#modal-box")
        for widget in self.query("OptionList, #partner-kind-line, Input"):
            widget.display = False
        result_line = Static(self.result_text(result), id="partner-result")
        box.mount(result_line, before=self.query_one("#modal-problem"))
        self.query_one("#hint", Label).update("Esc or Enter closes")

    def service_refused(self, error: OpsError) -> None:
        # Inside the dialog, where the operator is looking: the rule that failed, as the CLI says.
        self.show_problem(error.one_line())

    def on_key(self, event: Any) -> None:
        if self.done and event.key == "enter":
            event.stop()
            self.dismiss(True)

    def action_close(self) -> None:
        self.dismiss(self.done)


class AssignPartnerDialog(PartnerDialog):
    """Assign a partner to a tenant: the kind first, then the partners for it (eligible
    first, the others greyed with the rule they fail), then why."""

    HEADING = "Assign partner"
    VERB = "assigns"

    def __init__(
        self,
        tenant: str,
        question: str,
        candidates: Callable[[str], list[Choice]],
        assign: Callable[[str, str, str], Any],
        describe: Callable[[Any], str],
    ) -> None:
        super().__init__(tenant, question)
        self._candidates, self._assign, self._describe = candidates, assign, describe

    def compose_fields(self) -> ComposeResult:
        with Horizontal(id="partner-kind-line"):
            yield Label("As ", classes="modal-field")
            with RadioSet(id="partner-kind", compact=True):
                for n, kind in enumerate(KINDS):
                    yield RadioButton(kind, value=n == 0, id=f"kind-{kind}")

    def kind(self) -> str:
        pressed = self.query_one(RadioSet).pressed_button
        return (pressed.id or "kind-sales").removeprefix("kind-") if pressed else KINDS[0]

    def read_choices(self) -> None:
        kind = self.kind()
        self.load(lambda: self._candidates(kind), self._listed)

    def _listed(self, choices: list[Choice]) -> None:
        self.show_choices(choices, f"no partner is in the register for {self.kind()}")

    @on(RadioSet.Changed)
    def _kind_changed(self) -> None:
        self.read_choices()

    def act(self, partner: str, reason: str) -> Any:
        return self._assign(partner, self.kind(), reason)

    def result_text(self, result: Any) -> Text:
        return Text(f"✓ {shown(self._describe(result))}", style="green")


class UnassignPartnerDialog(PartnerDialog):
    """End one of the tenant's assignments (it stays in the history, with who and why)."""

    HEADING = "Unassign partner"
    VERB = "ends the assignment"

    def __init__(
        self,
        tenant: str,
        question: str,
        assigned: Callable[[], list[Choice]],
        unassign: Callable[[str, str], Any],
        describe: Callable[[Any], str],
    ) -> None:
        super().__init__(tenant, question)
        self._assigned, self._unassign, self._describe = assigned, unassign, describe

    def read_choices(self) -> None:
        self.load(self._assigned, self._listed)

    def _listed(self, choices: list[Choice]) -> None:
        self.show_choices(choices, f"{self.tenant} has no partner assigned")

    def act(self, partner: str, reason: str) -> Any:
        return self._unassign(partner, reason)

    def result_text(self, result: Any) -> Text:
        return Text(f"✓ {shown(self._describe(result))}", style="green")


@dataclass(frozen=True)
class CardLines:
    """The contact card as the dialog shows it: for which partner, label and value of each
    line."""

    partner: str
    lines: tuple[tuple[str, str | None], ...]


class ShareContactsDialog(PartnerDialog):
    """Share the tenant's contact card with one of its assigned partners: shown here once."""

    HEADING = "Share contact card"
    VERB = "shares (logged)"

    def __init__(
        self,
        tenant: str,
        question: str,
        assigned: Callable[[], list[Choice]],
        share: Callable[[str, str], CardLines],
    ) -> None:
        super().__init__(tenant, question)
        self._assigned, self._share = assigned, share

    def read_choices(self) -> None:
        self.load(self._assigned, self._listed)

    def _listed(self, choices: list[Choice]) -> None:
        self.show_choices(choices, f"{self.tenant} has no partner assigned to share with")

    def act(self, partner: str, reason: str) -> CardLines:
        return self._share(partner, reason)

    def result_text(self, result: CardLines) -> Text:
        text = Text(f"Contact card for {shown(result.partner)}", style="bold")
        text.append(" (shown once; the share is in the ops log)\n", style="dim")
        for label, value in result.lines:
            text.append(f"{label:<15}", style="dim")
            text.append(f"{shown(value or '—')}\n")
        text.append("Closing this dialog hides it; a new share is logged again.", style="dim")
        return text
