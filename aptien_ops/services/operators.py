"""Operators and their roles."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from aptien_ops.domain import Identity, Operator
from aptien_ops.errors import Conflict, InvalidInput, NotFound, PendingApproval
from aptien_ops.identity import validate_operator_name
from aptien_ops.permissions import Action, Role, validate_role
from aptien_ops.ports import CatalogTx
from aptien_ops.services.approvals import ApprovalService
from aptien_ops.services.context import OpsContext


@dataclass(frozen=True)
class WhoAmI:
    """Who a run acts as, and with which roles (none for someone who is not an operator)."""

    identity: Identity
    roles: frozenset[str]
    known: bool
    mode: str
    config: str

    def as_json(self) -> dict[str, object]:
        who = self.identity
        return {
            "operator": who.operator,
            "os_account": who.os_account,
            "ssh_origin": who.ssh_origin,
            "session_id": who.session_id,
            "roles": sorted(self.roles),
            "known": self.known,
            "mode": self.mode,
            "config": self.config,
        }


class OperatorService:
    def __init__(self, ctx: OpsContext, approvals: ApprovalService) -> None:
        self.ctx = ctx
        self.approvals = approvals
        approvals.register("operator.grant-admin", self._execute_grant_admin)

    def whoami(self) -> WhoAmI:
        """Who this run acts as; works for anyone, operator or not (nothing is logged)."""
        who = self.ctx.identity
        with self.ctx.catalog.read() as tx:
            op = tx.operators.get(who.operator)
        roles = op.roles if op and op.active else frozenset()
        return WhoAmI(who, roles, op is not None, self.ctx.settings.mode, self.ctx.settings.source)

    def list(self) -> list[Operator]:
        return self.ctx.view(Action.OPERATOR_VIEW, "operators", lambda tx: tx.operators.all())

    def add(self, name: str, roles: Iterable[str]) -> Operator:
        """Add an operator. Raises: InvalidInput, Forbidden, Conflict (exists)."""
        validate_operator_name(name)
        wanted = frozenset(validate_role(r) for r in roles)
        if not wanted:
            raise InvalidInput("an operator needs at least one role", hint="--role viewer")
        if Role.ADMIN in wanted:
            raise InvalidInput(
                "admin is granted only through four-eyes approval",
                hint=f"add with another role, then: aptien-ops operator grant {name} admin",
            )

        def add(tx: CatalogTx) -> Operator:
            if tx.operators.get(name) is not None:
                raise Conflict(
                    f"operator {name} exists already", hint=f"aptien-ops operator grant {name} ROLE"
                )
            op = Operator(
                name=name,
                roles=frozenset(str(r) for r in wanted),
                added_by=self.ctx.identity.operator,
                added_at=self.ctx.now(),
            )
            tx.operators.insert(op)
            return op

        return self.ctx.mutate(Action.OPERATOR_ADD, name, {"roles": sorted(wanted)}, add)

    def grant(self, name: str, role: str) -> Operator:
        """Grant a role. Granting admin is recorded for approval.

        Raises: InvalidInput, NotFound, Forbidden, Conflict, PendingApproval (admin).
        """
        validate_operator_name(name)
        granted = validate_role(role)
        if granted == Role.ADMIN and "operator.grant-admin" in self.ctx.settings.security.four_eyes:

            def check(tx: CatalogTx) -> None:
                if Role.ADMIN in self._get(tx, name).roles:
                    raise Conflict(f"{name} already holds role admin")

            params = {"role": "admin"}
            approval = self.approvals.request(Action.OPERATOR_GRANT_ADMIN, name, params, check)
            raise PendingApproval(
                f"granting admin to {name} needs a second admin's approval; request #{approval.id} recorded",
                approval_id=approval.id,
                action=approval.action,
                target=name,
            )
        action = Action.OPERATOR_GRANT_ADMIN if granted == Role.ADMIN else Action.OPERATOR_GRANT
        return self.ctx.mutate(
            action, name, {"role": str(granted)}, lambda tx: self._grant(tx, name, granted)
        )

    def revoke(self, name: str, role: str) -> Operator:
        """Raises: InvalidInput, NotFound, Forbidden, Conflict (last admin, or not held)."""
        validate_operator_name(name)
        revoked = validate_role(role)

        def revoke(tx: CatalogTx) -> Operator:
            op = self._get(tx, name)
            if revoked not in op.roles:
                raise Conflict(f"{name} does not hold role {revoked}")
            if (
                revoked == Role.ADMIN
                and sum(1 for o in tx.operators.all() if o.active and Role.ADMIN in o.roles) <= 1
            ):
                raise Conflict(
                    f"{name} is the last admin", hint="grant admin to someone else first"
                )
            roles = op.roles - {str(revoked)}
            tx.operators.set_roles(name, roles)
            return Operator(**{**op.__dict__, "roles": roles})

        return self.ctx.mutate(Action.OPERATOR_REVOKE, name, {"role": str(revoked)}, revoke)

    # -- internals ------------------------------------------------------------------------

    @staticmethod
    def _get(tx: CatalogTx, name: str) -> Operator:
        op = tx.operators.get(name)
        if op is None:
            raise NotFound(f"no operator named {name}", hint="aptien-ops operator list")
        return op

    def _grant(self, tx: CatalogTx, name: str, role: Role) -> Operator:
        op = self._get(tx, name)
        if role in op.roles:
            raise Conflict(f"{name} already holds role {role}")
        roles = op.roles | {str(role)}
        tx.operators.set_roles(name, roles)
        return Operator(**{**op.__dict__, "roles": roles})

    def _execute_grant_admin(
        self, tx: CatalogTx, target: str, params: dict[str, object]
    ) -> dict[str, object]:
        op = self._grant(tx, target, Role.ADMIN)
        return {"operator": op.name, "roles": sorted(op.roles)}
