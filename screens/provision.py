"""Provisioning a tenant: a form (name, country → region, contact), then its steps, live.

The form checks what it can before anything is touched (the name rule, the country, the
e-mail); the service still decides. The country is what the operator sees in its field: its
code or exact name, else the match they picked with ↑↓ (or a click) for that very text;
anything else is refused in the form. Keys arrive in bursts (a paste, a slow SSH link), so
nothing is taken from an event that may be older than the text: every change of the text
counts as an edit, and a list option or a pick belongs to the edit it was made for.

Provisioning runs in a worker thread whose progress callback posts a message per step, so the
list ticks as the catalog records each one. A failure names its step and the service's
one-line message; Retry resumes from that step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from aptien_ops.countries import quoted
from aptien_ops.country_names import CountryLookup
from aptien_ops.domain import Tenant, TenantState, validate_tenant_name
from aptien_ops.errors import InvalidInput, OpsError
from aptien_ops.regions import Resolution
from aptien_ops.screens.base import ServiceCaller
from aptien_ops.screens.formatting import plain
from aptien_ops.screens.modals import OpsModal
from aptien_ops.screens.provision_steps import StepList
from aptien_ops.services.provisioning import ProvisionRequest, check_contact_email

if TYPE_CHECKING:
    from aptien_ops.composition import Console
    from aptien_ops.screens.app import OpsApp

COUNTRY_MATCHES = 40
#: The longest country text the form quotes whole.
COUNTRY_QUOTED = 24
NAME_RULE = "3-40 characters: a-z, 0-9 and '-', starting with a letter"


def country_line(resolution: Resolution) -> Text:
    """``→ Germany (DE) · region eu (UN M49 Europe)``: what will be used, and the rule."""
    country = resolution.country
    # The rule ends in "→ region"; the region is already said once.
    why = resolution.rule.replace(f" → {resolution.region}", "", 1)
    text = Text()
    text.append(f"→ {country.name} ({country.alpha2}) · region {resolution.region}", style="bold")
    text.append(f" ({why})", style="dim")
    return text


def _row(label: str, field: Widget, *, id: str | None = None) -> Horizontal:
    """One row of the form: its label, then the field."""
    return Horizontal(
        Label(label, classes="provision-label"), field, classes="provision-row", id=id
    )


class StepReported(Message, bubble=False):
    """Posted from the provisioning thread: ``step`` is now ``status`` (start, done or skip)."""

    def __init__(self, step: str, status: str) -> None:
        super().__init__()
        self.step = step
        self.status = status


class CountrySearch(Input):
    """The country search box. ``edits`` counts every change of its text as it happens; ↑↓
    pick among the matches below it without leaving the box.

    The arrows are handled here, in order with the typed keys, and call ``moved(delta)`` at
    once: an app binding would run only once the key had bubbled up, possibly after keys
    typed later had changed the text (and the list).
    """

    def __init__(self, moved: Callable[[int], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.moved = moved
        self.edits = 0

    def watch_value(self) -> None:
        self.edits += 1

    def key_down(self, event: events.Key) -> None:
        self._move(event, 1)

    def key_up(self, event: events.Key) -> None:
        self._move(event, -1)

    def _move(self, event: events.Key, delta: int) -> None:
        event.stop()
        event.prevent_default()
        self.moved(delta)


@dataclass(frozen=True)
class CountryPick:
    """The match the operator picked (↑↓, Enter in the list, a click) for the text at edit
    ``edits``: it counts only while the text is still at that edit."""

    alpha2: str
    edits: int


class ProvisionModal(OpsModal[str | None], ServiceCaller):
    """Dismissed with the tenant's name once a provisioning run was started, else ``None``.

    ``existing`` maps tenant names the caller knows to their state, so the form can say at
    once that a name is taken (or that provisioning it stopped part-way and will resume).
    """

    CSS_PATH = [Path(__file__).with_name("modals.tcss"), Path(__file__).with_name("provision.tcss")]
    BINDINGS = [
        Binding("escape", "close", "Close"),
        # A priority binding moves the focus before the app hands on the next key, so what is
        # typed (or pasted) right after Enter lands in the next field, not in this one.
        Binding("enter", "next_field", "Next field", show=False, priority=True),
    ]
    #: The form's fields in Enter order; Enter in the last one submits.
    FIELDS = ("#provision-name", "#provision-country", "#provision-contact", "#provision-email")

    def __init__(self, existing: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.existing = dict(existing or {})
        self.resolution: Resolution | None = None
        self._pick: CountryPick | None = None
        #: The country box's edit the match list was made for.
        self._listed_at = 0
        self.request: ProvisionRequest | None = None
        self.running = False
        self.tenant: Tenant | None = None

    @property
    def console(self) -> Console:
        return cast("OpsApp", self.app).services

    def compose(self) -> ComposeResult:
        with Vertical(id="modal-box") as box:
            box.border_title = "Provision a tenant"
            with Vertical(id="provision-form"):
                yield _row(
                    "Name",
                    Input(
                        placeholder="e.g. acme-gmbh",
                        id="provision-name",
                        compact=True,
                        max_length=64,
                    ),
                )
                yield Static(
                    Text(NAME_RULE, style="dim"),
                    id="provision-name-check",
                    classes="provision-note",
                )
                yield _row(
                    "Country",
                    CountrySearch(
                        self._country_moved,
                        placeholder="name or code, e.g. Germany or DE",
                        id="provision-country",
                        compact=True,
                    ),
                )
                yield OptionList(id="provision-countries", compact=True)
                yield _row(
                    "",
                    Static(
                        Text("chosen by the country: its name or code", style="dim"),
                        id="provision-region",
                    ),
                    id="provision-region-row",
                )
                yield _row(
                    "Contact",
                    Input(
                        placeholder="name (optional)",
                        id="provision-contact",
                        compact=True,
                        max_length=200,
                    ),
                )
                yield _row(
                    "E-mail",
                    Input(
                        placeholder="e-mail (optional)",
                        id="provision-email",
                        compact=True,
                        max_length=320,
                    ),
                )
                with Horizontal(id="modal-buttons"):
                    yield Button("Provision", variant="primary", id="provision-go")
                    yield Button("Cancel", id="provision-cancel")
                yield Label(
                    "Enter: next field · ↑↓ pick a country · Esc cancels", classes="modal-hint"
                )
            with Vertical(id="provision-progress"):
                yield Static(id="provision-summary")
                yield StepList(id="provision-steps")
                yield Static(id="provision-outcome")
                with Horizontal(classes="provision-buttons"):
                    yield Button("Retry", variant="warning", id="provision-retry")
                    yield Button("Close", variant="primary", id="provision-close")

    def on_mount(self) -> None:
        blink = getattr(self.app, "cursor_blink", True)
        for field in self.query(Input):
            field.cursor_blink = blink
        self.query_one("#provision-countries").display = False
        self.query_one("#provision-progress").display = False

    # -- the form --------------------------------------------------------------------------

    @on(Input.Changed, "#provision-name")
    def _name_changed(self, event: Input.Changed) -> None:
        self.query_one("#provision-name-check", Static).update(
            self._name_verdict(event.value.strip())[1]
        )

    def _name_verdict(self, name: str) -> tuple[bool, Text]:
        """(may submit, what to say under the name)."""
        if not name:
            return False, Text(NAME_RULE, style="dim")
        try:
            validate_tenant_name(name)
        except OpsError as error:
            return False, Text(f"✗ {error.one_line()}", style="red")
        state = self.existing.get(name)
        if state == TenantState.PROVISIONING:
            return True, Text(f"↻ {name} stopped part-way: Provision resumes it", style="yellow")
        if state is not None:
            return False, Text(f"✗ a tenant named {name} exists already ({state})", style="red")
        return True, Text("✓ valid name", style="green")

    # -- the country: what the operator sees in its field decides -------------------------

    @property
    def _search(self) -> CountrySearch:
        return self.query_one("#provision-country", CountrySearch)

    @on(Input.Changed, "#provision-country")
    def _country_changed(self) -> None:
        # Not ``event.value``: a burst of keys can deliver Changed events late or out of
        # order; the box itself has the text the operator sees.
        if self._list_matches():
            self._show_country()

    def _lookup(self) -> CountryLookup:
        return self.console.regions.resolver.lookup(self._search.value, COUNTRY_MATCHES)

    def _list_matches(self) -> bool:
        """List the matches of the text as it is now, once per edit (False: listed already);
        an exact code or name needs no list. Each option carries the edit it was listed for."""
        edits = self._search.edits
        if self._listed_at == edits:
            return False
        self._listed_at, self._pick = edits, None
        found = self._lookup()
        options = self.query_one("#provision-countries", OptionList)
        shown = [] if found.exact is not None or not found.text else found.matches
        options.set_options(
            [Option(f"{c.alpha2}  {c.name}", id=f"{edits}:{c.alpha2}") for c in shown]
        )
        options.display = bool(shown)
        return True

    def _country_choice(self) -> Resolution | OpsError:
        """The country and region Provision would use now, or why there is none: the text's
        code or exact name, else the operator's pick if made for this very text."""
        found = self._lookup()
        country = found.exact
        pick = self._pick
        if country is None and pick is not None and pick.edits == self._search.edits:
            country = next((c for c in found.matches if c.alpha2 == pick.alpha2), None)
        if country is None:
            return self._asks(found)
        try:
            return self.console.regions.resolve(country.alpha2)
        except OpsError as error:
            return error

    @staticmethod
    def _asks(found: CountryLookup) -> InvalidInput:
        """Why the text names no country yet, as the form says it (the list shows the rest)."""
        if not found.text:
            return InvalidInput("choose the client's country")
        if not found.matches:  # the message without the command line's hint
            return InvalidInput(found.refusal().message, hint=found.note)
        what = "1 country" if found.total == 1 else f"{found.total} countries"
        how = "↓ picks it" if found.total == 1 else "pick one with ↑↓"
        typed = quoted(found.text, COUNTRY_QUOTED)
        return InvalidInput(f"{typed} matches {what}: {how}", hint=found.note)

    def _show_country(self, *, refused: bool = False) -> Resolution | None:
        """Say under the field what Provision would use (or why nothing); ``refused``: it was
        just refused. Returns the country's resolution if there is one."""
        choice = self._country_choice()
        line = self.query_one("#provision-region", Static)
        if isinstance(choice, Resolution):
            line.update(country_line(choice))
            return choice
        if not self._search.value.strip() and not refused:
            line.update(Text("chosen by the country: its name or code", style="dim"))
        else:
            mark, style = ("✗ ", "bold red") if refused else ("? ", "yellow")
            line.update(Text(mark + choice.one_line(), style=style))
        return None

    def _picked(self, option: Option) -> bool:
        """Take ``option`` as the operator's pick if it was listed for the text as it is now."""
        edits, _, alpha2 = (option.id or "").partition(":")
        if edits != str(self._search.edits) or self._listed_at != self._search.edits:
            return False  # listed for an older text: a late event, not the operator's choice
        self._pick = CountryPick(alpha2, self._search.edits)
        self._show_country()
        return True

    def _country_moved(self, delta: int) -> None:
        """↑ or ↓ in the country box (called in order with the keys typed into it)."""
        self._list_matches()
        options = self.query_one("#provision-countries", OptionList)
        if not options.option_count:
            return
        current = options.highlighted
        start = -1 if current is None and delta > 0 else (current or 0)
        options.highlighted = max(0, min(options.option_count - 1, start + delta))
        self._picked(options.get_option_at_index(options.highlighted))

    @on(OptionList.OptionHighlighted, "#provision-countries")
    def _country_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        # Only the operator moving in the list itself picks; the form's own highlighting
        # (↑↓ in the box) has picked already, and a late event names an older list.
        if self.focused is event.option_list:
            self._picked(event.option)

    @on(OptionList.OptionSelected, "#provision-countries")
    def _country_selected(self, event: OptionList.OptionSelected) -> None:
        if self._picked(event.option):
            self.query_one("#provision-contact", Input).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "next_field":
            return isinstance(self.focused, Input)  # Enter on a button or the list acts as usual
        return True

    def action_next_field(self) -> None:
        assert self.focused is not None
        position = self.FIELDS.index(f"#{self.focused.id}")
        if position + 1 == len(self.FIELDS):
            self._submit_when_typed()
        else:
            self.set_focus(self.query_one(self.FIELDS[position + 1], Input))

    @on(Button.Pressed, "#provision-go")
    def _submit_when_typed(self) -> None:
        """Submit once every field has taken the keys already sent to it. Enter is a priority
        binding: in a burst it runs before the keys typed just ahead of it reach their field,
        and the form must read what the operator will see, not a prefix ("ir" is Iran)."""
        fields = [self.query_one(field, Input) for field in self.FIELDS]

        def after(rest: list[Input]) -> None:
            if rest:
                rest[0].call_later(after, rest[1:])
            else:
                self._submit()

        after(fields)

    def _submit(self) -> None:
        if self.request is not None:
            return  # submitted already (Enter twice in a burst)
        name = self.query_one("#provision-name", Input).value.strip()
        may, said = self._name_verdict(name)
        if not may:
            self.query_one("#provision-name-check", Static).update(said)
            self._refuse(
                "#provision-name",
                "the name is not valid yet" if name else "the tenant needs a name",
            )
            return
        # Re-resolved from the text on screen: never a country remembered from an event.
        self._list_matches()
        resolution = self._show_country(refused=True)
        if resolution is None:
            self._search.focus()
            return
        self.resolution = resolution
        contact = self.query_one("#provision-contact", Input).value.strip() or None
        email = self.query_one("#provision-email", Input).value.strip() or None
        if email is not None:
            try:
                email = check_contact_email(email)
            except OpsError as error:
                self._refuse("#provision-email", error.one_line())
                return
        self.request = ProvisionRequest(
            name, self.resolution.country.alpha2, contact_name=contact, contact_email=email
        )
        self._start()

    def _refuse(self, field: str, why: str) -> None:
        self.notify(why, severity="warning", markup=False)
        self.query_one(field, Input).focus()

    # -- the run ---------------------------------------------------------------------------

    def _start(self) -> None:
        request = self.request
        assert request is not None and self.resolution is not None
        self.query_one("#provision-form").display = False
        self.query_one("#provision-progress").display = True
        box = self.query_one("#modal-box")
        box.border_title = f"Provisioning {request.name}"
        summary = Text(f"{request.name} ")
        summary.append_text(country_line(self.resolution))
        if request.contact_name:
            summary.append_text(plain(f" · {request.contact_name}"))
        self.query_one("#provision-summary", Static).update(summary)
        self.running = True
        self.query_one(StepList).begin()
        self._show_outcome(Text("working…", style="dim"))

        def report(step: str, status: str) -> None:
            self.post_message(
                StepReported(step, status)
            )  # thread-safe; widgets stay on the UI thread

        self.change(
            lambda: self.console.provisioning.provision(request, progress=report), self._finished
        )

    @on(StepReported)
    def _step_reported(self, event: StepReported) -> None:
        self.query_one(StepList).report(event.step, event.status)

    def _finished(self, tenant: Tenant) -> None:
        self.tenant = tenant
        self.running = False
        self.query_one(StepList).finish()
        self._show_outcome(
            Text(
                f"{tenant.name} is {tenant.state} in {tenant.region} on {tenant.cluster}.",
                style="bold green",
            )
        )
        self.query_one("#provision-close", Button).focus()

    def service_refused(self, error: OpsError) -> None:
        """Mark the first step not done as failed and say why, in the list itself."""
        self.running = False
        failed = self.query_one(StepList).fail()
        outcome = Text(f"✗ {failed}: {error.one_line()}\n", style="red")
        outcome.append("Retry resumes from this step; what was done stays done.", style="dim")
        self._show_outcome(outcome, failed=True)
        self.query_one("#provision-retry", Button).focus()

    def _show_outcome(self, outcome: Text, *, failed: bool = False) -> None:
        self.query_one("#provision-outcome", Static).update(outcome)
        self.query_one("#provision-retry", Button).display = failed
        self.query_one("#provision-close", Button).display = not self.running

    @on(Button.Pressed, "#provision-retry")
    def _retry(self) -> None:
        self._start()

    @on(Button.Pressed, "#provision-cancel")
    @on(Button.Pressed, "#provision-close")
    def action_close(self) -> None:
        if self.running:
            self.notify(
                "provisioning is running: wait for it to finish "
                "(an interrupted run resumes when rerun)",
                severity="warning",
                markup=False,
            )
            return
        self.dismiss(self.request.name if self.request is not None else None)
