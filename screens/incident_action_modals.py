"""The dialogs of an incident's actions beyond its record: which tenants' people to scope, the
report to the authority to file, the Art. 34(3) exemption to record, the notices to send.

They take what the command line takes (``breach scope | report | exempt | notify``), check it
with the core's own validators as the form is submitted, and show what is wrong inside the
dialog; the service checks again, authorises and audits when the screen hands it the answer.
Titles and other operators' text are quoted through ``plain`` only.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, Label, SelectionList, Static

from aptien_ops.domain import validate_tenant_name
from aptien_ops.domain.free_text import INCIDENT_TEXT, REPORT_REFERENCE
from aptien_ops.domain.incident_input import parse_window
from aptien_ops.domain.incidents import Phase, ReportFormat
from aptien_ops.errors import InvalidInput
from aptien_ops.permissions import Action
from aptien_ops.screens.backup_modals import JobModal
from aptien_ops.screens.channel_modal import ChannelsModal
from aptien_ops.screens.formatting import minute, plain, plural
from aptien_ops.screens.incident_modals import Field, IncidentForm, choice
from aptien_ops.services.breach_notices import GROUNDS
from aptien_ops.services.incident_results import IncidentDetail, ScopeCounts, clock_words
from aptien_ops.services.incident_scope import ScopeRequest
from aptien_ops.services.notice_results import NoticePlan

if TYPE_CHECKING:
    from aptien_ops.domain.incidents import ScopeHeader
    from aptien_ops.screens.app import OpsApp

SELECTIONS = ("tenants", "region", "all")


class ScopeProgress(Message, bubble=False):
    """Posted from the worker after each tenant read: ``done`` of ``total``, the tenant."""

    def __init__(self, done: int, total: int, tenant: str) -> None:
        super().__init__()
        self.done, self.total, self.tenant = done, total, tenant


def _scope_fields(header: ScopeHeader | None) -> tuple[Field, ...]:
    """The scope form, prefilled with the recorded scope (refreshing it is Enter, Enter…)."""
    window = ""
    if header is not None and header.window_from and header.window_to:
        window = f"{header.window_from:%Y-%m-%dT%H:%MZ}..{header.window_to:%Y-%m-%dT%H:%MZ}"
    return (
        Field("which", "Which", "tenants, region or all", header.selection if header else "all"),
        Field("names", "Names/region", "acme-gmbh,globex or eu", ",".join(header.targets or ()))
        if header
        else Field("names", "Names/region", "acme-gmbh,globex or eu"),
        Field("window", "Window", "FROM..TO (blank: none)", window),
        Field(
            "logged-in",
            "Logged in",
            "yes: only who logged in in the window",
            "yes" if header is not None and header.logged_in_during_window else "no",
        ),
    )


class ScopeModal(IncidentForm[ScopeRequest]):
    """Which tenants' people are affected: named tenants, a region or all, optionally only
    accounts that existed by the window's end or logged in during it. The read goes tenant by
    tenant; the dialog says how far it got."""

    HEADING = "Scope"
    SUBMIT = "Read"
    INLINE = True

    def __init__(self, detail: IncidentDetail) -> None:
        header = detail.scope.header if detail.scope is not None else None
        super().__init__(
            _scope_fields(header),
            note=f"Read the affected people of {detail.id} from the tenants' databases (user"
            " and login metadata, never a payload) and store them as the snapshot its notices"
            " go to. It replaces the one recorded.",
        )

    def progress(self, done: int, total: int, tenant: str) -> None:
        """The service's progress callback (in the worker): a message to the dialog."""
        self.post_message(ScopeProgress(done, total, tenant))

    @on(ScopeProgress)
    def _progressed(self, event: ScopeProgress) -> None:
        if self.working:
            self.show_working(f"{event.done:,} of {plural(event.total, 'tenant')} read")

    def answer(self) -> ScopeRequest:
        which = self.checked("which", _selection)
        names = self.checked("names", partial(_targets, which))
        window = self.checked("window", lambda t: parse_window(t) if t else None)
        logged_in = self.checked("logged-in", _yes)
        if logged_in and window is None:
            message = "only who logged in needs a window FROM..TO"
            self.show_problem(message, focus=self.query_one("#form-window", Input))
            raise InvalidInput(message)
        return ScopeRequest(
            tenants=names if which == "tenants" else (),
            region=names[0] if which == "region" else None,
            everything=which == "all",
            window=window,
            logged_in=logged_in,
        )


