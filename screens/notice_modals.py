"""The notice dialogs: draft a notice (kind, title, body, window, scope; the audience is the
tenants' representatives), send it once its dry run was seen (counts per region, a rendered
sample, the channels), post an update (a status and its text, sent to the same audience),
resolve it (an optional closing word).

They take what the command line takes (``notice draft | send | update | resolve``), check it
with the core's own validators as the form is submitted, and show what is wrong inside the
dialog; the service checks again, authorises and audits when the screen hands it the answer.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label, SelectionList, Static

from aptien_ops.domain.free_text import NOTICE_BODY, NOTICE_TITLE, NOTICE_UPDATE_TEXT
from aptien_ops.domain.incident_input import parse_moment
from aptien_ops.domain.op_notices import (
    CHANNELS,
    Notice,
    NoticeAudience,
    NoticeKind,
    NoticeStatus,
    Selection,
)
from aptien_ops.errors import InvalidInput
from aptien_ops.screens.channel_modal import ChannelsModal
from aptien_ops.screens.formatting import plain
from aptien_ops.screens.incident_modals import Field, IncidentForm, choice
from aptien_ops.screens.notice_render import preview_text
from aptien_ops.services.op_notice_results import SendResult
from aptien_ops.services.op_notice_send import UPDATE_STATUSES
from aptien_ops.services.op_notices import NoticeDraft, NoticeEdit

CSS = [*IncidentForm.CSS_PATH, Path(__file__).with_name("notice_modals.tcss")]
#: What the operator may type for a scope's first word.
SELECTIONS = {
    "region": Selection.REGIONS,
    "regions": Selection.REGIONS,
    "cluster": Selection.CLUSTERS,
    "clusters": Selection.CLUSTERS,
    "tenant": Selection.TENANTS,
    "tenants": Selection.TENANTS,
    "all": Selection.ALL,
}
AUDIENCE = (
    "The scope is resolved now to its active and suspended tenants, and stored. Telling their"
    " users is four-eyes: sending asks {who} first."
)


def scope_words(draft: NoticeDraft | None) -> str:
    """The scope field's text for ``draft`` (``clusters eu-fra-1``)."""
    if draft is None:
        return ""
    if draft.everything:
        return "all"
    for selection, names in (
        ("clusters", draft.clusters),
        ("regions", draft.regions),
        ("tenants", draft.tenants),
    ):
        if names:
            return f"{selection} {','.join(names)}"
    return ""


def parse_scope(text: str) -> tuple[Selection, tuple[str, ...]]:
    """``clusters eu-fra-1,eu-fra-2`` → (clusters, names); ``all``. Raises: InvalidInput."""
    first, _, rest = text.strip().partition(" ")
    selection = SELECTIONS.get(first.lower())
    if selection is None:
        raise InvalidInput(
            "a scope: regions R,…, clusters C,…, tenants T,… or all",
            hint="e.g. clusters eu-fra-1",
        )
    names = tuple(n for n in rest.replace(" ", ",").split(",") if n)
    if selection == Selection.ALL:
        if names:
            raise InvalidInput("all names no regions, clusters or tenants")
        return selection, ()
    if not names:
        raise InvalidInput(f"name the {selection}", hint=f"{selection} a,b")
    return selection, names


def _when(what: str, text: str) -> datetime | None:
    return parse_moment(text, what) if text else None


class DraftNoticeModal(IncidentForm[NoticeDraft]):
    """A new notice: its kind, title, body, window (blank from: now; blank to: open-ended) and
    scope; ``draft`` prefills it (the Fleet screen's maintenance of one cluster)."""

    CSS_PATH = CSS
    HEADING = "Draft notice"
    SUBMIT = "Draft"
    INLINE = True

    def __init__(
        self, now: datetime, draft: NoticeDraft | None = None, *, approvers: str = "another admin"
    ) -> None:
        """``approvers``: who approves telling users, in words from the policy in force."""
        kind = draft.kind if draft is not None else str(NoticeKind.MAINTENANCE)
        super().__init__(
            (
                Field("kind", "Kind", ", ".join(NoticeKind), kind),
                Field("title", "Title", "e.g. Database upgrade", draft.title if draft else ""),
                Field("body", "Body", "what happens, what clients should do (Markdown)"),
                Field("from", "From", f"blank: now; e.g. {now:%Y-%m-%dT%H:%MZ}"),
                Field("to", "To", "blank: open-ended (an outage)"),
                Field(
                    "scope",
                    "Scope",
                    "clusters C,… | regions R,… | tenants T,… | all",
                    scope_words(draft),
                ),
                Field(
                    "audience",
                    "Audience",
                    ", ".join(NoticeAudience),
                    str(NoticeAudience.REPRESENTATIVES),
                ),
            ),
            note=AUDIENCE.format(who=approvers),
        )

    def answer(self) -> NoticeDraft:
        kind = self.checked("kind", choice(NoticeKind, "notice kind"))
        title = self.checked("title", partial(NOTICE_TITLE.check, missing="a notice needs a title"))
        body = self.checked("body", partial(NOTICE_BODY.check, missing="a notice needs a body"))
        starts = self.checked("from", partial(_when, "from"))
        ends = self.checked("to", partial(_when, "to"))
        selection, names = self.checked("scope", parse_scope)
        audience = self.checked("audience", choice(NoticeAudience, "notice audience"))
        return NoticeDraft(
            str(kind),
            title,
            body,
            starts,
            ends,
            regions=names if selection == Selection.REGIONS else (),
            clusters=names if selection == Selection.CLUSTERS else (),
            tenants=names if selection == Selection.TENANTS else (),
            everything=selection == Selection.ALL,
            audience=str(audience),
        )


