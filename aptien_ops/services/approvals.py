"""Four-eyes approvals: a request is stored, and runs only when a different operator approves.

A request is bound to what was asked: the digest of its action, target, parameters, requester
and time goes into its ``pending`` ops-log entry, whose HMAC nobody without the ops-log key
can forge. Approving re-reads the row, recomputes the digest and compares it with that entry
(an edited row is an integrity failure and nothing runs), checks that the request is within
the policy's lifetime, that the requester still holds the role for the action, and that the
approver is neither the requester nor the one a grant would give a role to.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from aptien_ops.domain import Approval, ApprovalState, iso, parse_choice
from aptien_ops.domain.free_text import GREP, REASON
from aptien_ops.domain.versions import check_approval
from aptien_ops.errors import (
    Conflict,
    Forbidden,
    IntegrityFailure,
    NotFound,
    PendingApproval,
)
from aptien_ops.opslog import entry_mac
from aptien_ops.permissions import MATRIX, Action, is_allowed, needs_role
from aptien_ops.ports import CatalogTx
from aptien_ops.services.context import OpsContext
from aptien_ops.wording import approvers_words

#: Runs an approved request inside the approval's transaction: (tx, target, params, approval
#: id) -> what to report.
Executor = Callable[[CatalogTx, str, Mapping[str, object], int], Mapping[str, object]]
#: The parameter of a request's pending entry that binds it to what was asked.
DIGEST = "request_sha256"
#: What a pending request past the policy's lifetime is shown as.
EXPIRED = "expired"
#: Requests that give their target a role: the target may not be the one who approves.
GRANTS = frozenset({"operator.grant-admin", "operator.grant-security"})


def request_digest(approval: Approval) -> str:
    """SHA-256 of everything a request asks for, as the catalog holds it."""
    fields = [
        approval.action,
        approval.target,
        approval.params,
        approval.requested_by,
        iso(approval.requested_at),
    ]
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def awaiting_approval(approval: Approval, doing: str, approvers: Iterable[str]) -> PendingApproval:
    """What a service raises once it recorded ``approval`` for ``doing`` ("purging
    acme-gmbh"): exit 8, naming the request and who may approve it (``approvers``: the
    policy's roles for its action): "… needs the approval of another admin or security
    operator; request #3 recorded"."""
    return PendingApproval(
        f"{doing} needs the approval of {approvers_words(approvers)};"
        f" request #{approval.id} recorded",
        approval_id=approval.id,
        action=approval.action,
        target=approval.target,
        approvers=approvers,
    )


@dataclass(frozen=True)
class ApprovalDecision:
    """An approved request and what running it reported."""

    approval: int
    action: str
    target: str
    result: Mapping[str, object]

    def as_json(self) -> dict[str, object]:
        return {
            "approval": self.approval,
            "action": self.action,
            "target": self.target,
            "result": dict(self.result),
        }


class ApprovalService:
    def __init__(self, ctx: OpsContext) -> None:
        self.ctx = ctx
        self._executors: dict[str, Executor] = {}

    def register(self, action: str, executor: Executor) -> None:
        self._executors[action] = executor

    def awaiting(self, approval: Approval, doing: str) -> PendingApproval:
        """:func:`awaiting_approval` with the approvers the policy in force names."""
        roles = self.ctx.policy.approver_roles(approval.action)
        return awaiting_approval(approval, doing, roles)

    def request(
        self,
        action: Action,
        target: str,
        params: Mapping[str, object],
        check: Callable[[CatalogTx], None] | None = None,
    ) -> Approval:
        """Record a four-eyes request, logged as ``pending`` with its digest. The requester
        must hold the role for the action itself; ``check`` (in the same transaction, after
        authorisation) refuses a request that could not run, e.g. a tenant in the wrong state.

        Raises: Forbidden, and what ``check`` raises.
        """
        with self.ctx.audited(action, target, params) as attempt:
            with attempt.transaction() as tx:
                if check is not None:
                    check(tx)
                me, now = self.ctx.identity.operator, self.ctx.now()
                approval_id = tx.approvals.insert(str(action), target, dict(params), me, now)
                approval = tx.approvals.get(approval_id)
                assert approval is not None
                attempt.pending(approval_id, **{DIGEST: request_digest(approval)})
        return approval

    def list(self, state: str | None = None, *, grep: str | None = None) -> list[Approval]:
        """Requests by id (in ``state``); with ``grep``, those whose row holds that text,
        ``expired`` (what the TUI shows for a pending request past its lifetime) included.
        Raises: InvalidInput (state, grep too long), Forbidden."""
        wanted = _state(state) if state else None
        needle = GREP.optional(grep)

        def read(tx: CatalogTx) -> list[Approval]:
            found = tx.approvals.all(wanted, grep=needle)
            if needle and needle.lower() in EXPIRED and wanted in (None, ApprovalState.PENDING):
                late = [a for a in tx.approvals.all(ApprovalState.PENDING) if self.expired(a)]
                found = sorted({a.id: a for a in found + late}.values(), key=lambda a: a.id)
            return found

        return self.ctx.view(Action.APPROVAL_VIEW, "approvals", read)

    def show(self, approval_id: int) -> Approval:
        return self.ctx.view(
            Action.APPROVAL_VIEW, f"approval/{approval_id}", lambda tx: self._get(tx, approval_id)
        )

    def expired(self, approval: Approval) -> bool:
        """Whether a pending request is past the policy's lifetime (it can no longer run)."""
        lifetime = timedelta(hours=self.ctx.policy.approval_lifetime_hours)
        return approval.state == ApprovalState.PENDING and (
            approval.requested_at + lifetime < self.ctx.now()
        )

    def expiry(self, approval: Approval) -> Conflict:
        """What approving an expired request is refused with."""
        hours = self.ctx.policy.approval_lifetime_hours
        return Conflict(
            f"approval #{approval.id} expired: it was requested more than {hours} h ago",
            hint="request it again if it is still needed",
        )

    def approve(self, approval_id: int, *, seen: int | None = None) -> ApprovalDecision:
        """Approve and run a pending request, in one transaction, holding its row's lock: two
        approvals of one request at once run it once (the second finds it decided: Conflict).
        ``seen``: the request's version the caller read (decided since: Stale).

        Raises: NotFound, Conflict (not pending, expired), Forbidden (own request, lacking the
        role, a grant to oneself, a requester who lost the role), IntegrityFailure (the request
        was changed after it was made, or was run already: nothing runs).
        """
        target = f"approval/{approval_id}"
        params = {"decision": "approve"}
        with self.ctx.audited(
            Action.APPROVAL_DECIDE, target, params, approval_id=_loggable(approval_id)
        ) as attempt:
            with attempt.transaction() as tx:
                approval = self._get(tx, approval_id, for_update=True, seen=seen)
                self._check_decider(tx, approval)
                self._check_bound(tx, approval)
                self._check_runnable(tx, approval)
                executor = self._executors.get(approval.action)
                if executor is None:
                    raise Conflict(
                        f"approval #{approval_id} is for {approval.action},"
                        " which this console cannot run"
                    )
                result = executor(tx, approval.target, dict(approval.params), approval_id)
                me = self.ctx.identity.operator
                tx.approvals.decide(approval, ApprovalState.APPROVED, me, self.ctx.now(), None)
                attempt.ok()
        return ApprovalDecision(approval_id, approval.action, approval.target, result)

    def reject(self, approval_id: int, reason: str, *, seen: int | None = None) -> Approval:
        """Raises: InvalidInput (no reason), NotFound, Conflict (Stale), Forbidden."""
        reason = REASON.check(reason, missing="a rejection needs a reason", hint='--reason "why"')

        def reject(tx: CatalogTx) -> Approval:
            approval = self._get(tx, approval_id, for_update=True, seen=seen)
            me = self.ctx.identity.operator
            if approval.requested_by != me:
                # withdrawing your own request is allowed; rejecting someone else's needs the role
                self._check_decider(tx, approval)
            elif approval.state != ApprovalState.PENDING:
                raise Conflict(f"approval #{approval_id} is {approval.state}, not pending")
            tx.approvals.decide(approval, ApprovalState.REJECTED, me, self.ctx.now(), reason)
            return approval

        params = {"decision": "reject", "reason": reason}
        target = f"approval/{approval_id}"
        return self.ctx.mutate(
            Action.APPROVAL_DECIDE, target, params, reject, approval_id=_loggable(approval_id)
        )

    # -- internals ------------------------------------------------------------------------

    def decision_refusal(
        self, approval: Approval, roles: Iterable[str]
    ) -> Conflict | Forbidden | None:
        """Why the acting operator, holding ``roles``, may not decide ``approval`` (not
        pending, their own request, a role for themselves, lacking the approver role), in the
        words ``approve`` refuses it with; None when they may. Reads no catalog: the TUI asks
        it for the highlighted request."""
        me = self.ctx.identity.operator
        if approval.state != ApprovalState.PENDING:
            return Conflict(f"approval #{approval.id} is {approval.state}, not pending")
        if approval.requested_by == me:
            return Forbidden(
                f"{me} cannot approve their own request #{approval.id}",
                hint="four-eyes: a different operator must approve it",
            )
        if approval.action in GRANTS and approval.target == me:
            return Forbidden(
                f"{me} cannot approve a role for themselves (request #{approval.id})",
                hint="nobody grants a role to themselves: a third admin must approve it",
            )
        allowed = self.ctx.policy.approver_roles(approval.action)
        if not allowed & set(roles):
            return Forbidden(f"{me} may not approve {approval.action}", hint=needs_role(allowed))
        return None

    def _check_decider(self, tx: CatalogTx, approval: Approval) -> None:
        refusal = self.decision_refusal(approval, self.ctx.roles(tx))
        if refusal is not None:
            raise refusal

    def _check_bound(self, tx: CatalogTx, approval: Approval) -> None:
        """The row is what was requested, and was never run: else nothing runs."""
        key = self.ctx.opslog_key
        recorded = [
            e
            for e in tx.opslog.for_approval(approval.id)
            if hmac.compare_digest(entry_mac(key, e), e.hmac)
        ]
        requests = [e for e in recorded if e.outcome == "pending"]
        if not requests:
            raise IntegrityFailure(
                f"approval #{approval.id} has no request in the ops log: nothing was run",
                hint="aptien-ops ops-log verify",
            )
        asked = json.loads(requests[0].params).get(DIGEST)
        if not isinstance(asked, str) or not hmac.compare_digest(asked, request_digest(approval)):
            raise IntegrityFailure(
                f"approval #{approval.id} was changed after it was requested: nothing was run",
                hint="reject it and request again; aptien-ops ops-log verify",
            )
        if any(e.action == Action.APPROVAL_DECIDE and e.outcome == "ok" for e in recorded):
            raise IntegrityFailure(
                f"approval #{approval.id} was decided already (the ops log says so): "
                "nothing was run"
            )

    def _check_runnable(self, tx: CatalogTx, approval: Approval) -> None:
        """Within its lifetime, and its requester may still ask for it."""
        if self.expired(approval):
            raise self.expiry(approval)
        requester = tx.operators.get(approval.requested_by)
        held = requester.roles if requester and requester.active else frozenset()
        action = Action(approval.action)
        if not is_allowed(held, action):
            needed = " or ".join(sorted(MATRIX[action]))
            raise Forbidden(
                f"{approval.requested_by}, who requested #{approval.id}, no longer holds {needed}",
                hint="the request cannot run; a current holder of the role may request it again",
            )

    @staticmethod
    def _get(
        tx: CatalogTx, approval_id: int, *, for_update: bool = False, seen: int | None = None
    ) -> Approval:
        if _loggable(approval_id) is None:
            raise NotFound(f"no approval #{approval_id}", hint="aptien-ops approval list")
        approval = tx.approvals.get(approval_id, for_update=for_update)
        if approval is None:
            raise NotFound(f"no approval #{approval_id}", hint="aptien-ops approval list")
        return check_approval(approval, seen)


def _loggable(approval_id: int) -> int | None:
    """``approval_id`` if a request could have it (a positive 32-bit integer), else None: the
    attempt on an id no column can hold is logged without it, then refused as not found."""
    return approval_id if 1 <= approval_id <= 2**31 - 1 else None


def _state(value: str) -> ApprovalState:
    return parse_choice(ApprovalState, value, "approval state")


__all__ = ["ApprovalDecision", "ApprovalService", "awaiting_approval", "request_digest"]