def _selection(text: str) -> str:
    if text.lower() not in SELECTIONS:
        raise InvalidInput(f"which tenants: {', '.join(SELECTIONS)}, not {text[:20]!r}")
    return text.lower()


def _targets(which: str, text: str) -> tuple[str, ...]:
    names = tuple(n for n in text.replace(" ", ",").split(",") if n)
    if which == "all":
        return ()
    if not names:
        raise InvalidInput(f"name the {'tenants' if which == 'tenants' else 'region'}")
    if which == "region" and len(names) > 1:
        raise InvalidInput("one region")
    if which == "tenants":
        for name in names:
            validate_tenant_name(name)
    return names


def _yes(text: str) -> bool:
    if text.lower() not in ("yes", "no", ""):
        raise InvalidInput("logged in: yes or no")
    return text.lower() == "yes"


@dataclass(frozen=True)
class ReportAnswer:
    """``breach report``'s options, as the report form gives them."""

    phase: str
    fmt: str
    output: Path
    reference: str | None
    delay_reasons: str | None


class ReportModal(IncidentForm[ReportAnswer]):
    """The report to the authority: its phase (the next one prefilled), format, the new file
    to write, the authority's reference; when the clock is past 72 hours without a report, the
    reasons for the delay (GDPR Art. 33(1)), which the report must carry."""

    HEADING = "File report to the authority"
    SUBMIT = "File"
    INLINE = True

    def __init__(self, detail: IncidentDetail) -> None:
        self.incident_id, self.overdue = detail.id, detail.countdown.overdue
        done = {r.phase for r in detail.reports}
        phase = Phase.FOLLOW_UP if Phase.INITIAL in done else Phase.INITIAL
        #: The file's name as the form gave it (it follows the phase and format till edited).
        self._named = f"{detail.id}-{phase}.{ReportFormat.MD}"
        fields = [
            Field("phase", "Phase", ", ".join(Phase), str(phase)),
            Field("format", "Format", ", ".join(ReportFormat), str(ReportFormat.MD)),
            Field("output", "New file", "a file to write", self._named),
            Field("reference", "Reference", "the authority's case reference (optional)"),
        ]
        note = (
            f"Render {detail.id}'s report (Art. 33(3) a-d) to a new file (relative to the"
            " directory the console was started in) and record it with its SHA-256."
        )
        if self.overdue:
            fields.append(
                Field(
                    "delay",
                    "Delay reasons",
                    "why after 72 hours",
                    detail.incident.delay_reasons or "",
                )
            )
            note += (
                f" {clock_words(detail.countdown)}: the report must give the reasons for the"
                " delay (GDPR Art. 33(1))."
            )
        super().__init__(fields, note=note)

    @on(Input.Changed, "#form-phase, #form-format")
    def _rename(self) -> None:
        """The file's name follows the phase and format until the operator types another."""
        output = self.query_one("#form-output", Input)
        if output.value == self._named:
            self._named = f"{self.incident_id}-{self.text('phase')}.{self.text('format')}"
            output.value = self._named

    def answer(self) -> ReportAnswer:
        phase = self.checked("phase", choice(Phase, "report phase"))
        fmt = self.checked("format", choice(ReportFormat, "report format"))
        output = self.checked("output", _output)
        reference = self.checked("reference", REPORT_REFERENCE.optional)
        reasons = None
        if self.overdue:
            reasons = self.checked(
                "delay",
                partial(
                    INCIDENT_TEXT.check,
                    missing="the report comes after 72 hours: give the reasons for the delay",
                ),
            )
        return ReportAnswer(str(phase), str(fmt), output, reference, reasons)


def _output(text: str) -> Path:
    if not text:
        raise InvalidInput("name the new file to write the report to")
    return Path(text)


#: What each Art. 34(3) ground says, as the operator chooses.
GROUND_HELP = {
    "unintelligible": "(a) the data was unintelligible to others (encrypted)",
    "risk-removed": "(b) later measures make the high risk unlikely",
    "disproportionate": "(c) telling each person would take disproportionate effort",
}


