"""An incident's actions beyond its record, on its page: read the scope (the affected people),
file a report to the authority, notify the people (four-eyes: a request first; once a second
operator approved it on the Approvals screen, the sending, its progress per channel shown live
on the page), record an Art. 34(3) exemption instead, close the incident.

Each calls the service the command line calls (``breach scope | report | notify | exempt |
close``) in a worker, which authorises and logs every attempt, refused ones included; the
screen itself reads and writes nothing. While notices are being sent the page stays (it runs
the job) and its other actions wait.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from textual import on
from textual.message import Message
from textual.widgets import Static

from aptien_ops.domain.notices import CHANNELS
from aptien_ops.errors import OpsError, PendingApproval
from aptien_ops.permissions import Action
from aptien_ops.screens.backup_modals import Job, JobModal, JobRunner
from aptien_ops.screens.base import OpsScreen
from aptien_ops.screens.formatting import plural
from aptien_ops.screens.incident_action_modals import (
    ExemptModal,
    NotifyModal,
    ReportAnswer,
    ReportModal,
    ScopeModal,
)
from aptien_ops.screens.incident_render import sending_text
from aptien_ops.screens.modals import ReasonModal
from aptien_ops.services.incident_reports import ReportResult
from aptien_ops.services.incident_results import IncidentDetail, ScopeCounts
from aptien_ops.services.notice_results import Deliveries, NoticePlan

#: The keys of the incident's page and the permission each needs (the service decides).
ACTION_PERMISSIONS = {
    "add_entry": Action.BREACH_TIMELINE,
    "edit": Action.BREACH_UPDATE,
    "scope": Action.BREACH_SCOPE,
    "report": Action.BREACH_REPORT,
    "notify_people": Action.BREACH_NOTIFY,
    "exempt": Action.BREACH_EXEMPT,
    "close": Action.BREACH_CLOSE,
}


@dataclass(frozen=True)
class IncidentView:
    """What the incident's page shows, read in one worker."""

    detail: IncidentDetail
    deliveries: Deliveries


class NoticeProgress(Message, bubble=False):
    """Posted from the sending worker after each committed step of a channel."""

    def __init__(self, channel: str, done: int, total: int) -> None:
        super().__init__()
        self.channel, self.done, self.total = channel, done, total


def scope_words(counts: ScopeCounts) -> str:
    """``12 people in 2 tenants (eu: 8, us: 4)``."""
    h = counts.header
    per_region = ", ".join(f"{r}: {n:,}" for r, n in counts.regions.items()) or "none"
    return f"{plural(h.people, 'person', 'people')} in {plural(h.tenants, 'tenant')} ({per_region})"