def _moment(value: datetime | None) -> str:
    return "" if value is None else f"{value:%Y-%m-%dT%H:%MZ}"


class EditNoticeModal(IncidentForm[NoticeEdit]):
    """A draft or scheduled notice's title, body and window (blank to: open-ended); only what
    changed is sent. Telling its users, once approved, needs a new approval after an edit."""

    CSS_PATH = CSS
    HEADING = "Edit notice"
    INLINE = True

    def __init__(self, notice: Notice) -> None:
        self.notice = notice
        super().__init__(
            (
                Field("title", "Title", "", notice.title),
                Field("body", "Body", "", " ".join(notice.body.split())),
                Field("from", "From", "with its offset", _moment(notice.starts_at)),
                Field("to", "To", "blank: open-ended", _moment(notice.ends_at)),
            ),
            note=f"Notice {notice.id}: what was sent stays sent; its next update tells the new"
            " text. An approval to tell its users is void after an edit.",
        )

    def answer(self) -> NoticeEdit:
        n = self.notice
        title = self.checked("title", partial(NOTICE_TITLE.check, missing="a notice needs a title"))
        body = self.checked("body", partial(NOTICE_BODY.check, missing="a notice needs a body"))
        from_text, to_text = self.text("from"), self.text("to")
        starts = self.checked("from", partial(_when, "from"))
        ends = self.checked("to", partial(_when, "to"))
        change = NoticeEdit(
            title=title if title != n.title else None,
            body=body if body != " ".join(n.body.split()) else None,
            starts_at=starts if from_text != _moment(n.starts_at) else None,
            ends_at=ends if to_text != _moment(n.ends_at) else None,
            open_ended=not to_text and n.ends_at is not None,
        )
        if change == NoticeEdit():
            self.show_problem("nothing changed", focus=self.query_one("#form-title"))
            raise InvalidInput("nothing changed")
        return change


class UpdateNoticeModal(IncidentForm[tuple[str, str]]):
    """An update of a sent notice: its new status and what changed, sent to the same audience
    on the channels of the first send (once each)."""

    CSS_PATH = CSS
    HEADING = "Post update"
    SUBMIT = "Send update"
    INLINE = True

    def __init__(self, notice: Notice) -> None:
        status = (
            NoticeStatus.IN_PROGRESS
            if notice.status == NoticeStatus.SCHEDULED
            else NoticeStatus.RESOLVED
        )
        super().__init__(
            (
                Field("status", "Status", ", ".join(UPDATE_STATUSES), str(status)),
                Field("text", "Text", "what changed, e.g. Started on time."),
            ),
            note=f"Notice {notice.id}: the update goes to the representatives it was sent to.",
        )

    def answer(self) -> tuple[str, str]:
        status = self.checked("status", choice(NoticeStatus, "notice status"))
        if status not in UPDATE_STATUSES:
            message = f"an update sets the status to {', '.join(UPDATE_STATUSES)}"
            self.show_problem(message, focus=self.query_one("#form-status"))
            raise InvalidInput(message)
        text = self.checked(
            "text", partial(NOTICE_UPDATE_TEXT.check, missing="an update needs its text")
        )
        return str(status), text


class ResolveNoticeModal(IncidentForm[tuple[str]]):
    """Mark a notice resolved (an open-ended window ends now), with an optional closing word.
    It sends nothing: an update with status resolved tells people."""

    CSS_PATH = CSS
    HEADING = "Resolve notice"
    SUBMIT = "Resolve"
    INLINE = True

    def __init__(self, notice: Notice) -> None:
        super().__init__(
            (Field("text", "Closing word", "optional, e.g. Done."),),
            note=f"Resolve {notice.id}? Nothing is sent (u with status resolved tells people).",
        )

    def answer(self) -> tuple[str]:
        return (self.checked("text", NOTICE_UPDATE_TEXT.optional) or "",)


class SendNoticeModal(ChannelsModal):
    """What a send would do (the dry run: tenants per region, representatives with an e-mail,
    notes, the rendered sample), the channels to send on; Send delivers, once per
    representative and channel, saying how far it got."""

    CSS_PATH = CSS
    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    channel_order = CHANNELS

    def __init__(self, plan: SendResult, title: str) -> None:
        super().__init__()
        self.send_plan, self.title_text = plan, title
        #: Telling users is a four-eyes request until a second operator approved it.
        asks = plan.audience != NoticeAudience.REPRESENTATIVES and not plan.users_approved
        self.verb = "Request" if asks else "Send"

    def compose(self) -> ComposeResult:
        with Vertical(id="modal-box") as box:
            box.border_title = "Send notice"
            yield Label(plain(self.title_text, style="bold"), id="modal-question")
            yield Static(preview_text(self.send_plan), id="send-preview")
            yield SelectionList[str](
                *((c, c, True) for c in CHANNELS), id="modal-channels", compact=True
            )
            with Horizontal(id="modal-buttons"):
                yield Button(self.verb, variant="primary", id="modal-submit")
                yield Button("Cancel", id="modal-cancel")
            yield Label("Space toggles a channel · Tab moves · Esc cancels", classes="modal-hint")

    def on_mount(self) -> None:
        self.query_one(SelectionList).focus()
