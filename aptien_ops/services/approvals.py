"""Four-eyes approvals: a request is stored, and runs only when a different operator approves."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from aptien_ops.domain import Approval, ApprovalState, utcnow
from aptien_ops.errors import Conflict, Forbidden, InvalidInput, NotFound
from aptien_ops.opslog import Event
from aptien_ops.permissions import APPROVERS, Action, may_approve
from aptien_ops.ports import CatalogTx
from aptien_ops.services.context import OpsContext

#: Runs an approved request inside the approval's transaction; returns what to report.
Executor = Callable[[CatalogTx, str, dict[str, object]], Mapping[str, object]]


class ApprovalService:
    def __init__(self, ctx: OpsContext) -> None:
        self.ctx = ctx
        self._executors: dict[str, Executor] = {}

    def register(self, action: str, executor: Executor) -> None:
        self._executors[action] = executor

    def request(self, action: Action, target: str, params: Mapping[str, object]) -> Approval:
        """Record a four-eyes request (logged as ``pending``). Raises: Forbidden."""

        def store(tx: CatalogTx) -> Approval:
            approval_id = tx.insert_approval(
                str(action), target, dict(params), self.ctx.identity.operator, utcnow()
            )
            approval = tx.approval(approval_id)
            assert approval is not None
            return approval

        # the requester must hold the role for the action itself
        return self.ctx.mutate(
            action, target, params, store, outcome="pending", approval_of=lambda a: a.id
        )

    def list(self, state: str | None = None) -> list[Approval]:
        wanted = _state(state) if state else None
        return self.ctx.view(Action.APPROVAL_VIEW, "approvals", lambda tx: tx.approvals(wanted))

    def show(self, approval_id: int) -> Approval:
        return self.ctx.view(
            Action.APPROVAL_VIEW, f"approval/{approval_id}", lambda tx: self._get(tx, approval_id)
        )

    def approve(self, approval_id: int) -> dict[str, object]:
        """Approve and run a pending request.

        Raises: NotFound, Conflict (not pending), Forbidden (own request, or lacking the role).
        """
        me = self.ctx.identity.operator
        result: dict[str, object] = {}

        def approve(tx: CatalogTx) -> Approval:
            approval = self._get(tx, approval_id, for_update=True)
            self._check_decider(tx, approval)
            executor = self._executors.get(approval.action)
            if executor is None:
                raise Conflict(
                    f"approval #{approval_id} is for {approval.action}, which this console cannot run"
                )
            result.update(executor(tx, approval.target, dict(approval.params)))
            tx.decide_approval(approval_id, ApprovalState.APPROVED, me, utcnow(), None)
            return approval

        approval = self._decide(approval_id, "approve", approve, {})
        return {
            "approval": approval_id,
            "action": approval.action,
            "target": approval.target,
            "result": result,
        }

    def reject(self, approval_id: int, reason: str) -> Approval:
        """Raises: InvalidInput (no reason), NotFound, Conflict, Forbidden."""
        reason = " ".join(reason.split())
        if not reason:
            raise InvalidInput("a rejection needs a reason", hint='--reason "why"')

        def reject(tx: CatalogTx) -> Approval:
            approval = self._get(tx, approval_id, for_update=True)
            if approval.requested_by != self.ctx.identity.operator:
                # withdrawing your own request is allowed; rejecting someone else's needs the role
                self._check_decider(tx, approval)
            elif approval.state != ApprovalState.PENDING:
                raise Conflict(f"approval #{approval_id} is {approval.state}, not pending")
            tx.decide_approval(
                approval_id, ApprovalState.REJECTED, self.ctx.identity.operator, utcnow(), reason
            )
            return approval

        return self._decide(approval_id, "reject", reject, {"reason": reason})

    # -- internals ------------------------------------------------------------------------

    def _decide(
        self,
        approval_id: int,
        verb: str,
        fn: Callable[[CatalogTx], Approval],
        params: dict[str, object],
    ) -> Approval:
        return self.ctx.mutate(
            Action.APPROVAL_DECIDE,
            f"approval/{approval_id}",
            {"decision": verb, **params},
            fn,
            approval_id=approval_id,
        )

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
            roles = " or ".join(sorted(APPROVERS.get(approval.action, frozenset({"admin"}))))
            raise Forbidden(f"{me} may not approve {approval.action}", hint=f"needs role {roles}")

    @staticmethod
    def _get(tx: CatalogTx, approval_id: int, *, for_update: bool = False) -> Approval:
        approval = tx.approval(approval_id, for_update=for_update)
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


__all__ = ["ApprovalService", "Event"]
