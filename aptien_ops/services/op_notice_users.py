"""An operational notice's audience: the tenants' representatives, their users, or both; and
the four-eyes approval that telling users needs.

The users are read from each tenant database the way the breach scope reads its affected
people (:func:`incident_scope.tenant_people`: ids and e-mail addresses through the inspection
readers, never a payload), when a delivery is recorded; they are not stored with the notice.
With ``both``, a user whose address is the representative's is told once, as the
representative.

Telling users reaches personal data at scale: every delivery to them (the first send, an
update) runs only while a different operator's approval of ``notice.send-users`` holds for
the notice exactly as it is now (:meth:`Notice.digest`: kind, title, body, window, audience,
scope). ``notice send`` without one records the request (exit 8); an admin or a security
operator approves it (``approval approve``), which is refused if the notice was edited since;
``notice send`` run again then sends. Editing the notice afterwards voids the approval: the
next delivery asks again.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING

from aptien_ops.domain import Tenant
from aptien_ops.domain.notices import OutboxRow, Recipient
from aptien_ops.domain.op_notices import FINISHED, Notice, NoticeAudience, NoticeStep, StepKind
from aptien_ops.domain.people import Approval, ApprovalState
from aptien_ops.errors import Conflict, OpsError
from aptien_ops.permissions import Action
from aptien_ops.ports import CatalogTx
from aptien_ops.services.approvals import ApprovalService, awaiting_approval
from aptien_ops.services.incident_scope import tenant_people
from aptien_ops.services.notify_fill import outbox_rows
from aptien_ops.services.representatives import representative_rows
from aptien_ops.wording import approvers_words

if TYPE_CHECKING:
    from aptien_ops.services.context import OpsContext
    from aptien_ops.services.inspection import InspectionService

#: The four-eyes request's parameter holding :meth:`Notice.digest`.
BOUND = "notice_sha256"
#: The approvals of a notice's users that a later edit voids.
LIVE = (ApprovalState.PENDING, ApprovalState.APPROVED)


def audience_rows(
    inspection: Callable[[], InspectionService],
    tenants: Sequence[Tenant],
    channels: Collection[str],
    audience: NoticeAudience,
) -> tuple[list[OutboxRow], list[str], int]:
    """The outbox rows (campaign 0, subject empty) of each tenant's audience on ``channels``,
    why some were left out (per tenant), and how many users are among them."""
    rows: list[OutboxRow] = []
    notes: list[str] = []
    users = 0
    for tenant in tenants:
        if audience.reaches_representatives:
            mine, note, _ = representative_rows(inspection, "", tenant, channels)
            rows += mine
            if note:
                notes.append(f"{tenant.name}: {note}")
        if not audience.reaches_users:
            continue
        try:
            people = tenant_people(inspection(), tenant, "")
        except OpsError as exc:
            notes.append(f"{tenant.name}: its users not told: {exc.message}"[:200])
            continue
        told_as_representative = (
            (tenant.contact_email or "").casefold() if audience.reaches_representatives else ""
        )
        found = [
            Recipient(p.tenant, p.region, p.user_ref, p.email, p.language)
            for p in people
            if not told_as_representative or p.email.casefold() != told_as_representative
        ]
        users += len(found)
        rows += outbox_rows(0, "", channels, found)
    return rows, notes, users


class UsersApproval:
    """The four-eyes approval of telling a notice's users (see the module's docstring)."""

    def __init__(self, ctx: OpsContext, approvals: ApprovalService | None) -> None:
        self.ctx, self.approvals = ctx, approvals
        if approvals is not None:
            approvals.register(str(Action.NOTICE_SEND_USERS), self._approve)

    @staticmethod
    def _of(tx: CatalogTx, notice_id: str, states: Sequence[ApprovalState]) -> list[Approval]:
        return [
            a
            for state in states
            for a in tx.approvals.all(state, grep=notice_id)
            if a.action == Action.NOTICE_SEND_USERS and a.target == notice_id
        ]

    def cleared(self, tx: CatalogTx, notice: Notice) -> Approval | None:
        """The approval that lets a delivery tell the notice's users now (None: none holds)."""
        digest = notice.digest()
        held = self._of(tx, notice.id, (ApprovalState.APPROVED,))
        return next((a for a in reversed(held) if a.params.get(BOUND) == digest), None)

    def require(self, notice: Notice, channels: Sequence[str]) -> None:
        """Returns when the notice's audience has no users, or an approval of the notice as it
        is holds; else records the request (or names the one waiting) and raises
        PendingApproval (exit 8). Raises: Forbidden, Conflict (finished), PendingApproval."""
        if not notice.audience.reaches_users:
            return
        with self.ctx.catalog.read() as tx:
            if self.cleared(tx, notice) is not None:
                return
            digest = notice.digest()
            waiting = [
                a
                for a in self._of(tx, notice.id, (ApprovalState.PENDING,))
                if a.params.get(BOUND) == digest and not self._expired(a)
            ]
        doing = f"telling the users of {notice.id}"
        approvers = self.ctx.policy.approver_roles(str(Action.NOTICE_SEND_USERS))
        if waiting:
            raise awaiting_approval(waiting[-1], doing, approvers)
        if self.approvals is None:  # built without approvals: nothing can approve it
            raise Conflict(f"{doing} needs the approval of {approvers_words(approvers)}")
        params = {
            "audience": str(notice.audience),
            "channels": ",".join(channels),
            BOUND: digest,
        }

        def check(tx: CatalogTx) -> None:
            current = tx.op_notices.get(notice.id)
            if current is None or current.status in FINISHED:
                raise Conflict(f"notice {notice.id} is finished: nothing is sent")
            if current.digest() != digest:
                raise Conflict(f"notice {notice.id} changed meanwhile", hint="send it again")

        approval = self.approvals.request(Action.NOTICE_SEND_USERS, notice.id, params, check)
        raise awaiting_approval(approval, doing, approvers)

    def _expired(self, approval: Approval) -> bool:
        return self.approvals is not None and self.approvals.expired(approval)

    def void(self, tx: CatalogTx, notice_id: str) -> list[int]:
        """The ids of the pending and approved requests an edit of the notice voids."""
        return [a.id for a in self._of(tx, notice_id, LIVE)]

    def _approve(
        self, tx: CatalogTx, target: str, params: Mapping[str, object], approval_id: int
    ) -> Mapping[str, object]:
        notice = tx.op_notices.get(target, for_update=True)
        if notice is None:
            raise Conflict(f"notice {target} is gone: request #{approval_id} cannot run")
        if notice.status in FINISHED:
            raise Conflict(f"notice {target} is {notice.status}: nothing will be sent")
        if params.get(BOUND) != notice.digest():
            raise Conflict(
                f"notice {target} was edited after request #{approval_id}: the approval is void,"
                " nothing was approved",
                hint=f"reject it; aptien-ops notice send {target} requests again",
            )
        me = self.ctx.identity.operator
        text = f"telling its users approved by {me} (request #{approval_id})"
        step = NoticeStep(0, target, self.ctx.now(), me, StepKind.APPROVED, notice.status, text)
        tx.op_notices.add_step(step)
        return {"notice": target, "run": f"aptien-ops notice send {target}"}


__all__ = ["BOUND", "UsersApproval", "audience_rows"]