class IncidentActions(OpsScreen, JobRunner):
    """The actions of :class:`~aptien_ops.screens.incident_detail.IncidentDetailScreen`."""

    incident_id: str
    view: IncidentView | None
    #: Channel -> (done, total) while this page sends notices; None when it sends none.
    sending: dict[str, tuple[int, int]] | None = None

    def refusal(self, action: str) -> str | None:
        why = super().refusal(action)
        if why is not None or (action not in ACTION_PERMISSIONS and action != "back"):
            return why
        if self.sending is not None:
            if action == "back":
                return (
                    "notices are being sent from this page: it stays until they are out"
                    " (the number keys switch screens; q asks before quitting)"
                )
            return "notices are being sent: wait until they are out"
        if self.view is None and action != "back":
            return f"{self.incident_id} is still being read: try again in a moment"
        return None

    def _detail(self) -> IncidentDetail:
        assert self.view is not None  # refusal() holds the keys back until it is read
        return self.view.detail

    # -- scope, report, exemption, close: a dialog that makes the call itself ----------------

    def action_scope(self) -> None:
        incident_id, service = self.incident_id, self.console.incidents
        dialog = ScopeModal(self._detail())

        def scoped(counts: ScopeCounts) -> None:
            self.notify(f"scope: {scope_words(counts)}", title=incident_id, markup=False)

        self.app.push_screen(
            dialog.acting(
                self,
                lambda request: partial(service.scope, incident_id, request, dialog.progress),
                scoped,
            )
        )

    def action_report(self) -> None:
        incident_id, service = self.incident_id, self.console.incidents

        def call(a: ReportAnswer) -> Callable[[], ReportResult]:
            return partial(
                service.report,
                incident_id,
                a.phase,
                a.fmt,
                a.output,
                reference=a.reference,
                delay_reasons=a.delay_reasons,
            )

        def filed(done: ReportResult) -> None:
            late = " (late)" if done.late else ""
            self.notify(
                f"{done.report.phase} report{late} written to {done.path}"
                f" · sha256 {done.report.sha256[:16]}…",
                title=f"{incident_id} reported",
                timeout=10,
                markup=False,
            )

        self.app.push_screen(ReportModal(self._detail()).acting(self, call, filed))

    def action_exempt(self) -> None:
        incident_id, notices = self.incident_id, self.console.notices
        self.app.push_screen(
            ExemptModal(incident_id).acting(
                self,
                lambda given: partial(notices.exempt, incident_id, given[1], given[0]),
                lambda e: self.notify(
                    f"Art. 34(3) exemption recorded ({e.ground})", title=incident_id, markup=False
                ),
            )
        )

    def action_close(self) -> None:
        detail, service = self._detail(), self.console.incidents
        question = (
            f"Close {detail.id}, {detail.incident.title}? It stays, read-only. One whose risk"
            " is not 'unlikely' closes only once it was reported. The reason goes to its"
            " timeline and the ops log."
        )
        dialog = ReasonModal(question, title="Close incident", placeholder="why it is closed")
        self.app.push_screen(
            dialog.acting(
                self,
                lambda reason: partial(service.close_incident, detail.id, reason),
                lambda _: self.notify("incident closed", title=detail.id, markup=False),
            )
        )

    # -- notices: what would be sent, then a request or the sending --------------------------

    def action_notify_people(self) -> None:
        detail, notices = self._detail(), self.console.notices
        if detail.scope is None or detail.scope.header.people == 0:
            self.notify(
                f"no affected people are recorded for {detail.id}: press s to read the scope",
                severity="warning",
                markup=False,
            )
            return
        self.plan(lambda: notices.plan(detail.id, CHANNELS), partial(self._planned, detail))

    def _planned(self, detail: IncidentDetail, plan: NoticePlan) -> None:
        incident_id, notices = self.incident_id, self.console.notices

        def send(channels: tuple[str, ...]) -> Job:
            return Job(
                f"notifying the people of {incident_id}",
                lambda: notices.notify(incident_id, channels, progress=self._progress),
            )

        self.app.push_screen(NotifyModal(plan, detail).running(self, send, self._sent))

    def _sent(self, deliveries: Deliveries) -> None:
        said = ", ".join(f"{c.channel} {c.sent:,} sent" for c in deliveries.channels)
        failed = sum(c.failed for c in deliveries.channels)
        self.notify(
            said + (f"; {failed:,} failed (listed on the page)" if failed else ""),
            title=f"{self.incident_id}: notices out",
            severity="error" if failed else "information",
            timeout=10,
            markup=False,
        )

    def run_job(self, dialog: JobModal[Any], job: Job, done: Callable[[Any], None]) -> None:
        self._dialog, self.sending = dialog, {}
        self.ops.job_started(self, job.label)
        self._show_sending()
        self.refresh_bindings()
        self.change(job.call, done)

    def _progress(self, channel: str, done: int, total: int) -> None:
        """The service's progress callback (in the worker): a message to the page."""
        self.post_message(NoticeProgress(channel, done, total))

    @on(NoticeProgress)
    def _progressed(self, event: NoticeProgress) -> None:
        dialog = self._waiting()
        if dialog is not None:
            dialog.hand_off()  # under way: the page shows it from here
        if self.sending is not None:
            self.sending[event.channel] = (event.done, event.total)
            self._show_sending()

    def _show_sending(self) -> None:
        shown = self.query_one("#incident-sending", Static)
        shown.display = self.sending is not None
        if self.sending is not None:
            shown.update(sending_text(self.sending))

    def approval_pending(self, pending: PendingApproval) -> None:
        dialog = self._waiting()
        if dialog is not None:
            dialog.hand_off()  # a request: nothing is sent until approved
        super().approval_pending(pending)

    def service_refused(self, error: OpsError) -> None:
        dialog = self._waiting()
        if dialog is not None:
            dialog.service_refused(error)  # said beside the answer; it takes one again
            return
        super().service_refused(error)

    def after_change(self) -> None:
        # While notices are sent every other action waits (refusal), so a change now is the
        # sending's own end: done, a request, refused or failed.
        if self.sending is not None:
            self._dialog, self.sending = None, None
            self.ops.job_ended(self)
            self._show_sending()
            self.refresh_bindings()
        self.refresh_data()
