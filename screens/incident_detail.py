"""One incident: its clock, its timeline (dated entries), the scope recorded (tenants and
people per region), the report phases recorded, the notices' delivery per channel (sent,
pending, failed), then the record's fields; read again with ``r``, and by itself every
``AUTO_REFRESH_SECONDS`` while shown (a campaign's deliveries move on as it runs).

The record and the deliveries are read in one worker; the screen only shows them.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from aptien_ops.screens.incident_actions import ACTION_PERMISSIONS, IncidentActions, IncidentView
from aptien_ops.screens.incident_modals import EditIncidentModal, TimelineModal
from aptien_ops.screens.incident_render import (
    deliveries_text,
    heading_text,
    record_text,
    reports_text,
    scope_text,
    timeline_text,
)
from aptien_ops.screens.lists import ListScroll

SECTIONS = (
    ("timeline", "Timeline"),
    ("scope", "Scope"),
    ("reports", "Reports to the authority"),
    ("deliveries", "Notices delivered, per channel"),
    ("record", "Record"),
)


class IncidentDetailScreen(IncidentActions):
    """An incident, opened from the Incidents list (Enter). Esc goes back. Its actions beyond
    the record (scope, report, notify, exempt, close) are in :class:`IncidentActions`."""

    MODE = "incidents"  # a page of the Incidents screen: the header highlights it
    TITLE = "Incident"
    CSS_PATH = Path(__file__).with_name("incidents.tcss")
    AUTO_FOCUS = "#incident-sections"
    #: Most used first: the footer shows what fits at 80 columns, help lists them all.
    BINDINGS = [
        Binding("escape", "back", "Back", tooltip="back to the incidents list"),
        Binding("t", "add_entry", "Timeline +", tooltip="add a dated line to the timeline"),
        Binding("e", "edit", "Update", tooltip="change severity, risk to people or status"),
        Binding(
            "s", "scope", "Scope", tooltip="read the affected people (again): counts per region"
        ),
        Binding("f", "report", "Report", tooltip="file a report to the authority (Art. 33)"),
        Binding(
            "n",
            "notify_people",
            "Notify",
            tooltip="notify the people: request, then send (four-eyes)",
        ),
        Binding("x", "exempt", "Exempt", tooltip="record an Art. 34(3) exemption instead"),
        Binding("c", "close", "Close", tooltip="close the incident, with a reason"),
    ]
    PERMISSIONS = ACTION_PERMISSIONS
    #: The clock runs and a notice campaign moves its deliveries on: read again while shown.
    AUTO_REFRESH = True

    def __init__(self, incident_id: str, *, then: str | None = None) -> None:
        super().__init__()
        self.incident_id = incident_id
        self.view: IncidentView | None = None
        self._then = then

    def compose_body(self) -> ComposeResult:
        yield Static(id="incident-sending")
        with ListScroll(id="incident-sections"):
            yield Static("loading…", id="incident-heading")
            for key, title in SECTIONS:
                yield Static(Text(title, style="bold underline"), classes="incident-section-title")
                yield Static(id=f"incident-{key}", classes="incident-section")

    def refresh_data(self) -> None:
        incident_id, console = self.incident_id, self.console

        def read() -> IncidentView:
            detail = console.incidents.show(incident_id)
            return IncidentView(detail, console.notices.deliveries(incident_id))

        self.load(read, self._loaded)

    def _loaded(self, view: IncidentView) -> None:
        self.view = view
        detail = view.detail
        self.query_one("#incident-heading", Static).update(heading_text(detail))
        for key, text in (
            ("timeline", timeline_text(detail.timeline)),
            ("scope", scope_text(detail.scope)),
            ("reports", reports_text(detail.reports)),
            ("deliveries", deliveries_text(view.deliveries)),
            ("record", record_text(detail)),
        ):
            self.query_one(f"#incident-{key}", Static).update(text)
        if self._then is not None:  # the palette asked for an action on this incident
            then, self._then = self._then, None
            self.call_later(self.run_action, then)

    def action_add_entry(self) -> None:
        incident_id, service = self.incident_id, self.console.incidents
        self.app.push_screen(
            TimelineModal(incident_id).acting(
                self,
                lambda entry: partial(service.timeline_add, incident_id, *entry),
                lambda _entry: self.notify("added to the timeline", title=incident_id),
            )
        )

    def action_edit(self) -> None:
        incident_id, service = self.incident_id, self.console.incidents
        self.app.push_screen(
            EditIncidentModal(self._detail().incident).acting(
                self,
                lambda change: partial(service.update, incident_id, change),
                lambda _detail: self.notify("incident updated", title=incident_id),
            )
        )

    def action_back(self) -> None:
        self.dismiss(None)
