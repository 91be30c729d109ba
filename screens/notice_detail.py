"""One operational notice: its heading (kind, status, window), body, the scope stored at draft
(tenants per region and cluster, who moved or is gone since), its updates, and the delivery
of its send and each update per channel (sent, pending, failed); read again with ``r``, and by
itself every ``[tui] refresh_seconds`` while shown.

Its actions call the services the command line calls, in workers: ``s`` sends it (the dry run
first: counts per region and a rendered sample, then the channels to confirm), ``u`` posts an
update (sent to the same audience), ``e`` edits its title, body or window (a draft or a scheduled
one; changed by another operator since it was read: the Changed meanwhile dialog), ``v``
resolves it, ``c`` cancels it. The record and its
deliveries are read in one worker; the screen only shows them. A refusal or failure outside a
dialog is one red line at the top of the page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from aptien_ops.domain.op_notices import CHANNELS, EDITABLE, FINISHED, StepKind
from aptien_ops.errors import OpsError
from aptien_ops.permissions import Action
from aptien_ops.screens.base import OpsScreen
from aptien_ops.screens.formatting import plural
from aptien_ops.screens.lists import ListScroll
from aptien_ops.screens.modals import OpsModal, ReasonModal
from aptien_ops.screens.notice_modals import (
    EditNoticeModal,
    ResolveNoticeModal,
    SendNoticeModal,
    UpdateNoticeModal,
)
from aptien_ops.screens.notice_render import (
    body_text,
    deliveries_text,
    heading_text,
    scope_text,
    updates_text,
)
from aptien_ops.services.op_notice_results import Delivery, NoticeDetail, SendResult

SECTIONS = (
    ("body", "Body"),
    ("scope", "Scope (stored at draft)"),
    ("updates", "Updates"),
    ("deliveries", "Delivered, per channel"),
)
#: The keys of a notice's page and the permission each needs (the service decides).
ACTION_PERMISSIONS = {
    "send": Action.NOTICE_SEND,
    "post_update": Action.NOTICE_UPDATE,
    "edit": Action.NOTICE_EDIT,
    "resolve": Action.NOTICE_RESOLVE,
    "cancel_notice": Action.NOTICE_CANCEL,
}


@dataclass(frozen=True)
class NoticeView:
    """What the notice's page shows, read in one worker."""

    detail: NoticeDetail
    deliveries: tuple[Delivery, ...]


def _progress_to(dialog: OpsModal[Any]) -> Callable[[str, int, int], None]:
    """The sending's progress callback (in the worker): said in ``dialog``."""

    def progress(channel: str, done: int, total: int) -> None:
        dialog.app.call_from_thread(dialog.show_working, f"{channel} {done:,}/{total:,}")

    return progress


