"""The security policy: shown to every operator, changed only with a second admin's approval.

A production catalog holds its policy; ``policy set`` records a request that runs when a
different admin approves it. In a sandbox the policy is the config's, and is changed there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aptien_ops.errors import InvalidInput
from aptien_ops.permissions import Action
from aptien_ops.policy import KEYS, Policy
from aptien_ops.ports import CatalogTx
from aptien_ops.services.approvals import ApprovalService
from aptien_ops.services.context import OpsContext


@dataclass(frozen=True)
class PolicyView:
    """The policy in force, where it comes from, and what each key means."""

    mode: str
    source: str
    """``catalog`` (production) or the config file (sandbox)."""
    policy: Policy

    def as_json(self) -> dict[str, object]:
        return {"mode": self.mode, "source": self.source, "policy": self.policy.as_json()}

    @staticmethod
    def describe(key: str) -> str:
        return KEYS[key].describe


class PolicyService:
    def __init__(self, ctx: OpsContext, approvals: ApprovalService) -> None:
        self.ctx = ctx
        self.approvals = approvals
        approvals.register(str(Action.POLICY_SET), self._execute_set)

    def show(self) -> PolicyView:
        """Raises: Forbidden."""
        settings = self.ctx.settings
        source = f"config {settings.source}" if settings.sandbox else "catalog"
        policy = self.ctx.view(Action.POLICY_VIEW, "policy", lambda tx: self.ctx.policy)
        return PolicyView(settings.mode, source, policy)

    def sandbox_refusal(self) -> InvalidInput | None:
        """What ``set`` is refused with in a sandbox (its policy is its config); None in
        production."""
        if not self.ctx.settings.sandbox:
            return None
        return InvalidInput(
            "a sandbox's policy is its config: edit [security] and [tenants] in "
            f"{self.ctx.settings.source}",
            hint="policy set changes a production catalog's policy",
        )

    def set(self, key: str, value: str) -> Policy:
        """Request a change of the policy; a different admin approves it. Always four-eyes.

        Raises: InvalidInput (unknown key, a value the key does not take, a sandbox),
        Forbidden, PendingApproval (the request is recorded).
        """
        refusal = self.sandbox_refusal()
        if refusal is not None:
            raise refusal
        changed = self.ctx.policy.with_value(key, value)  # refuses a bad value up front
        stored = changed.stored()[key]
        approval = self.approvals.request(Action.POLICY_SET, key, {"key": key, "value": stored})
        raise self.approvals.awaiting(approval, f"changing the policy's {key}")

    def _execute_set(
        self, tx: CatalogTx, target: str, params: Mapping[str, object], approval_id: int
    ) -> Mapping[str, object]:
        value = str(params["value"])
        Policy.from_stored({target: value}, fallback=self.ctx.policy)  # still valid
        tx.policy.put(target, value, self.ctx.identity.operator, self.ctx.now(), approval_id)
        self.ctx.forget_policy()
        return {"key": target, "value": value}