class ExemptModal(IncidentForm[tuple[str, str]]):
    """An Art. 34(3) exemption instead of notifying: its ground and why (the reports list it)."""

    HEADING = "Art. 34(3) exemption"
    SUBMIT = "Record"
    INLINE = True

    def __init__(self, incident_id: str) -> None:
        grounds = "\n".join(f"{g}: {GROUND_HELP[g]}" for g in GROUNDS)
        super().__init__(
            (
                Field("ground", "Ground", ", ".join(GROUNDS), GROUNDS[0]),
                Field("reason", "Why", "why the people need not be told"),
            ),
            note=f"Record why the people affected by {incident_id} need not be told.\n{grounds}",
        )

    def answer(self) -> tuple[str, str]:
        ground = self.checked("ground", _ground)
        reason = self.checked(
            "reason", partial(INCIDENT_TEXT.check, missing="an exemption needs its reason")
        )
        return ground, reason


def _ground(text: str) -> str:
    if text.lower() not in GROUNDS:
        raise InvalidInput(f"the ground is one of {', '.join(GROUNDS)}")
    return text.lower()


def channel_counts(plan: NoticePlan, scope: ScopeCounts | None) -> dict[str, str]:
    """What each channel would deliver, from the plan's people and the scope's counts."""
    tenants = len(scope.tenants) if scope is not None else 0
    return {
        "email": f"{plural(plan.people, 'message')}, one per person",
        "website": f"{plural(len(plan.regions), 'notice')} ({', '.join(plan.regions) or '-'})",
        "inapp": f"{plural(plan.people, 'message')} in {plural(tenants, 'tenant')}' databases",
    }


class NotifyModal(JobModal[tuple[str, ...]], ChannelsModal):
    """What the notices would do: to how many people (per region, from the scope), by which
    channels, with which subject; then, confirmed, either a four-eyes request (nothing is sent
    until another operator the policy names approves it on the Approvals screen) or, once
    approved, the sending itself, whose progress per channel the incident's page shows."""

    CSS_PATH = IncidentForm.CSS_PATH
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, plan: NoticePlan, detail: IncidentDetail) -> None:
        super().__init__()
        self.notice_plan, self.detail = plan, detail
        self.channel_order = tuple(plan.channels)
        scope = detail.scope
        same = scope is not None and scope.header.sha256 == plan.recipients_sha256
        #: The scope's counts per region, if they are of the people the plan counted.
        self.scope = scope if same else None

    def compose(self) -> ComposeResult:
        plan, counts = self.notice_plan, channel_counts(self.notice_plan, self.scope)
        with Vertical(id="modal-box") as box:
            box.border_title = "Notify the people affected"
            yield Static(self._summary(), id="modal-question")
            wanted = plan.approved_channels or plan.channels
            yield SelectionList[str](
                *((f"{c:<8} {counts[c]}", c, c in wanted) for c in plan.channels),
                id="modal-channels",
                compact=True,
            )
            yield Label(id="modal-four-eyes", classes="modal-hint")
            with Horizontal(id="modal-buttons"):
                yield Button("Request", variant="primary", id="modal-submit")
                yield Button("Cancel", id="modal-cancel")
            yield Label("Space toggles a channel · Tab moves · Esc cancels", classes="modal-hint")

    def _summary(self) -> Text:
        plan, out = self.notice_plan, Text()
        out.append(f"{plan.incident_id}  ", style="bold")
        out.append_text(plain(self.detail.incident.title))
        out.append(f"\n{plural(plan.people, 'person', 'people')}")
        if self.scope is not None:
            per_region = " · ".join(f"{r} {n:,}" for r, n in self.scope.regions.items())
            out.append(f" in {plural(len(self.scope.tenants), 'tenant')} ({per_region})")
            out.append(f", scoped {minute(self.scope.header.taken_at)} UTC", style="dim")
        out.append("\nsubject: ")
        out.append_text(plain(plan.subject, style="italic"))
        return out

    def on_mount(self) -> None:
        self.query_one(SelectionList).focus()
        self._say_what_happens()

    @on(SelectionList.SelectedChanged)
    def _say_what_happens(self) -> None:
        chosen, approved = self.chosen(), self.notice_plan.approved_channels
        sends = bool(chosen) and set(chosen) <= set(approved)
        self.query_one("#modal-submit", Button).label = "Send" if sends else "Request"
        line = self.query_one("#modal-four-eyes", Label)
        if sends:
            line.update("Approved by a second operator: Send delivers now, once per person.")
        else:
            who = cast("OpsApp", self.app).approvers_of(Action.BREACH_NOTIFY)
            line.update(
                f"Four-eyes: this records a request; {who} approves it on Approvals (4);"
                " then n here sends."
            )
