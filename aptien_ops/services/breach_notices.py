"""Breach notices to the affected people: ``breach notify``, ``deliveries`` and ``exempt``.

A campaign is four-eyes (``breach.notify`` in the policy's list): a ``security`` operator
requests it (exit 8) and a different ``security`` or ``admin`` operator approves. The request
carries the SHA-256 of the notice texts and of the incident's recipient snapshot; the approval
re-reads both and refuses if either changed, and otherwise records the campaign bound to them.
``breach notify ID`` run again then delivers it (:mod:`notify_engine`), and any later run
resumes what is pending: exactly once per recipient and channel.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

from aptien_ops.domain.free_text import INCIDENT_TEXT
from aptien_ops.domain.incidents import Exemption, Incident, IncidentStatus
from aptien_ops.domain.jobs import Enqueued, JobSpec, notice_lock
from aptien_ops.domain.notices import CHANNELS, Campaign, ChannelCounts, NoticeContent, Recipient
from aptien_ops.domain.people import Approval
from aptien_ops.domain.values import iso
from aptien_ops.errors import Conflict, InvalidInput
from aptien_ops.notice_texts import render, texts_digest
from aptien_ops.permissions import Action
from aptien_ops.ports import CatalogTx
from aptien_ops.ports.jobs import JobQueue
from aptien_ops.services.approvals import (
    DIGEST,
    ApprovalService,
    request_digest,
)
from aptien_ops.services.context import Attempt, OpsContext
from aptien_ops.services.incident_reads import existing_incident
from aptien_ops.services.notice_results import Deliveries, NoticePlan
from aptien_ops.services.notify_engine import Channels, Engine, Progress
from aptien_ops.services.notify_fill import fill_from_scope

#: Art. 34(3): (a) the data was unintelligible to others (encrypted), (b) later measures make
#: the high risk unlikely, (c) informing each person would take disproportionate effort (a
#: public communication instead).
GROUNDS = ("unintelligible", "risk-removed", "disproportionate")


def notice_content(incident: Incident, published_at: str = "") -> NoticeContent:
    """What every affected person is told, from the incident record. Raises: InvalidInput
    when the record lacks what Art. 34(2) requires."""
    missing = [
        name
        for name, value in (
            ("--dpo-contact", incident.dpo_contact),
            ("--consequences", incident.consequences),
            ("--measures-taken", incident.measures_taken),
        )
        if not value
    ]
    if missing:
        raise InvalidInput(
            f"incident {incident.id} lacks what a notice must say: {', '.join(missing)}",
            hint=f"aptien-ops breach update {incident.id} {missing[0]} …",
        )
    categories = ", ".join(incident.data_categories) or "personal data"
    measures = "\n".join(m for m in (incident.measures_taken, incident.measures_proposed) if m)
    return NoticeContent(
        incident_id=incident.id,
        title=incident.title,
        nature=f"{incident.title} ({incident.nature} of {categories})",
        consequences=incident.consequences or "",
        measures=measures,
        dpo_contact=incident.dpo_contact or "",
        published_at=published_at,
    )


def _channels(given: str | tuple[str, ...]) -> tuple[str, ...]:
    names = given.split(",") if isinstance(given, str) else list(given)
    wanted = {n.strip() for n in names if n.strip()}
    unknown = sorted(wanted - set(CHANNELS))
    if unknown or not wanted:
        raise InvalidInput(
            f"unknown channel {unknown[0][:20]!r}" if unknown else "no channel given",
            hint=f"channels: {','.join(CHANNELS)}",
        )
    return tuple(c for c in CHANNELS if c in wanted)


class NoticeService:
    def __init__(
        self, ctx: OpsContext, approvals: ApprovalService, channels: Callable[[], Channels]
    ) -> None:
        self.ctx, self.approvals, self._channels = ctx, approvals, channels
        approvals.register("breach.notify", self._approve)

    # -- the bound state: texts and recipients as the catalog holds them now -----------------

    def _bound(self, tx: CatalogTx, incident_id: str) -> tuple[NoticeContent, str, int]:
        incident = existing_incident(tx, incident_id)
        header = tx.incident_scope.header(incident_id)
        if header is None or header.people == 0:
            raise Conflict(
                f"incident {incident_id} has no affected people recorded",
                hint=f"aptien-ops breach scope {incident_id} --tenants … | --region R | --all",
            )
        return notice_content(incident), header.sha256, header.people

    @staticmethod
    def _approved(
        tx: CatalogTx, incident_id: str, content: NoticeContent, recipients_sha: str
    ) -> Campaign | None:
        """The incident's campaign if one was approved for exactly these texts and people."""
        campaign = tx.breach_outbox.campaign(incident_id)
        if (
            campaign is not None
            and campaign.texts_sha256 == texts_digest(content)
            and campaign.recipients_sha256 == recipients_sha
        ):
            return campaign
        return None

    def plan(self, incident_id: str, channels: str | tuple[str, ...]) -> NoticePlan:
        """``--dry-run``: what would be sent, recording nothing, and which channels a campaign
        approved for these texts and people already covers (those a run sends at once; any
        other channel is requested first). Raises: InvalidInput, NotFound, Conflict (no
        scope), Forbidden."""
        wanted = _channels(channels)

        def read(tx: CatalogTx) -> NoticePlan:
            content, recipients_sha, people = self._bound(tx, incident_id)
            regions = tuple(sorted({t.region for t in tx.incident_scope.tenants(incident_id)}))
            sample = Recipient("your-organisation", regions[0] if regions else "", "0", "")
            subject, _ = render(content, sample)
            approved = self._approved(tx, incident_id, content, recipients_sha)
            return NoticePlan(
                incident_id,
                wanted,
                people,
                regions,
                texts_digest(content),
                recipients_sha,
                subject,
                approved.channels if approved is not None else (),
            )

        return self.ctx.view(Action.BREACH_VIEW, incident_id, read)

    def notify(
        self,
        incident_id: str,
        channels: str | tuple[str, ...],
        progress: Progress | None = None,
    ) -> Deliveries:
        """Deliver the incident's approved campaign (resuming what is pending), or request one.

        One audited attempt: a request ends it ``pending`` (exit 8; a different security or
        admin operator approves), a delivery ``ok`` with the counts sent.

        Raises: InvalidInput, NotFound, Conflict, Forbidden, Unavailable, PendingApproval.
        """
        wanted = _channels(channels)

        def deliver(campaign: Campaign, attempt: Attempt) -> None:
            counts = self._deliver(campaign, wanted, progress)
            attempt.ok(**{c.channel: c.sent for c in counts})

        self._authorised(incident_id, wanted, deliver)
        return self.deliveries(incident_id)

    def enqueue(
        self, incident_id: str, channels: str | tuple[str, ...], queue: JobQueue
    ) -> list[Enqueued]:
        """``breach notify ID --enqueue``: as :meth:`notify` (the same request and approval),
        but the approved campaign goes on the queue as a job per region of its scope (the
        region's website entry and the people of its tenants), each delivered by a worker of
        that region as this operator. Raises: as :meth:`notify`."""
        wanted = _channels(channels)
        out: list[Enqueued] = []

        def put(campaign: Campaign, attempt: Attempt) -> None:
            fill_from_scope(self.ctx.catalog, campaign.id, campaign.incident_id, wanted)
            with self.ctx.catalog.read() as tx:
                regions = sorted({t.region for t in tx.incident_scope.tenants(incident_id)})
            me, args = self.ctx.identity.operator, {"channels": ",".join(wanted)}
            specs = [
                JobSpec("notify", r, incident_id, me, args, lock=notice_lock(incident_id, r))
                for r in regions
            ]
            out.extend(queue.enqueue(specs))
            attempt.ok(jobs=[e.job_id for e in out if not e.already], regions=regions)

        self._authorised(incident_id, wanted, put, enqueue=True)
        return out

    def deliver_batch(self, incident_id: str, channels: str, region: str) -> bool:
        """A region's batch of an approved campaign, in that region's worker as the operator
        who queued it: authorised again, never a new request (a campaign no longer approved
        for these texts and people fails the job); at most ``[jobs] notice_batch`` rows.
        Returns whether rows of the region are still pending (the next batch's).
        Raises: as :meth:`notify`, Conflict."""
        wanted = _channels(channels)
        more: list[bool] = []

        def deliver(campaign: Campaign, attempt: Attempt) -> None:
            limit = self.ctx.settings.jobs.notice_batch
            counts = self._deliver(campaign, wanted, None, region=region, limit=limit, more=more)
            attempt.ok(region=region, more=more[0], **{c.channel: c.sent for c in counts})

        self._authorised(incident_id, wanted, deliver, batch_of=region)
        return more[0]

    def _authorised(
        self,
        incident_id: str,
        wanted: tuple[str, ...],
        then: Callable[[Campaign, Attempt], None],
        *,
        enqueue: bool = False,
        batch_of: str | None = None,
    ) -> None:
        """One audited ``breach.notify`` attempt: ``then`` with the approved campaign, or a
        request for one (raised as PendingApproval) unless this is a worker's batch."""
        params: dict[str, object] = {"channels": ",".join(wanted)}
        if enqueue:
            params["enqueue"] = True
        if batch_of is not None:
            params["batch"] = batch_of
        requested: Approval | None = None
        with self.ctx.audited(Action.BREACH_NOTIFY, incident_id, params) as attempt:
            with attempt.transaction() as tx:
                content, recipients_sha, _ = self._bound(tx, incident_id)
                campaign = self._approved(tx, incident_id, content, recipients_sha)
                covered = campaign is not None and set(wanted) <= set(campaign.channels)
                if not covered and batch_of is not None:
                    raise Conflict(
                        f"the campaign of {incident_id} is no longer approved for its texts,"
                        " people and channels: nothing was sent",
                        hint=f"request again: aptien-ops breach notify {incident_id}",
                    )
                if not covered:
                    bound = {
                        **params,
                        "texts_sha256": texts_digest(content),
                        "recipients_sha256": recipients_sha,
                    }
                    if self.ctx.policy.needs_four_eyes(Action.BREACH_NOTIFY):
                        me, now = self.ctx.identity.operator, self.ctx.now()
                        approval_id = tx.approvals.insert(
                            str(Action.BREACH_NOTIFY), incident_id, bound, me, now
                        )
                        requested = tx.approvals.get(approval_id)
                        assert requested is not None
                        attempt.pending(approval_id, **{DIGEST: request_digest(requested)})
                    else:
                        campaign = self._record(tx, incident_id, bound, None)
            if requested is None:
                assert campaign is not None
                then(campaign, attempt)
        if requested is not None:
            raise self.approvals.awaiting(requested, f"notifying the people of {incident_id}")

    def _deliver(
        self,
        campaign: Campaign,
        wanted: tuple[str, ...],
        progress: Progress | None,
        *,
        region: str | None = None,
        limit: int | None = None,
        more: list[bool] | None = None,
    ) -> list[ChannelCounts]:
        fill_from_scope(self.ctx.catalog, campaign.id, campaign.incident_id, wanted)
        channels = self._channels()
        run = replace(campaign, channels=wanted)
        engine = Engine(
            self.ctx.catalog,
            run,
            channels,
            now=self.ctx.now,
            sleep=channels.sleep,
            progress=progress,
            region=region,
            limit=limit,
        )
        counts = engine.run()
        if more is not None:
            more.append(engine.more())
        return counts

    def _check_bound(self, tx: CatalogTx, incident_id: str, bound: Mapping[str, object]) -> None:
        content, recipients_sha, _ = self._bound(tx, incident_id)
        if bound.get("texts_sha256") != texts_digest(content):
            raise Conflict(
                f"the notice texts of {incident_id} changed after the request: nothing was sent",
                hint=f"request again: aptien-ops breach notify {incident_id}",
            )
        if bound.get("recipients_sha256") != recipients_sha:
            raise Conflict(
                f"the affected people of {incident_id} changed after the request: nothing was sent",
                hint=f"request again: aptien-ops breach notify {incident_id}",
            )

    def _record(
        self, tx: CatalogTx, incident_id: str, bound: Mapping[str, object], requester: str | None
    ) -> Campaign:
        self._check_bound(tx, incident_id, bound)
        incident = existing_incident(tx, incident_id, for_update=True)
        now, me = self.ctx.now(), self.ctx.identity.operator
        content = notice_content(incident, iso(now) or "")
        campaign = Campaign(
            0,
            incident_id,
            _channels(str(bound["channels"])),
            content,
            str(bound["texts_sha256"]),
            str(bound["recipients_sha256"]),
            requester or me,
            me if requester else None,
            now,
        )
        campaign = replace(campaign, id=tx.breach_outbox.add_campaign(campaign))
        if incident.status != IncidentStatus.CLOSED:
            tx.incidents.set_status(incident_id, IncidentStatus.NOTIFYING, now, me)
        return campaign

    def _approve(
        self, tx: CatalogTx, target: str, params: Mapping[str, object], approval_id: int
    ) -> Mapping[str, object]:
        approval = tx.approvals.get(approval_id)
        requester = approval.requested_by if approval is not None else None
        campaign = self._record(tx, target, params, requester)
        return {"campaign": campaign.id, "run": f"aptien-ops breach notify {target}"}

    def deliveries(self, incident_id: str) -> Deliveries:
        """Per channel sent, pending and failed. Raises: NotFound, Forbidden."""

        def read(tx: CatalogTx) -> Deliveries:
            existing_incident(tx, incident_id)
            return Deliveries(
                incident_id,
                tuple(tx.breach_outbox.counts(incident_id)),
                tuple(tx.breach_outbox.failed(incident_id, limit=50)),
                tuple(tx.breach_outbox.exemptions(incident_id)),
            )

        return self.ctx.view(Action.BREACH_VIEW, incident_id, read)

    def exempt(self, incident_id: str, reason: str, ground: str = GROUNDS[0]) -> Exemption:
        """Record an Art. 34(3) exemption. Raises: InvalidInput, NotFound, Forbidden."""
        if ground not in GROUNDS:
            raise InvalidInput(
                f"unknown ground {ground[:30]!r}", hint=f"grounds: {', '.join(GROUNDS)}"
            )
        rationale = INCIDENT_TEXT.check(
            reason,
            missing="an exemption needs its reason",
            hint='--reason "why the people need not be told"',
        )
        params = {"ground": ground, "reason": rationale}
        with self.ctx.audited(Action.BREACH_EXEMPT, incident_id, params) as attempt:
            with attempt.transaction() as tx:
                existing_incident(tx, incident_id)
                exemption = Exemption(ground, rationale, self.ctx.identity.operator, self.ctx.now())
                tx.breach_outbox.add_exemption(incident_id, exemption)
                attempt.ok()
        return exemption
