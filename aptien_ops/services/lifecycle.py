"""A tenant's life after provisioning: suspend, resume, cancel with retention, reinstate a
cancelled tenant within its retention, purge.

Each change of state takes the catalog's write transaction (and the tenant's row) first, then
changes the tenant's login flag on its cluster, then records the new state with its ops-log
entry in that same transaction: a catalog that is busy or locked fails the command before any
cluster is touched, and a crash after the cluster changed leaves the old state recorded, which
rerunning the same command completes (the cluster change is idempotent).

Purge is four-eyes: it is recorded as a request and runs when a second admin approves. It
drops the database and its role and any scratch copy of it, destroys the sealed backup
identity (so every backup of the tenant becomes unreadable) and keeps a tombstone row with
the dates, without contact details.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from aptien_ops.domain import StateChange, Tenant, TenantState, iso, validate_tenant_name
from aptien_ops.domain.free_text import REASON
from aptien_ops.errors import Conflict, InvalidInput, OpsError
from aptien_ops.permissions import Action
from aptien_ops.ports import CatalogTx
from aptien_ops.services.approvals import ApprovalService
from aptien_ops.services.context import OpsContext, existing_tenant

#: Which states each transition starts from.
ALLOWED_FROM: dict[str, tuple[TenantState, ...]] = {
    "suspend": (TenantState.ACTIVE,),
    "resume": (TenantState.SUSPENDED,),
    "cancel": (TenantState.ACTIVE, TenantState.SUSPENDED),
    "reinstate": (TenantState.CANCELLED,),
    "purge": (TenantState.CANCELLED,),
}


def _reason(reason: str | None, what: str) -> str:
    return REASON.check(reason, missing=f"{what} needs a reason", hint='--reason "why"')


@dataclass(frozen=True)
class PurgeScope:
    """What purging a tenant destroys, restated before the purge is approved: its database and
    owner role on its cluster, and (with its backup key) every one of its backups."""

    tenant: Tenant
    backups: int
    """Backups of the tenant in the index (not pruned) that become unreadable."""

    def as_json(self) -> dict[str, object]:
        t = self.tenant
        return {
            **t.placement(),
            "state": str(t.state),
            "backups": self.backups,
            "retain_until": iso(t.retain_until),
        }


class LifecycleService:
    def __init__(self, ctx: OpsContext, approvals: ApprovalService) -> None:
        self.ctx = ctx
        self.approvals = approvals
        approvals.register("tenant.purge", self._execute_purge)

    def suspend(self, name: str, reason: str, *, seen: int | None = None) -> Tenant:
        """The tenant's own role can no longer log in and its sessions end; backups and
        inspection keep working. ``seen`` (here and in every change): the tenant's version the
        operator read; a tenant changed since is refused as Stale before anything is touched.

        Raises: InvalidInput, NotFound, Forbidden, Conflict (Stale), Unavailable."""
        validate_tenant_name(name)
        why = _reason(reason, "suspending a tenant")
        return self._transition(
            name,
            "suspend",
            Action.TENANT_SUSPEND,
            TenantState.SUSPENDED,
            why,
            login=False,
            seen=seen,
        )

    def resume(self, name: str, *, seen: int | None = None) -> Tenant:
        validate_tenant_name(name)
        return self._transition(
            name, "resume", Action.TENANT_RESUME, TenantState.ACTIVE, None, login=True, seen=seen
        )

    def cancel(
        self, name: str, retain_days: int | None = None, *, seen: int | None = None
    ) -> Tenant:
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
            seen=seen,
        )

    def reinstate(self, name: str, *, seen: int | None = None) -> Tenant:
        """Undo a cancel within the retention: the tenant is back in the state it was cancelled
        from (active, its logins allowed again; or suspended, with its suspension's reason).

        Raises: InvalidInput, NotFound, Forbidden, Conflict (not cancelled, purged, or the
        retention has ended), Unavailable.
        """
        validate_tenant_name(name)
        with self.ctx.audited(Action.TENANT_REINSTATE, name) as attempt:
            with attempt.transaction() as tx:
                current = existing_tenant(tx, name, for_update=True, seen=seen)
                self._check_state(current, "reinstate")
                now = self.ctx.now()
                if current.retain_until is None or current.retain_until <= now:
                    ended = f" on {current.retain_until:%Y-%m-%d}" if current.retain_until else ""
                    raise Conflict(
                        f"cannot reinstate {name}: its retention ended{ended}",
                        hint="a tenant past its retention can only be purged",
                    )
                before, reason = self._state_before_cancel(tx, name)
                changed = self._record(
                    tx, current, before, reason, login=before == TenantState.ACTIVE
                )
                attempt.ok(to=str(before))
            return changed
        raise AssertionError("unreachable: the attempt returns or raises")

    @staticmethod
    def _state_before_cancel(tx: CatalogTx, name: str) -> tuple[TenantState, str | None]:
        """The state the tenant was last cancelled from, and a suspension's reason: a cancel
        does not undo why security suspended it."""
        changes = tx.tenant_history.state_changes(name)
        cancels = [n for n, c in enumerate(changes) if c.to_state == TenantState.CANCELLED]
        if not cancels or changes[cancels[-1]].from_state != TenantState.SUSPENDED:
            return TenantState.ACTIVE, None
        before = changes[cancels[-1] - 1] if cancels[-1] else None
        if before is not None and before.to_state == TenantState.SUSPENDED:
            return TenantState.SUSPENDED, before.reason
        return TenantState.SUSPENDED, None

    def purge(
        self, name: str, *, before_retention_end: str | None = None, seen: int | None = None
    ) -> Tenant:
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
            tenant = existing_tenant(tx, name, seen=seen)
            self._check_state(tenant, "purge")
            if tenant.retain_until and tenant.retain_until > self.ctx.now() and not early:
                raise Conflict(
                    f"tenant {name} is retained until {tenant.retain_until:%Y-%m-%d}",
                    hint='purge after that date, or pass --before-retention-end "reason" '
                    "(e.g. the client asked for deletion)",
                )

        if self.ctx.policy.needs_four_eyes(Action.TENANT_PURGE):
            approval = self.approvals.request(Action.TENANT_PURGE, name, params, check)
            raise self.approvals.awaiting(approval, f"purging {name}")

        def purge_now(tx: CatalogTx) -> Tenant:
            check(tx)
            return self._purge(tx, name)

        return self.ctx.mutate(Action.TENANT_PURGE, name, params, purge_now)

    def purge_scope(self, name: str) -> PurgeScope:
        """What a purge of ``name`` would destroy (a read). Raises: InvalidInput, NotFound,
        Forbidden."""
        validate_tenant_name(name)

        def read(tx: CatalogTx) -> PurgeScope:
            return PurgeScope(existing_tenant(tx, name), len(tx.backups.all(tenant=name)))

        return self.ctx.view(Action.TENANT_VIEW, name, read)

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
        seen: int | None = None,
    ) -> Tenant:
        logged = {**(params or {}), **({"reason": reason} if reason else {})}
        with self.ctx.audited(action, name, logged) as attempt:
            # The catalog's write transaction first: busy or locked, it fails here, before the
            # cluster is touched (see the module's docstring).
            with attempt.transaction() as tx:
                current = existing_tenant(tx, name, for_update=True, seen=seen)
                self._check_state(current, verb)
                changed = self._record(
                    tx, current, to, reason, login=login, retain_until=retain_until
                )
                attempt.ok()
            return changed
        raise AssertionError("unreachable: the attempt returns or raises")

    def _record(
        self,
        tx: CatalogTx,
        current: Tenant,
        to: TenantState,
        reason: str | None,
        *,
        login: bool,
        retain_until: datetime | None = None,
    ) -> Tenant:
        """Set the login flag on the tenant's cluster, then its new state and history in ``tx``
        (whose write lock the caller holds)."""
        assert current.cluster is not None
        self.ctx.store(current.cluster).set_login(current.name, login)
        now = self.ctx.now()
        changed = replace(
            current,
            state=to,
            state_reason=reason,
            updated_at=now,
            retain_until=retain_until if to == TenantState.CANCELLED else None,
        )
        changed = tx.tenants.update(changed, by=self.ctx.identity.operator)
        tx.tenant_history.add_state_change(
            current.name,
            StateChange(now, str(current.state), str(to), self.ctx.identity.operator, reason),
        )
        if to == TenantState.CANCELLED:
            # A cancelled client has no contact person any more (the history keeps who it was).
            tx.partner_assignments.end_for_tenant(
                current.name, now, self.ctx.identity.operator, "tenant cancelled"
            )
        return changed

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
            contact_phone=None,
            company=None,
            state_reason="purged",
        )
        purged = tx.tenants.update(purged, by=self.ctx.identity.operator)
        tx.partner_assignments.end_for_tenant(name, now, self.ctx.identity.operator, "purged")
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

    @staticmethod
    def _check_state(tenant: Tenant, verb: str) -> None:
        refusal = state_refusal(tenant, verb)
        if refusal is not None:
            raise refusal


def state_refusal(tenant: Tenant, verb: str) -> Conflict | None:
    """The Conflict that ``verb`` (suspend, resume, cancel, purge) meets in ``tenant``'s state,
    as the CLI reports it; None when the state allows it. The TUI says the same when the key
    is pressed on a tenant whose state does not allow it."""
    allowed = ALLOWED_FROM[verb]
    if tenant.state in allowed:
        return None
    needed = " or ".join(str(s) for s in allowed)
    return Conflict(
        f"cannot {verb} {tenant.name}: it is {tenant.state}",
        hint=f"{verb} needs a tenant that is {needed}",
    )
