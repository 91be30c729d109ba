"""``billing notify``: the client's representative told of a licence ending and of
non-payment, by e-mail and in-app message, exactly once per tenant, kind and period.

Each due notice (:func:`domain.billing_notices.due_notices`) is a campaign of its own in the
notices' outbox, the one the breach notices deliver through (:mod:`notify_engine`): keyed by
the notice's subject key, one row per channel for the representative, each with its
idempotency key, moved pending → sent by the engine. A notice whose campaign has nothing
pending was told already and is passed over; a run stopped midway (killed, the SMTP server
gone) leaves its rows pending, and the next run delivers them, once.

The representative is the tenant record's contact (``contact_email``); the in-app message
goes to the user of the tenant database with that address, in the tenant's language. When
the tenant database cannot be read, or has no such user, the notice is an e-mail only (the
outcome's ``note`` says why); with no valid e-mail on record either, nothing is recorded
and the notice is listed as undelivered on every run until the tenant's contact is fixed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from aptien_ops.billing_notice_texts import billing_texts_digest
from aptien_ops.domain import Tenant
from aptien_ops.domain.billing_notices import DueNotice, due_notices, notice_content
from aptien_ops.domain.jobs import Enqueued, JobSpec, notice_lock
from aptien_ops.domain.notices import Campaign, ChannelCounts, OutboxRow, recipients_digest
from aptien_ops.domain.values import iso
from aptien_ops.errors import Unavailable
from aptien_ops.permissions import Action
from aptien_ops.ports import CatalogTx
from aptien_ops.ports.jobs import JobQueue
from aptien_ops.services.billing_suspend import Suspension, due_suspensions, suspend_unpaid
from aptien_ops.services.context import OpsContext
from aptien_ops.services.notify_engine import Channels, Engine, Progress
from aptien_ops.services.notify_fill import fill
from aptien_ops.services.representatives import representative_rows

if TYPE_CHECKING:
    from aptien_ops.services.inspection import InspectionService
    from aptien_ops.services.lifecycle import LifecycleService

#: The channels of a billing notice, in the order the engine runs them.
CHANNELS = ("inapp", "email")
#: The target (and ``notices`` argument) of a region's billing-notice job.
BILLING_JOBS = "billing"
DEFAULT_NOTICE_DAYS = (30, 7, 1)


@dataclass(frozen=True)
class NoticeOutcome:
    """One due notice: what was sent of it (``sent`` per channel, this run and before)."""

    tenant: str
    notice: str
    """``expiry-30``, ``expiry-7``, ``past_due``, ``unpaid``."""
    period_end: str | None
    subject: str
    channels: tuple[ChannelCounts, ...] = ()
    note: str | None = None
    """Why a channel was left out (no e-mail on record, no user for the representative)."""

    @property
    def delivered(self) -> bool:
        return bool(self.channels) and all(c.pending == c.failed == 0 for c in self.channels)

    def as_json(self) -> dict[str, object]:
        return {
            "tenant": self.tenant,
            "notice": self.notice,
            "period_end": self.period_end,
            "subject": self.subject,
            "channels": {c.channel: c.as_json() for c in self.channels},
            "note": self.note,
        }


@dataclass(frozen=True)
class NoticeRun:
    """``billing notify``: the notices due and not told before, and what became of each."""

    dry_run: bool
    notices: tuple[NoticeOutcome, ...]
    suspensions: tuple[Suspension, ...] = ()
    """Tenants unpaid for ``suspend_after_unpaid_days`` (when set): due, suspended or not."""

    @property
    def undelivered(self) -> tuple[NoticeOutcome, ...]:
        return () if self.dry_run else tuple(n for n in self.notices if not n.delivered)

    def as_json(self) -> dict[str, object]:
        return {
            "dry_run": self.dry_run,
            "notices": [n.as_json() for n in self.notices],
            "suspensions": [s.as_json() for s in self.suspensions],
        }


def _labelled(progress: Progress | None, label: str) -> Progress | None:
    """``progress`` with each step's channel named after its notice (``acme-gmbh expiry-7
    email``)."""
    if progress is None:
        return None
    return lambda channel, done, total: progress(f"{label} {channel}", done, total)


def _outcome(
    due: DueNotice, channels: tuple[ChannelCounts, ...] = (), note: str | None = None
) -> NoticeOutcome:
    end = iso(due.billing.current_period_end)
    return NoticeOutcome(due.tenant, due.label, end, due.key, channels, note)


class BillingNoticeService:
    def __init__(
        self,
        ctx: OpsContext,
        channels: Callable[[], Channels],
        inspection: Callable[[], InspectionService],
        lifecycle: Callable[[], LifecycleService] | None = None,
    ) -> None:
        self.ctx, self._channels, self._inspection = ctx, channels, inspection
        self._lifecycle = lifecycle

    def _suspend_after(self) -> int | None:
        billing = self.ctx.settings.billing
        days = billing.suspend_after_unpaid_days if billing is not None else None
        return days if self._lifecycle is not None else None

    def _notice_days(self) -> tuple[int, ...]:
        billing = self.ctx.settings.billing
        return tuple(billing.notice_days) if billing is not None else DEFAULT_NOTICE_DAYS

    def _untold(self, tx: CatalogTx) -> list[tuple[DueNotice, Tenant]]:
        """The notices due now whose campaign is missing or still has rows pending."""
        linked = [b for _, b in tx.billing.statuses() if b is not None]
        found: list[tuple[DueNotice, Tenant]] = []
        for due in due_notices(linked, self.ctx.now(), self._notice_days()):
            counts = tx.breach_outbox.counts(due.key)
            if counts and all(c.pending == 0 for c in counts):
                continue  # told (or failed for good: listed by the run that failed it)
            tenant = tx.tenants.get(due.tenant)
            if tenant is not None:
                found.append((due, tenant))
        return found

    def plan(self) -> NoticeRun:
        """``--dry-run``: the notices a run would send, recording and sending nothing.
        Raises: Forbidden."""

        def read(tx: CatalogTx) -> NoticeRun:
            days = self._suspend_after()
            due = due_suspensions(tx, self.ctx.now(), days) if days is not None else ()
            return NoticeRun(
                True,
                tuple(_outcome(due) for due, _ in self._untold(tx)),
                tuple(Suspension(tenant.name, told, "due") for tenant, _, told in due),
            )

        return self.ctx.view(Action.BILLING_VIEW, "tenants", read)

    def enqueue(self, queue: JobQueue) -> list[Enqueued]:
        """``billing notify --enqueue``: a ``notify`` job per region with a notice due (or a
        tenant to suspend), each run by that region's workers as this operator (:meth:`notify`
        for the region). One audited attempt. Raises: Forbidden, Unavailable."""
        with self.ctx.audited(Action.BILLING_NOTIFY, "tenants", {"enqueue": True}) as attempt:
            with self.ctx.catalog.read() as tx:
                regions = {t.region for _, t in self._untold(tx)}
                days = self._suspend_after()
                if days is not None:
                    regions |= {t.region for t, _, _ in due_suspensions(tx, self.ctx.now(), days)}
            me, args = self.ctx.identity.operator, {"notices": BILLING_JOBS}
            specs = [
                JobSpec("notify", r, BILLING_JOBS, me, args, notice_lock(BILLING_JOBS, r))
                for r in sorted(regions)
            ]
            out = queue.enqueue(specs)
            attempt.ok(jobs=[e.job_id for e in out if not e.already], regions=sorted(regions))
        return out

    def notify(self, progress: Progress | None = None, *, region: str | None = None) -> NoticeRun:
        """Send every notice due and not sent before (resuming any left pending); one audited
        attempt, with each notice's tenant, kind and subject key in its entry. Then, with
        ``suspend_after_unpaid_days`` set, suspend the tenants unpaid that long after their
        non-payment notice (:mod:`billing_suspend`). With ``region`` (a region worker's job),
        only its tenants'.

        Raises: Forbidden (before anything is read), Unavailable (the SMTP server cannot be
        reached: what was sent stays sent, the rest pending for the next run)."""
        params = {"region": region} if region is not None else {}
        with self.ctx.audited(Action.BILLING_NOTIFY, region or "tenants", params) as attempt:
            with self.ctx.catalog.read() as tx:
                untold = [(d, t) for d, t in self._untold(tx) if region in (None, t.region)]
            done = [self._send(due, tenant, progress) for due, tenant in untold]
            logged = [f"{n.tenant}:{n.notice}:{n.subject}" for n in done]
            undelivered = [n for n in done if not n.delivered]
            if undelivered:
                attempt.partly_failed(notices=logged, undelivered=len(undelivered))
            else:
                attempt.ok(notices=logged)
        return NoticeRun(False, tuple(done), tuple(self._suspend(region)))

    def _suspend(self, region: str | None = None) -> list[Suspension]:
        """With ``suspend_after_unpaid_days`` set, suspend the tenants unpaid that long after
        they were told (each its own ``tenant.suspend`` attempt)."""
        days = self._suspend_after()
        if days is None or self._lifecycle is None:
            return []
        with self.ctx.catalog.read() as tx:
            due = [
                d
                for d in due_suspensions(tx, self.ctx.now(), days)
                if region in (None, d[0].region)
            ]
        return suspend_unpaid(self._lifecycle(), due, days) if due else []

    # -- one notice ------------------------------------------------------------------------

    def _rows(self, due: DueNotice, tenant: Tenant) -> tuple[list[OutboxRow], str | None, str]:
        """The representative's outbox rows (campaign id 0), why a channel is left out, and
        the language of the notice."""
        return representative_rows(self._inspection, due.key, tenant)

    def _campaign(self, due: DueNotice, tenant: Tenant, rows: list[OutboxRow]) -> Campaign:
        """The notice's campaign: the one recorded before, else a new one."""
        now, me = self.ctx.now(), self.ctx.identity.operator
        content = notice_content(due, tenant.company, iso(now) or "")
        with self.ctx.catalog.transaction() as tx:
            campaign = tx.breach_outbox.campaign(due.key)
            if campaign is None:
                people = [r.as_recipient() for r in rows]
                campaign = Campaign(
                    0, due.key, CHANNELS, content, billing_texts_digest(content),
                    recipients_digest(people), me, None, now,
                )  # fmt: skip
                campaign = replace(campaign, id=tx.breach_outbox.add_campaign(campaign))
        return campaign

    def _send(self, due: DueNotice, tenant: Tenant, progress: Progress | None) -> NoticeOutcome:
        rows, note, _ = self._rows(due, tenant)
        if not rows:
            return _outcome(due, note=note)
        campaign = self._campaign(due, tenant, rows)
        fill(self.ctx.catalog, [replace(r, campaign_id=campaign.id) for r in rows])
        channels = self._channels()
        try:
            counts = Engine(
                self.ctx.catalog,
                campaign,
                channels,
                now=self.ctx.now,
                sleep=channels.sleep,
                progress=_labelled(progress, f"{due.tenant} {due.label}"),
            ).run()
        except Unavailable as exc:
            raise Unavailable(
                f"billing notices stopped at {due.tenant} ({due.label}): {exc.message}",
                hint="run aptien-ops billing notify again: what was sent is not sent twice",
            ) from None
        return _outcome(due, channels=tuple(counts), note=note)
