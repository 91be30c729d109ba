"""The incident forms: open an incident (title, nature, time of awareness, severity), add a
line to its timeline, and change what the service lets an update change (severity, risk to
people and its rationale, status open/assessed).

Each field is checked with the core's own validators as the form is submitted, and what is
wrong is shown inside the dialog (``OpsModal.show_problem``); the service checks again,
authorises and audits when the screen hands it the answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label

from aptien_ops.domain.free_text import INCIDENT_TEXT, INCIDENT_TITLE, TIMELINE_TEXT
from aptien_ops.domain.incident_input import parse_moment
from aptien_ops.domain.incidents import Incident, IncidentStatus, Nature, Risk, Severity
from aptien_ops.domain.values import parse_choice
from aptien_ops.errors import InvalidInput
from aptien_ops.screens.modals import OpsModal
from aptien_ops.services.incidents import IncidentInput, IncidentUpdate

R = TypeVar("R")


@dataclass(frozen=True)
class Field:
    """One line of a form: its label, its input's id and placeholder, its first value."""

    key: str
    label: str
    placeholder: str = ""
    value: str = ""


class IncidentForm(OpsModal[R]):
    """A form of one-line fields; Enter moves to the next field, and on the last submits (as
    the button does); Esc cancels. Subclasses say what the answer is (``answer``)."""

    CSS_PATH = [
        Path(__file__).with_name("modals.tcss"),
        Path(__file__).with_name("incident_modals.tcss"),
    ]
    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    HEADING = ""
    SUBMIT = "Save"
    #: Each field's label beside its input, on one line (forms of more fields fit 80x24).
    INLINE = False

    def __init__(self, fields: Sequence[Field], note: str = "") -> None:
        super().__init__()
        self.fields, self.note = tuple(fields), note

    def compose(self) -> ComposeResult:
        with Vertical(id="modal-box") as box:
            box.border_title = self.HEADING
            if self.note:
                yield Label(self.note, id="modal-question")
            for f in self.fields:
                field = Input(f.value, placeholder=f.placeholder, id=f"form-{f.key}", compact=True)
                if self.INLINE:
                    with Horizontal(classes="form-row"):
                        yield Label(f.label, classes="form-label")
                        yield field
                else:
                    yield Label(f.label, classes="modal-label")
                    yield field
            with Horizontal(id="modal-buttons"):
                yield Button(self.SUBMIT, variant="primary", id="modal-submit")
                yield Button("Cancel", id="modal-cancel")
            yield Label(
                "Enter: next field; on the last, submits · Esc cancels", classes="modal-hint"
            )

    def on_mount(self) -> None:
        for field in self.query(Input):
            field.cursor_blink = getattr(self.app, "cursor_blink", True)

    def text(self, key: str) -> str:
        return " ".join(self.query_one(f"#form-{key}", Input).value.split())

    def checked(self, key: str, check: Callable[[str], Any]) -> Any:
        """``check(text of key)``; what it refuses is shown, the field focused, and
        :class:`InvalidInput` raised again to stop the submission."""
        try:
            return check(self.text(key))
        except InvalidInput as error:
            self.show_problem(error.one_line(), focus=self.query_one(f"#form-{key}", Input))
            raise

    #: The field Enter moved to, until it has the focus: focusing takes effect after the keys
    #: already queued, which still reach the field left (Enters typed ahead, a paste).
    _ahead: Input | None = None

    @on(Input.Submitted)
    def _next(self, event: Input.Submitted) -> None:
        inputs = list(self.query(Input))
        at = self._ahead if self._ahead is not None else event.input
        if at is inputs[-1]:
            self._ahead = None
            self._submit()
        else:
            self._ahead = inputs[inputs.index(at) + 1]
            self._ahead.focus()

    def on_descendant_focus(self) -> None:
        self._ahead = None

    @on(Button.Pressed, "#modal-submit")
    def _submit(self) -> None:
        try:
            answer = self.answer()
        except InvalidInput:
            return  # shown in the dialog
        self.show_problem(None)
        self.dismiss(answer)

    def answer(self) -> R:
        raise NotImplementedError

    @on(Button.Pressed, "#modal-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


def choice(kind: type[Any], what: str) -> Callable[[str], Any]:
    return lambda text: parse_choice(kind, text.lower(), what)


class OpenIncidentModal(IncidentForm[IncidentInput]):
    """A new incident: what happened, its nature, when Aptien became aware (its clock runs
    from then), how severe it is."""

    HEADING = "Open incident"
    SUBMIT = "Open"

    def __init__(self, now: datetime) -> None:
        super().__init__(
            (
                Field("title", "Title: what happened, in a line", "e.g. Backup bucket readable"),
                Field("nature", "Nature", ", ".join(Nature)),
                Field(
                    "aware-at",
                    "Aware at (with its offset; the 72 hours run from it)",
                    "2026-12-04T09:30+01:00",
                    f"{now:%Y-%m-%dT%H:%MZ}",
                ),
                Field("severity", "Severity", ", ".join(Severity), str(Severity.MEDIUM)),
            )
        )

    def answer(self) -> IncidentInput:
        title = self.checked(
            "title", partial(INCIDENT_TITLE.check, missing="an incident needs a title")
        )
        nature = self.checked("nature", choice(Nature, "nature"))
        aware_at = self.checked("aware-at", partial(parse_moment, what="aware at"))
        severity = self.checked("severity", choice(Severity, "severity"))
        return IncidentInput(title, str(nature), aware_at, severity=str(severity))


class TimelineModal(IncidentForm[tuple[str, datetime | None]]):
    """A dated line of the timeline: what happened and when (blank: now)."""

    HEADING = "Add to the timeline"
    SUBMIT = "Add"

    def __init__(self, incident_id: str) -> None:
        super().__init__(
            (
                Field("text", "What happened or was learnt", "e.g. bucket closed"),
                Field("at", "When (blank: now; with its offset)", "2026-12-04T10:05Z"),
            ),
            note=f"Incident {incident_id}",
        )

    def answer(self) -> tuple[str, datetime | None]:
        text = self.checked("text", TIMELINE_TEXT.check)
        at = self.checked("at", lambda t: parse_moment(t, "when") if t else None)
        return text, at


class EditIncidentModal(IncidentForm[IncidentUpdate]):
    """What an update may change from the console: severity, risk to people and why, and
    the status while the clock runs (open or assessed). Only the fields changed are sent."""

    HEADING = "Update incident"

    def __init__(self, incident: Incident) -> None:
        self.incident = incident
        super().__init__(
            (
                Field("severity", "Severity", ", ".join(Severity), str(incident.severity)),
                Field("risk", "Risk to people", ", ".join(Risk), str(incident.risk_to_people)),
                Field("rationale", "Why that risk", "", incident.risk_rationale or ""),
                Field("status", "Status", "open or assessed", str(incident.status)),
            ),
            note=f"Incident {incident.id}",
        )

    def answer(self) -> IncidentUpdate:
        i = self.incident
        severity = self.checked("severity", choice(Severity, "severity"))
        risk = self.checked("risk", choice(Risk, "risk to people"))
        rationale = self.checked("rationale", INCIDENT_TEXT.optional)
        status = self.checked("status", choice(IncidentStatus, "incident status"))
        change = IncidentUpdate(
            severity=str(severity) if severity != i.severity else None,
            risk_to_people=str(risk) if risk != i.risk_to_people else None,
            risk_rationale=rationale if (rationale or None) != i.risk_rationale else None,
            status=str(status) if status != i.status else None,
        )
        if change == IncidentUpdate():
            self.show_problem("nothing changed", focus=self.query_one("#form-severity", Input))
            raise InvalidInput("nothing changed")
        return change
