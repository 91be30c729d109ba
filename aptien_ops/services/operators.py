"""Operators and their roles."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from aptien_ops.domain import Identity, Operator
from aptien_ops.domain.versions import check_operator
from aptien_ops.errors import Conflict, Forbidden, InvalidInput, NotFound
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


#: Grants that give power over people or personal data: four-eyes as the policy says.
SENSITIVE_GRANTS = {
    Role.ADMIN: Action.OPERATOR_GRANT_ADMIN,
    Role.SECURITY: Action.OPERATOR_GRANT_SECURITY,
}


class OperatorService:
    def __init__(self, ctx: OpsContext, approvals: ApprovalService) -> None:
        self.ctx = ctx
        self.approvals = approvals
        for action in SENSITIVE_GRANTS.values():
            approvals.register(str(action), self._execute_grant)
        approvals.register(str(Action.OPERATOR_REVOKE_ADMIN), self._execute_revoke)

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

    def grant(self, name: str, role: str, *, seen: int | None = None) -> Operator:
        """Grant a role. Nobody grants a role to themselves; granting admin or security is a
        request a second admin approves (as the policy says). ``seen``: the operator's version
        the caller read (another is refused as Stale).

        Raises: InvalidInput, NotFound, Forbidden (self-grant), Conflict (Stale),
        PendingApproval.
        """
        validate_operator_name(name)
        granted = validate_role(role)
        action = SENSITIVE_GRANTS.get(granted, Action.OPERATOR_GRANT)
        params = {"role": str(granted)}
        if name == self.ctx.identity.operator:
            self._refuse_self(action, name, params, f"grant themselves the role {granted}")
        if action != Action.OPERATOR_GRANT and self.ctx.policy.needs_four_eyes(action):

            def check(tx: CatalogTx) -> None:
                if granted in self._get(tx, name, seen).roles:
                    raise Conflict(f"{name} already holds role {granted}")

            approval = self.approvals.request(action, name, params, check)
            raise self.approvals.awaiting(approval, f"granting {granted} to {name}")
        return self.ctx.mutate(
            action, name, params, lambda tx: self._grant(tx, name, granted, seen)
        )

    def revoke(self, name: str, role: str, *, seen: int | None = None) -> Operator:
        """Revoke a role. Revoking admin is a request a second admin approves; the last admin
        keeps it.

        Raises: InvalidInput, NotFound, Forbidden, Conflict (last admin, not held, Stale: not
        the ``seen`` version), PendingApproval (admin).
        """
        validate_operator_name(name)
        revoked = validate_role(role)
        params = {"role": str(revoked)}
        if revoked == Role.ADMIN and self.ctx.policy.needs_four_eyes(Action.OPERATOR_REVOKE_ADMIN):

            def check(tx: CatalogTx) -> None:
                self._check_revocable(tx, name, revoked, seen)

            action = Action.OPERATOR_REVOKE_ADMIN
            approval = self.approvals.request(action, name, params, check)
            raise self.approvals.awaiting(approval, f"revoking admin from {name}")
        action = Action.OPERATOR_REVOKE_ADMIN if revoked == Role.ADMIN else Action.OPERATOR_REVOKE
        return self.ctx.mutate(
            action, name, params, lambda tx: self._revoke(tx, name, revoked, seen)
        )

    # -- internals ------------------------------------------------------------------------

    @staticmethod
    def _get(tx: CatalogTx, name: str, seen: int | None = None) -> Operator:
        op = tx.operators.get(name)
        if op is None:
            raise NotFound(f"no operator named {name}", hint="aptien-ops operator list")
        return check_operator(op, seen)

    def _set_roles(self, tx: CatalogTx, op: Operator, roles: frozenset[str]) -> Operator:
        """Store ``roles`` if ``op`` is still the version read (a concurrent change of the
        same operator makes this one Stale: neither overwrites the other)."""
        return tx.operators.set_roles(op, roles, by=self.ctx.identity.operator, at=self.ctx.now())

    def _grant(self, tx: CatalogTx, name: str, role: Role, seen: int | None = None) -> Operator:
        op = self._get(tx, name, seen)
        if role in op.roles:
            raise Conflict(f"{name} already holds role {role}")
        return self._set_roles(tx, op, op.roles | {str(role)})

    def _check_revocable(
        self, tx: CatalogTx, name: str, role: Role, seen: int | None = None
    ) -> Operator:
        op = self._get(tx, name, seen)
        if role not in op.roles:
            raise Conflict(f"{name} does not hold role {role}")
        if role == Role.ADMIN:
            # Every operator's row locked (PostgreSQL) before the admins are counted: two
            # revocations of two different admins at once cannot both see another admin left.
            everyone = tx.operators.all(for_update=True)
            admins = sum(1 for o in everyone if o.active and Role.ADMIN in o.roles)
            if admins <= 1:
                raise Conflict(
                    f"{name} is the last admin", hint="grant admin to someone else first"
                )
        return op

    def _revoke(self, tx: CatalogTx, name: str, role: Role, seen: int | None = None) -> Operator:
        op = self._check_revocable(tx, name, role, seen)
        changed = self._set_roles(tx, op, op.roles - {str(role)})
        self.ctx.forget_roles()
        return changed

    def _refuse_self(
        self, action: Action, name: str, params: Mapping[str, object], what: str
    ) -> None:
        """Separation of duties: refused and logged before anything is touched."""
        with self.ctx.audited(action, name, params):
            raise Forbidden(
                f"{name} may not {what}",
                hint="nobody grants a role to themselves: ask another admin",
            )

    def _execute_grant(
        self, tx: CatalogTx, target: str, params: Mapping[str, object], approval_id: int
    ) -> dict[str, object]:
        op = self._grant(tx, target, validate_role(str(params["role"])))
        return {"operator": op.name, "roles": sorted(op.roles)}

    def _execute_revoke(
        self, tx: CatalogTx, target: str, params: Mapping[str, object], approval_id: int
    ) -> dict[str, object]:
        op = self._revoke(tx, target, validate_role(str(params["role"])))
        return {"operator": op.name, "roles": sorted(op.roles)}
