"""Provisioning a tenant: a form (name, country → region, contact), then its steps, live.

The form checks what it can before anything is touched (the name rule, the country, the
e-mail); the service still decides. The country is what the operator sees in its field
(:mod:`aptien_ops.screens.country_field`), re-resolved on Submit. Keys can arrive in a burst
(a paste without bracketed paste, a slow SSH link), so Submit also waits until every field
has taken the keys sent ahead of its Enter.

Provisioning runs in a worker thread whose progress callback posts a message per step, so the
list ticks as the catalog records each one. A failure names its step and the service's
one-line message; Retry resumes from that step.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, Label, Static

from aptien_ops.domain import Tenant, TenantState, validate_tenant_name
from aptien_ops.domain.free_text import CONTACT_NAME
from aptien_ops.errors import OpsError
from aptien_ops.regions import Resolution
from aptien_ops.screens.country_field import CountryField, country_line, form_row
from aptien_ops.screens.formatting import plain
from aptien_ops.screens.modals import OpsModal
from aptien_ops.screens.provision_steps import StepList
from aptien_ops.services.provisioning import ProvisionRequest, check_contact_email

if TYPE_CHECKING:
    from aptien_ops.composition import Console
    from aptien_ops.screens.app import OpsApp

NAME_RULE = "3-40 characters: a-z, 0-9 and '-', starting with a letter"


class StepReported(Message, bubble=False):
    """Posted from the provisioning thread: ``step`` is now ``status`` (start, done or skip)."""

    def __init__(self, step: str, status: str) -> None:
        super().__init__()
        self.step = step
        self.status = status


class ProvisionModal(OpsModal[str | None]):
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
                yield form_row(
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
                yield CountryField(self.console.regions.resolver, id="provision-country-field")
                yield form_row(
                    "Contact",
                    Input(
                        placeholder="name (optional)",
                        id="provision-contact",
                        compact=True,
                        max_length=CONTACT_NAME.limit,
                    ),
                )
                yield form_row(
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

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "next_field":
            return isinstance(self.focused, Input)  # Enter on a button or the list acts as usual
        return super().check_action(action, parameters)

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
        resolution = self.query_one(CountryField).confirm()
        if resolution is None:
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