class NoticeDetailScreen(OpsScreen):
    """A notice, opened from the Notices list (Enter) or drafted just now. Esc goes back."""

    MODE = "notices"  # a page of the Notices screen: the header highlights it
    TITLE = "Notice"
    CSS_PATH = Path(__file__).with_name("notices.tcss")
    AUTO_FOCUS = "#notice-sections"
    BINDINGS = [
        Binding("escape", "back", "Back", tooltip="back to the notices list"),
        Binding("s", "send", "Send", tooltip="send it: the dry run first, then the channels"),
        Binding("u", "post_update", "Update", tooltip="post an update, sent to the same people"),
        Binding("e", "edit", "Edit", tooltip="edit its title, body or window (draft, scheduled)"),
        Binding("v", "resolve", "Resolve", tooltip="mark it resolved (sends nothing)"),
        Binding("c", "cancel_notice", "Cancel", tooltip="cancel it, with a reason"),
    ]
    PERMISSIONS = ACTION_PERMISSIONS
    #: Deliveries move on while another operator sends; windows start: read again while shown.
    AUTO_REFRESH = True

    def __init__(self, notice_id: str, *, then: str | None = None) -> None:
        super().__init__()
        self.notice_id = notice_id
        self.view: NoticeView | None = None
        self._then = then

    def compose_body(self) -> ComposeResult:
        yield Static(id="notice-status")
        with ListScroll(id="notice-sections"):
            yield Static("loading…", id="notice-heading")
            for key, title in SECTIONS:
                yield Static(Text(title, style="bold underline"), classes="notice-section-title")
                yield Static(id=f"notice-{key}", classes="notice-section")

    def refresh_data(self) -> None:
        notice_id, console = self.notice_id, self.console

        def read() -> NoticeView:
            detail = console.op_notices.show(notice_id)
            return NoticeView(detail, console.op_notice_sending.deliveries(notice_id))

        self.load(read, self._loaded)

    def _loaded(self, view: NoticeView) -> None:
        self.view = view
        detail = view.detail
        self.query_one("#notice-heading", Static).update(heading_text(detail))
        for key, text in (
            ("body", body_text(detail.notice)),
            ("scope", scope_text(detail)),
            ("updates", updates_text(detail.steps)),
            ("deliveries", deliveries_text(view.deliveries)),
        ):
            self.query_one(f"#notice-{key}", Static).update(text)
        self.refresh_bindings()
        if self._then is not None:  # the palette asked for an action on this notice
            then, self._then = self._then, None
            self.call_later(self.run_action, then)

    def show_status(self, line: Text | None) -> None:
        status = self.query_one("#notice-status", Static)
        status.display = line is not None
        status.update(line or "")

    def service_refused(self, error: OpsError) -> None:
        """A read or a change refused or failed outside a dialog: one red line on the page."""
        self.show_status(Text(f"✗ {error.one_line()}", style="red"))
        if error.code == "forbidden":
            self.ops.refresh_roles()

    def refusal(self, action: str) -> str | None:
        why = super().refusal(action)
        if why is not None or action not in ACTION_PERMISSIONS:
            return why
        if self.view is None:
            return f"{self.notice_id} is still being read: try again in a moment"
        status = self.view.detail.notice.status
        if status in FINISHED:
            return f"{self.notice_id} is {status}: nothing more is done with it"
        if action == "edit" and status not in EDITABLE:
            return f"{self.notice_id} is {status}: only a draft or a scheduled notice is edited"
        if action == "post_update" and not self.view.deliveries:
            return f"{self.notice_id} was not sent yet: s sends it first"
        return None

    def _detail(self) -> NoticeDetail:
        assert self.view is not None  # refusal() holds the keys back until it is read
        return self.view.detail

    # -- send: the dry run, then the channels confirmed ---------------------------------------

    def action_send(self) -> None:
        notice_id, sending = self.notice_id, self.console.op_notice_sending
        self.show_status(None)
        self.plan(lambda: sending.send(notice_id, CHANNELS, dry_run=True), self._planned)

    def _planned(self, plan: SendResult) -> None:
        notice_id, sending = self.notice_id, self.console.op_notice_sending
        dialog = SendNoticeModal(plan, self._detail().notice.title)

        def send(channels: tuple[str, ...]) -> Callable[[], SendResult]:
            self.ops.job_started(self, f"sending notice {notice_id}")
            return partial(sending.send, notice_id, channels, progress=_progress_to(dialog))

        self.app.push_screen(dialog.acting(self, send, self._sent))

    def _sent(self, result: SendResult) -> None:
        delivery = result.delivery
        channels = delivery.channels if delivery is not None else ()
        said = ", ".join(f"{c.channel} {c.sent:,} sent" for c in channels) or "nothing to send"
        if result.undelivered:
            pending = sum(c.pending for c in channels)
            failed = sum(c.failed for c in channels)
            self.show_status(
                Text(
                    f"✗ not delivered to everyone: {pending:,} pending, {failed:,} failed"
                    " (s again sends what is pending)",
                    style="red",
                )
            )
        if result.notes:
            said += f"; {plural(len(result.notes), 'note')} (s shows them in its dry run)"
        update = delivery is not None and delivery.step.kind == StepKind.UPDATE
        title = f"{self.notice_id}: {'update sent' if update else 'sent'}"
        self.notify(said, title=title, markup=False)

    # -- update, resolve, cancel -------------------------------------------------------------

    def action_post_update(self) -> None:
        notice_id, sending = self.notice_id, self.console.op_notice_sending
        dialog = UpdateNoticeModal(self._detail().notice)

        def update(given: tuple[str, str]) -> Callable[[], SendResult]:
            self.ops.job_started(self, f"sending an update of {notice_id}")
            status, text = given
            return partial(sending.update, notice_id, status, text, progress=_progress_to(dialog))

        self.app.push_screen(dialog.acting(self, update, self._sent))

    def action_edit(self) -> None:
        notice = self._detail().notice
        service = self.console.op_notices
        self.app.push_screen(
            EditNoticeModal(notice).acting(
                self,
                # The time it was last changed, as read: changed since, the service refuses
                # (Stale) and the Changed meanwhile dialog says by whom.
                lambda change: partial(service.edit, notice.id, change, seen=notice.updated_at),
                lambda _: self.notify("edited", title=notice.id),
            )
        )

    def action_resolve(self) -> None:
        notice_id, service = self.notice_id, self.console.op_notices
        self.app.push_screen(
            ResolveNoticeModal(self._detail().notice).acting(
                self,
                lambda given: partial(service.resolve, notice_id, given[0] or None),
                lambda _: self.notify("resolved", title=notice_id),
            )
        )

    def action_cancel_notice(self) -> None:
        notice_id, service = self.notice_id, self.console.op_notices
        question = (
            f"Cancel {notice_id}? It will not happen (or was drafted in error); nothing is"
            " sent. The reason goes to its updates and the ops log."
        )
        dialog = ReasonModal(question, title="Cancel notice", placeholder="why it is cancelled")
        self.app.push_screen(
            dialog.acting(
                self,
                lambda reason: partial(service.cancel, notice_id, reason),
                lambda _: self.notify("cancelled", title=notice_id),
            )
        )

    def after_change(self) -> None:
        self.ops.job_ended(self)
        self.refresh_data()

    def action_back(self) -> None:
        self.dismiss(None)
