"""A tenant's life after provisioning: suspend, resume, cancel with retention, purge.

Purge is four-eyes: it is recorded as a request and runs when a second admin approves. It
drops the database and its role and any scratch copy of it, destroys the sealed backup
identity (so every backup of the tenant becomes unreadable) and keeps a tombstone row with
the dates, without contact details.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from aptien_ops.domain import StateChange, Tenant, TenantState, validate_tenant_name
from aptien_ops.domain.free_text import REASON
from aptien_ops.errors import Conflict, InvalidInput, OpsError
from aptien_ops.permissions import Action
from aptien_ops.ports import CatalogTx
from aptien_ops.services.approvals import ApprovalService, awaiting_second_admin
from aptien_ops.services.context import OpsContext, existing_tenant

#: Which states each transition starts from.
ALLOWED_FROM: dict[str, tuple[TenantState, ...]] = {
    "suspend": (TenantState.ACTIVE,),
    "resume": (TenantState.SUSPENDED,),
    "cancel": (TenantState.ACTIVE, TenantState.SUSPENDED),
    "purge": (TenantState.CANCELLED,),
}


def _reason(reason: str | None, what: str) -> str:
    return REASON.check(reason, missing=f"{what} needs a reason", hint='--reason "why"')


class LifecycleService:
    def __init__(self, ctx: OpsContext, approvals: ApprovalService) -> None:
        self.ctx = ctx
        self.approvals = approvals
        approvals.register("tenant.purge", self._execute_purge)

    def suspend(self, name: str, reason: str) -> Tenant:
        """The tenant's own role can no longer log in and its sessions end; backups and
        inspection keep working.

        Raises: InvalidInput, NotFound, Forbidden, Conflict, Unavailable."""
        validate_tenant_name(name)
        why = _reason(reason, "suspending a tenant")
        return self._transition(
            name, "suspend", Action.TENANT_SUSPEND, TenantState.SUSPENDED, why, login=False
        )

    def resume(self, name: str) -> Tenant:
        validate_tenant_name(name)
        return self._transition(
            name, "resume", Action.TENANT_RESUME, TenantState.ACTIVE, None, login=True
        )

    def cancel(self, name: str, retain_days: int | None = None) -> Tenant:
        """Cancel: no more logins; restorable until the retention end, then purgeable."""
        validate_tenant_name(name)
        days = self.ctx.policy.default_retain_days if retain_days is None else retain_days
        if not 0 <= days <= 3650:
            raise InvalidInput(f"--retain-days must be between 0 and 3650, got {days}")
        until = self.ctx.now() + timedelta(days=days)
        return self._transition(
            name,
            "cancel",
            Action.TENANT_CANCEL,
            TenantState.CANCELLED,
            f"retain {days} days",
            login=False,
            retain_until=until,
            params={"retain_days": days},
        )

    def purge(self, name: str, *, before_retention_end: str | None = None) -> Tenant:
        """Request the purge of a cancelled tenant (four-eyes) — or run it when four-eyes is off.

        Raises: InvalidInput, NotFound, Forbidden, Conflict (wrong state, retention not over),
        PendingApproval (recorded; a second admin approves).
        """
        validate_tenant_name(name)
        early = (
            _reason(before_retention_end, "purging before the retention end")
            if before_retention_end
            else None
        )
        params: dict[str, object] = {"before_retention_end": early} if early else {}

        def check(tx: CatalogTx) -> None:
            tenant = existing_tenant(tx, name)
            self._check_state(tenant, "purge")
            if tenant.retain_until and tenant.retain_until > self.ctx.now() and not early:
                raise Conflict(
                    f"tenant {name} is retained until {tenant.retain_until:%Y-%m-%d}",
                    hint='purge after that date, or pass --before-retention-end "reason" '
                    "(e.g. the client asked for deletion)",
                )

        if self.ctx.policy.needs_four_eyes(Action.TENANT_PURGE):
            approval = self.approvals.request(Action.TENANT_PURGE, name, params, check)
            raise awaiting_second_admin(approval, f"purging {name}")

        def purge_now(tx: CatalogTx) -> Tenant:
            check(tx)
            return self._purge(tx, name)

        return self.ctx.mutate(Action.TENANT_PURGE, name, params, purge_now)

    # -- internals ------------------------------------------------------------------------

    def _transition(
        self,
        name: str,
        verb: str,
        action: Action,
        to: TenantState,
        reason: str | None,
        *,
        login: bool,
        retain_until: datetime | None = None,
        params: Mapping[str, object] | None = None,
    ) -> Tenant:
        logged = {**(params or {}), **({"reason": reason} if reason else {})}
        with self.ctx.audited(action, name, logged) as attempt:
            tenant = self._get_now(name)
            self._check_state(tenant, verb)
            assert tenant.cluster is not None
            # The cluster first: if we crash after it, the catalog still shows the old state
            # and rerunning the same command repeats an idempotent ALTER ROLE before recording.
            self.ctx.store(tenant.cluster).set_login(name, login)
            with attempt.transaction() as tx:
                current = existing_tenant(tx, name, for_update=True)
                self._check_state(current, verb)
                now = self.ctx.now()
                changed = replace(
                    current,
                    state=to,
                    state_reason=reason,
                    updated_at=now,
                    retain_until=retain_until
                    if to == TenantState.CANCELLED
                    else current.retain_until,
                )
                tx.tenants.update(changed)
                tx.tenant_history.add_state_change(
                    name,
                    StateChange(
                        now, str(current.state), str(to), self.ctx.identity.operator, reason
                    ),
                )
                attempt.ok()
            return changed
        raise AssertionError("unreachable: the attempt returns or raises")

    def _execute_purge(
        self, tx: CatalogTx, target: str, params: Mapping[str, object], approval_id: int
    ) -> Mapping[str, object]:
        tenant = self._purge(tx, target)
        return {
            "tenant": tenant.name,
            "state": str(tenant.state),
            "purged_at": tenant.as_json()["purged_at"],
        }

    def _purge(self, tx: CatalogTx, name: str) -> Tenant:
        tenant = existing_tenant(tx, name, for_update=True)
        self._check_state(tenant, "purge")
        if tenant.cluster is not None:
            self.ctx.store(tenant.cluster).drop_database(name)
            self._sweep_scratch(tenant)
        # Crypto-shredding: without the identity, every backup of this tenant is ciphertext only.
        tx.secrets.destroy(name, "backup_identity")
        tx.secrets.destroy(name, "owner_password")
        now = self.ctx.now()
        purged = replace(
            tenant,
            state=TenantState.PURGED,
            purged_at=now,
            updated_at=now,
            contact_name=None,
            contact_email=None,
            state_reason="purged",
        )
        tx.tenants.update(purged)
        tx.tenant_history.add_state_change(
            name, StateChange(now, str(tenant.state), "purged", self.ctx.identity.operator)
        )
        return purged

    def _sweep_scratch(self, tenant: Tenant) -> None:
        """Drop the tenant's scratch copies no live run holds (restores a killed verification
        left): on its own cluster, where they are made, or the purge fails and is rerun; on
        the region's others when they answer.

        Raises: Unavailable (the tenant's own cluster).
        """
        region = self.ctx.settings.regions.get(tenant.region)
        for cluster in region.clusters if region else ():
            try:
                self.ctx.store(cluster.name).sweep_scratch(tenant.name)
            except OpsError:
                if cluster.name == tenant.cluster:
                    raise

    def _get_now(self, name: str) -> Tenant:
        with self.ctx.catalog.read() as tx:
            return existing_tenant(tx, name)

    @staticmethod
    def _check_state(tenant: Tenant, verb: str) -> None:
        allowed = ALLOWED_FROM[verb]
        if tenant.state not in allowed:
            needed = " or ".join(str(s) for s in allowed)
            raise Conflict(
                f"cannot {verb} {tenant.name}: it is {tenant.state}",
                hint=f"{verb} needs a tenant that is {needed}",
            )
