"""Four-eyes approvals: a request is stored, and runs only when a different operator approves."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from aptien_ops.domain import Approval, ApprovalState
from aptien_ops.errors import Conflict, Forbidden, InvalidInput, NotFound
from aptien_ops.permissions import Action, approvers, may_approve, needs_role
from aptien_ops.ports import CatalogTx
from aptien_ops.services.context import OpsContext

#: Runs an approved request inside the approval's transaction; returns what to report.
Executor = Callable[[CatalogTx, str, dict[str, object]], Mapping[str, object]]


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

    def request(
        self,
        action: Action,
        target: str,
        params: Mapping[str, object],
        check: Callable[[CatalogTx], None] | None = None,
    ) -> Approval:
        """Record a four-eyes request, logged as ``pending``. The requester must hold the role
        for the action itself; ``check`` (in the same transaction, after authorisation) refuses
        a request that could not run, e.g. a tenant in the wrong state.

        Raises: Forbidden, and what ``check`` raises.
        """
        with self.ctx.audited(action, target, params) as attempt:
            with attempt.transaction() as tx:
                if check is not None:
                    check(tx)
                me = self.ctx.identity.operator
                approval_id = tx.approvals.insert(
                    str(action), target, dict(params), me, self.ctx.now()
                )
                approval = tx.approvals.get(approval_id)
                assert approval is not None
                attempt.pending(approval_id)
        return approval

    def list(self, state: str | None = None) -> list[Approval]:
        wanted = _state(state) if state else None
        return self.ctx.view(Action.APPROVAL_VIEW, "approvals", lambda tx: tx.approvals.all(wanted))

    def show(self, approval_id: int) -> Approval:
        return self.ctx.view(
            Action.APPROVAL_VIEW, f"approval/{approval_id}", lambda tx: self._get(tx, approval_id)
        )

    def approve(self, approval_id: int) -> ApprovalDecision:
        """Approve and run a pending request, in one transaction.

        Raises: NotFound, Conflict (not pending), Forbidden (own request, or lacking the role).
        """
        target = f"approval/{approval_id}"
        params = {"decision": "approve"}
        with self.ctx.audited(
            Action.APPROVAL_DECIDE, target, params, approval_id=approval_id
        ) as attempt:
            with attempt.transaction() as tx:
                approval = self._get(tx, approval_id, for_update=True)
                self._check_decider(tx, approval)
                executor = self._executors.get(approval.action)
                if executor is None:
                    raise Conflict(
                        f"approval #{approval_id} is for {approval.action}, which this console cannot run"
                    )
                result = executor(tx, approval.target, dict(approval.params))
                me = self.ctx.identity.operator
                tx.approvals.decide(approval_id, ApprovalState.APPROVED, me, self.ctx.now(), None)
                attempt.ok()
        return ApprovalDecision(approval_id, approval.action, approval.target, result)

    def reject(self, approval_id: int, reason: str) -> Approval:
        """Raises: InvalidInput (no reason), NotFound, Conflict, Forbidden."""
        reason = " ".join(reason.split())
        if not reason:
            raise InvalidInput("a rejection needs a reason", hint='--reason "why"')

        def reject(tx: CatalogTx) -> Approval:
            approval = self._get(tx, approval_id, for_update=True)
            me = self.ctx.identity.operator
            if approval.requested_by != me:
                # withdrawing your own request is allowed; rejecting someone else's needs the role
                self._check_decider(tx, approval)
            elif approval.state != ApprovalState.PENDING:
                raise Conflict(f"approval #{approval_id} is {approval.state}, not pending")
            tx.approvals.decide(approval_id, ApprovalState.REJECTED, me, self.ctx.now(), reason)
            return approval

        params = {"decision": "reject", "reason": reason}
        target = f"approval/{approval_id}"
        return self.ctx.mutate(
            Action.APPROVAL_DECIDE, target, params, reject, approval_id=approval_id
        )

    # -- internals ------------------------------------------------------------------------

    def _check_decider(self, tx: CatalogTx, approval: Approval) -> None:
        me = self.ctx.identity.operator
        if approval.state != ApprovalState.PENDING:
            raise Conflict(f"approval #{approval.id} is {approval.state}, not pending")
        if approval.requested_by == me:
            raise Forbidden(
                f"{me} cannot approve their own request #{approval.id}",
                hint="four-eyes: a different operator must approve it",
            )
        if not may_approve(self.ctx.roles(tx), approval.action):
            raise Forbidden(
                f"{me} may not approve {approval.action}",
                hint=needs_role(approvers(approval.action)),
            )

    @staticmethod
    def _get(tx: CatalogTx, approval_id: int, *, for_update: bool = False) -> Approval:
        approval = tx.approvals.get(approval_id, for_update=for_update)
        if approval is None:
            raise NotFound(f"no approval #{approval_id}", hint="aptien-ops approval list")
        return approval


def _state(value: str) -> ApprovalState:
    try:
        return ApprovalState(value)
    except ValueError:
        raise InvalidInput(
            f"unknown approval state {value[:30]!r}", hint=f"one of {', '.join(ApprovalState)}"
        ) from None


__all__ = ["ApprovalDecision", "ApprovalService"]
