"""``notice send``, ``notice update`` and ``notice deliveries``: an operational notice told to
the representatives of the tenants in its stored scope, through the notices' outbox and engine
that the breach notices built (:mod:`notify_engine`), exactly once per recipient, channel and
delivery.

Each delivery (the first send, then each update) is a campaign of its own, keyed ``NOT-`` and
16 hex digits of the notice's id and the step's (:func:`domain.op_notices.subject_key`). The
step, the notice's new status and the campaign are recorded in one transaction before anything
is sent; the rows are filled, then the engine delivers what is pending. ``notice send ID`` run
again after anything stopped it (a ``kill -9``, a mail server down) delivers only what is
still pending of the last delivery; a delivery whose rows are all settled is never sent again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from aptien_ops.domain import Tenant
from aptien_ops.domain.free_text import NOTICE_UPDATE_TEXT
from aptien_ops.domain.notices import Campaign, OutboxRow, recipients_digest
from aptien_ops.domain.op_notices import (
    CHANNELS,
    FINISHED,
    Notice,
    NoticeStatus,
    NoticeStep,
    OpNoticeContent,
    StepKind,
    parse_channels,
    subject_key,
    to_the_minute,
    validate_notice_id,
)
from aptien_ops.domain.values import iso, parse_choice
from aptien_ops.errors import Conflict, InvalidInput, Unavailable
from aptien_ops.op_notice_texts import NoticeTemplates, op_texts_digest
from aptien_ops.permissions import Action
from aptien_ops.ports import CatalogTx
from aptien_ops.services.context import Attempt, OpsContext
from aptien_ops.services.notify_engine import Channels, Engine, Progress
from aptien_ops.services.notify_fill import fill
from aptien_ops.services.op_notice_results import FAILED_SHOWN, Delivery, SendResult
from aptien_ops.services.op_notice_users import UsersApproval, audience_rows
from aptien_ops.services.op_notices import existing_notice
from aptien_ops.services.representatives import REPRESENTATIVE
from aptien_ops.wording import approvers_words, plural

if TYPE_CHECKING:
    from aptien_ops.services.approvals import ApprovalService
    from aptien_ops.services.inspection import InspectionService
    from aptien_ops.services.op_notice_status import OpNoticeStatusPages

#: The steps that deliver something.
DELIVERING = (StepKind.SENT, StepKind.UPDATE)
#: What an update may set the status to.
UPDATE_STATUSES = (NoticeStatus.SCHEDULED, NoticeStatus.IN_PROGRESS, NoticeStatus.RESOLVED)


class OpNoticeSending:
    """Sending a notice, its updates, and their deliveries (see the module's docstring)."""

    def __init__(
        self,
        ctx: OpsContext,
        channels: Callable[[], Channels],
        inspection: Callable[[], InspectionService],
        approvals: ApprovalService | None = None,
        pages: Callable[[], OpNoticeStatusPages] | None = None,
    ) -> None:
        self.ctx, self._channels, self._inspection = ctx, channels, inspection
        self.users = UsersApproval(ctx, approvals)
        self._pages = pages

    # -- reads ---------------------------------------------------------------------------------

    def deliveries(self, notice_id: str) -> tuple[Delivery, ...]:
        """Each delivery of the notice, oldest first, with its counts per channel.
        Raises: InvalidInput, NotFound, Forbidden."""
        validate_notice_id(notice_id)

        def read(tx: CatalogTx) -> tuple[Delivery, ...]:
            existing_notice(tx, notice_id)
            return tuple(
                Delivery(
                    step,
                    key,
                    tuple(tx.breach_outbox.counts(key)),
                    tuple(tx.breach_outbox.failed(key, limit=FAILED_SHOWN)),
                )
                for step in tx.op_notices.steps(notice_id)
                if step.kind in DELIVERING
                for key in [subject_key(notice_id, step.id)]
            )

        return self.ctx.view(Action.NOTICE_VIEW, notice_id, read)

    # -- the audience ----------------------------------------------------------------------------

    def _audience(self, tx: CatalogTx, notice_id: str) -> tuple[list[Tenant], list[str]]:
        """The tenants of the stored scope still active or suspended (wherever they live now),
        and what changed of the scope since it was stored."""
        told: list[Tenant] = []
        notes: list[str] = []
        placed = tx.op_notices.scope(notice_id)
        # The tenants' records, one query per region they live in now (not one per tenant).
        records = {
            t.name: t for region in {now.region for _, now, _ in placed}
            for t in tx.tenants.all(region=region)
        }  # fmt: skip
        for then, now, state in placed:
            if str(state) not in ("active", "suspended"):
                notes.append(f"{then.tenant} is {state} now: not told")
                continue
            if (then.region, then.cluster) != (now.region, now.cluster):
                notes.append(
                    f"{then.tenant} moved {then.cluster or '-'} -> {now.cluster or '-'} since the"
                    " draft: told (the stored scope)"
                )
            tenant = records.get(then.tenant)
            if tenant is not None:
                told.append(tenant)
        if not told:
            raise InvalidInput(
                f"notice {notice_id}'s scope reaches no active or suspended tenant now",
                hint="nothing was sent; cancel it and draft one for the tenants affected",
            )
        return told, notes

    def _rows(
        self, notice: Notice, tenants: list[Tenant], channels: Sequence[str]
    ) -> tuple[list[OutboxRow], list[str], int]:
        return audience_rows(self._inspection, tenants, channels, notice.audience)

    def templates(self) -> NoticeTemplates:
        """The built-in templates and those of ``[notifications] templates_dir``."""
        return NoticeTemplates(self.ctx.settings.notifications.templates_dir)

    @staticmethod
    def content(notice: Notice, key: str, status: NoticeStatus, update: str) -> OpNoticeContent:
        return OpNoticeContent(
            incident_id=key,
            title=notice.title,
            nature="",
            consequences="",
            measures="",
            dpo_contact="",
            published_at=iso(notice.updated_at) or "",
            notice_id=notice.id,
            notice_kind=str(notice.kind),
            status=str(status),
            starts_at=iso(notice.starts_at) or "",
            ends_at=iso(notice.ends_at) or "",
            body=notice.body,
            update_text=update,
        )

    # -- sending ---------------------------------------------------------------------------------

    def send(
        self,
        notice_id: str,
        channels: Sequence[str] = CHANNELS,
        *,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> SendResult:
        """Send a drafted notice to its representatives (status ``scheduled``, or
        ``in-progress`` once its window started); run again, finish the last delivery.
        ``dry_run``: the counts per region and a rendered sample; nothing recorded or sent.
        Raises: InvalidInput (a channel, a scope reaching nobody now), NotFound, Forbidden,
        Conflict (resolved or cancelled), Unavailable (the mail server: what was sent stays
        sent, the rest pending for the next run)."""
        validate_notice_id(notice_id)
        wanted = parse_channels(channels)
        if dry_run:
            return self.ctx.view(
                Action.NOTICE_SEND, notice_id, lambda tx: self._plan(tx, notice_id, wanted)
            )
        self._users_cleared(notice_id, wanted, first=True)
        with self.ctx.audited(Action.NOTICE_SEND, notice_id, {"channels": wanted}) as attempt:
            notice, last, tenants, moved = self._current(notice_id)
            if last is None:
                status = self._first_status(notice)
                result = self._deliver(
                    notice, StepKind.SENT, status, "", wanted, tenants, moved, progress
                )
            else:
                result = self._resume(notice, last, tenants, moved, progress)
            self._settle(attempt, result)
        self._rewrite(notice_id)
        return result

    def _current(self, notice_id: str) -> tuple[Notice, NoticeStep | None, list[Tenant], list[str]]:
        """The notice, its last delivery, its audience's tenants and what moved, as now."""
        with self.ctx.catalog.read() as tx:
            notice = existing_notice(tx, notice_id)
            return notice, self._last(tx, notice_id), *self._audience(tx, notice_id)

    def _first_status(self, notice: Notice) -> NoticeStatus:
        """The status its first delivery gives a notice. Raises: Conflict (finished)."""
        if notice.status in FINISHED:
            raise Conflict(f"notice {notice.id} is {notice.status}: nothing is sent")
        starts = notice.starts_at > self.ctx.now()
        return NoticeStatus.SCHEDULED if starts else NoticeStatus.IN_PROGRESS

    def _users_cleared(self, notice_id: str, channels: Sequence[str], *, first: bool) -> None:
        """Before a new delivery (``first``: the first send; else an update, after it) to a
        notice whose audience has users: returns if a four-eyes approval of the notice as it
        is holds, else records the request and raises PendingApproval (exit 8). A notice not
        found, finished, or not in that state is left to the attempt that refuses it."""
        with self.ctx.catalog.read() as tx:
            notice = tx.op_notices.get(notice_id)
            if notice is None or notice.status in FINISHED:
                return
            if (self._last(tx, notice_id) is None) != first:
                return
        self.users.require(notice, channels)

    def _rewrite(self, notice_id: str) -> None:
        if self._pages is not None:
            self._pages().rewrite(notice_id)

    def update(
        self, notice_id: str, status: str, text: str, *, progress: Progress | None = None
    ) -> SendResult:
        """Record an update (a new status and its text) and send it to the same audience on
        the channels of the first send. Raises: InvalidInput, NotFound, Forbidden, Conflict
        (not sent yet, or finished), Unavailable."""
        validate_notice_id(notice_id)
        new = parse_choice(NoticeStatus, status, "notice status")
        if new not in UPDATE_STATUSES:
            raise InvalidInput(
                f"an update sets the status to {', '.join(UPDATE_STATUSES)}, not {new}",
                hint="notice cancel ID --reason … cancels a notice",
            )
        line = NOTICE_UPDATE_TEXT.check_lines(text)
        self._users_cleared(notice_id, CHANNELS, first=False)
        with self.ctx.audited(Action.NOTICE_UPDATE, notice_id, {"status": str(new)}) as attempt:
            with self.ctx.catalog.read() as tx:
                notice = existing_notice(tx, notice_id)
                first = next(
                    (s for s in tx.op_notices.steps(notice_id) if s.kind == StepKind.SENT), None
                )
                campaign = (
                    tx.breach_outbox.campaign(subject_key(notice_id, first.id)) if first else None
                )
                if campaign is None:
                    raise Conflict(
                        f"notice {notice_id} was not sent yet",
                        hint=f"aptien-ops notice send {notice_id} first",
                    )
                if notice.status in FINISHED:
                    raise Conflict(f"notice {notice_id} is {notice.status}: nothing is sent")
                tenants, moved = self._audience(tx, notice_id)
            result = self._deliver(
                notice, StepKind.UPDATE, new, line, campaign.channels, tenants, moved, progress
            )
            self._settle(attempt, result)
        self._rewrite(notice_id)
        return result

    # -- the parts -------------------------------------------------------------------------------

    @staticmethod
    def _settle(attempt: Attempt, result: SendResult) -> None:
        delivery = result.delivery
        details = {
            "subject": delivery.subject if delivery else None,
            "tenants": sum(result.regions.values()),
            "resumed": result.resumed,
            "users": result.users,
        }
        if result.undelivered:
            attempt.partly_failed(**details)
        else:
            attempt.ok(**details)

    @staticmethod
    def _last(tx: CatalogTx, notice_id: str) -> NoticeStep | None:
        delivering = [s for s in tx.op_notices.steps(notice_id) if s.kind in DELIVERING]
        return delivering[-1] if delivering else None

    def _plan(self, tx: CatalogTx, notice_id: str, channels: tuple[str, ...]) -> SendResult:
        notice = existing_notice(tx, notice_id)
        tenants, moved = self._audience(tx, notice_id)
        emails = sum(1 for t in tenants if t.contact_email)
        content = self.content(notice, "NOT-dry-run", notice.status, "")
        sample = self.templates().message(content, "email", "en")
        regions = dict(sorted(Counter(t.region for t in tenants).items()))
        notes = list(moved)
        approved, approvers = False, ""
        if notice.audience.reaches_users:
            approved = self.users.cleared(tx, notice) is not None
            roles = self.ctx.policy.approver_roles(str(Action.NOTICE_SEND_USERS))
            approvers = approvers_words(roles)
            when = "approved (four-eyes)" if approved else f"after {approvers} approves (four-eyes)"
            notes.append(
                f"the users of {plural(len(tenants), 'tenant')} are read from their databases"
                f" when it is sent, {when}"
            )
        if not notice.audience.reaches_representatives:
            emails = 0
        return SendResult(
            notice_id, True, regions, emails, None, tuple(notes), sample,
            audience=str(notice.audience), users_approved=approved, approvers=approvers,
        )  # fmt: skip

    def _deliver(
        self,
        notice: Notice,
        kind: StepKind,
        status: NoticeStatus,
        text: str,
        channels: Sequence[str],
        tenants: list[Tenant],
        moved: list[str],
        progress: Progress | None,
    ) -> SendResult:
        """Record the step, the status and the campaign in one transaction, then fill the
        rows and run the engine."""
        rows, notes, users = self._rows(notice, tenants, channels)
        step, campaign, rows = self._record(notice, kind, status, text, channels, rows)
        result = self._run(notice, step, campaign, rows, tenants, [*moved, *notes], progress)
        return replace(result, users=users)

    def _record(
        self,
        notice: Notice,
        kind: StepKind,
        status: NoticeStatus,
        text: str,
        channels: Sequence[str],
        rows: list[OutboxRow],
    ) -> tuple[NoticeStep, Campaign, list[OutboxRow]]:
        """The step, the status and the delivery's campaign, in one transaction; the rows
        keyed by the delivery. Raises: Conflict."""
        now, me = self.ctx.now(), self.ctx.identity.operator
        with self.ctx.catalog.transaction() as tx:
            current = existing_notice(tx, notice.id, for_update=True)
            if current.status in FINISHED:
                raise Conflict(f"notice {notice.id} is {current.status}: nothing is sent")
            if current.digest() != notice.digest():
                raise Conflict(
                    f"notice {notice.id} was edited meanwhile: nothing is sent",
                    hint=f"aptien-ops notice show {notice.id}, then send again",
                )
            if current.audience.reaches_users and self.users.cleared(tx, current) is None:
                raise Conflict(f"the approval to tell the users of {notice.id} is void now")
            ends = (
                max(to_the_minute(now), notice.starts_at)
                if status == NoticeStatus.RESOLVED and notice.ends_at is None
                else None
            )
            tx.op_notices.set_status(notice.id, status, now, me, ends_at=ends)
            step = NoticeStep(0, notice.id, now, me, kind, status, text or None)
            step = replace(step, id=tx.op_notices.add_step(step))
            key = subject_key(notice.id, step.id)
            content = self.content(
                replace(current, ends_at=ends or current.ends_at), key, status, text
            )
            content = replace(content, rendered=self.templates().rendered(content))
            rows = [replace(r, incident_id=key) for r in rows]
            campaign = Campaign(
                0, key, tuple(channels), content, op_texts_digest(content),
                recipients_digest([r.as_recipient() for r in rows]), me, None, now,
            )  # fmt: skip
            campaign = replace(campaign, id=tx.breach_outbox.add_campaign(campaign))
        return step, campaign, rows

    def _resume(
        self,
        notice: Notice,
        step: NoticeStep,
        tenants: list[Tenant],
        moved: list[str],
        progress: Progress | None,
        region: str | None = None,
    ) -> SendResult:
        """Finish the last delivery: its rows filled again (what is there stays), what is
        pending delivered (``region``: a region worker's job, its tenants' rows only)."""
        key = subject_key(notice.id, step.id)
        with self.ctx.catalog.read() as tx:
            campaign = tx.breach_outbox.campaign(key)
        if campaign is None:  # recorded with its step: only a catalog edited by hand
            raise Conflict(f"notice {notice.id}'s last delivery has no campaign")
        rows, notes, users = self._rows(notice, tenants, campaign.channels)
        rows = [replace(r, incident_id=key) for r in rows]
        return replace(
            self._run(notice, step, campaign, rows, tenants, [*moved, *notes], progress, region),
            resumed=True,
            users=users,
        )

    def _run(
        self,
        notice: Notice,
        step: NoticeStep,
        campaign: Campaign,
        rows: list[OutboxRow],
        tenants: list[Tenant],
        notes: list[str],
        progress: Progress | None,
        region: str | None = None,
    ) -> SendResult:
        fill(self.ctx.catalog, [replace(r, campaign_id=campaign.id) for r in rows])
        home = {t.name: t.region for t in tenants}
        channels = self._channels()
        try:
            counts = Engine(
                self.ctx.catalog, campaign, channels, now=self.ctx.now, sleep=channels.sleep,
                progress=progress, region=region, home=home,
            ).run()  # fmt: skip
        except Unavailable as exc:
            raise Unavailable(
                f"notice {notice.id} stopped: {exc.message}",
                hint=f"run aptien-ops notice send {notice.id} again: nothing is sent twice",
            ) from None
        regions = dict(sorted(Counter(t.region for t in tenants).items()))
        emails = sum(1 for r in rows if r.channel == "email" and r.user_ref == REPRESENTATIVE)
        with self.ctx.catalog.read() as tx:
            failed = tx.breach_outbox.failed(campaign.incident_id, limit=FAILED_SHOWN)
        delivery = Delivery(step, campaign.incident_id, tuple(counts), tuple(failed))
        return SendResult(
            notice.id, False, regions, emails, delivery, tuple(notes),
            audience=str(notice.audience),
        )  # fmt: skip
