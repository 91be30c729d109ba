"""``backup restore ID --to NAME``: a backup put back into service, into a new tenant of its own
region or over its tenant's own data.

The backup is restored into a staging database on the target's cluster and checked as a
restore verification checks (ciphertext and plaintext hashes, the archive's listing, every
table's row count against the signed manifest). Only then is it swapped in for the target's
database, in one step; until that moment the target's database is untouched, and any failure
before it drops the staging database and changes nothing else. Rerunning converges.

A new tenant is provisioned in the backup's region for the source tenant's country, with the
restore as its last step before it goes active: a run that stops part-way leaves it
provisioning, and the same command resumes it. Replacing a tenant's own data is four-eyes by
default (``backup.replace``): the request is recorded and approving it runs the restore.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from aptien_ops.backup_policy import BackupRecord, check_backup_id
from aptien_ops.domain import StateChange, Tenant, TenantState, iso, validate_tenant_name
from aptien_ops.errors import Conflict, IntegrityFailure, NotFound
from aptien_ops.permissions import Action
from aptien_ops.ports import CatalogTx
from aptien_ops.services.approvals import ApprovalService
from aptien_ops.services.backups.common import BACKED_UP_STATES, Progress, RegionStores
from aptien_ops.services.context import OpsContext, existing_tenant
from aptien_ops.services.provisioning import (
    Filling,
    ProvisioningService,
    ProvisionRequest,
    secret_context,
)
from aptien_ops.services.provisioning import Progress as StepProgress
from aptien_ops.tenant_schema import TENANT_SCHEMA_VERSION

#: The provisioning step of a new tenant that receives the backup's data.
STEP = "restore"


@dataclass(frozen=True)
class RestoreResult:
    """A backup restored into a tenant: which, where, how much, and what was left behind."""

    backup_id: str
    source: str
    """The tenant the backup was taken of."""
    tenant: str
    """The tenant it was restored into (the source itself when its data was replaced)."""
    replaced: bool
    cluster: str
    tables: int
    rows: int
    detail: str

    def as_json(self) -> dict[str, object]:
        return {
            "backup_id": self.backup_id,
            "source": self.source,
            "tenant": self.tenant,
            "replaced": self.replaced,
            "cluster": self.cluster,
            "tables": self.tables,
            "rows": self.rows,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class _Found:
    """A backup with what restoring it needs from the catalog."""

    record: BackupRecord
    source: Tenant | None
    identity: str | None
    """The source tenant's sealed backup identity (None once purged)."""
    owner_password: str | None = None
    """The source tenant's sealed owner password (what a replace converges its role to)."""


class BackupRestorer:
    def __init__(
        self,
        ctx: OpsContext,
        stores: RegionStores,
        approvals: ApprovalService,
        provisioning: Callable[[], ProvisioningService],
    ) -> None:
        self.ctx = ctx
        self.stores = stores
        self.approvals = approvals
        self._provisioning = provisioning
        approvals.register(str(Action.BACKUP_REPLACE), self._execute_replace)

    def restore(
        self,
        backup_id: str,
        to: str,
        *,
        progress: Progress | None = None,
        steps: StepProgress | None = None,
        confirm_replace: Callable[[BackupRecord], None] | None = None,
    ) -> RestoreResult:
        """Restore backup ``backup_id`` into ``to``: a new tenant (provisioned in the backup's
        region for the source tenant's country; ``steps`` reports its provisioning steps), or
        the backup's own tenant, whose data it replaces (four-eyes unless the policy says
        otherwise) once ``confirm_replace`` returns (it raises to cancel). ``progress`` gets
        plaintext bytes restored of the backup's total.

        Raises: InvalidInput, NotFound (backup, or its tenant unknown to the catalog),
        Forbidden, Conflict (``to`` is another tenant that exists, the source was purged, the
        target is in a state without a database, its database stayed in use),
        PendingApproval (a replacement recorded for a second operator), IntegrityFailure (the
        backup does not restore faithfully: nothing was replaced), Unavailable.
        """
        check_backup_id(backup_id)
        validate_tenant_name(to)
        found = self.ctx.view(
            Action.BACKUP_VIEW, backup_id, lambda tx: self._find(tx, backup_id), {"to": to}
        )
        if to == found.record.tenant:
            if confirm_replace is not None:
                confirm_replace(found.record)
            return self._replace(found, progress)
        return self._into_new(found, to, progress, steps)

    # -- into a new tenant -------------------------------------------------------------------

    def _into_new(
        self,
        found: _Found,
        to: str,
        progress: Progress | None,
        steps: StepProgress | None,
    ) -> RestoreResult:
        record = found.record
        params: dict[str, object] = {"backup_id": record.id, "source": record.tenant}
        done = self.ctx.view(
            Action.BACKUP_RESTORE, to, lambda tx: self._restored_already(tx, to, record), params
        )
        if done is not None:
            return done
        source = self._restorable(found)
        results: list[RestoreResult] = []

        def fill(tenant: Tenant) -> str:
            results.append(self._restore_into(found, tenant, progress))
            return f"{record.id}: {results[-1].tables} tables, {results[-1].rows} rows"

        request = ProvisionRequest(to, source.country, region=record.region)
        filling = Filling(STEP, Action.BACKUP_RESTORE, params, fill)
        tenant = self._provisioning().provision(request, steps, filling=filling)
        if results:
            return results[0]
        # Restored by an earlier run that stopped before the tenant went active.
        return self._result(record, tenant, replaced=False, detail="restored by an earlier run")

    def _restored_already(
        self, tx: CatalogTx, to: str, record: BackupRecord
    ) -> RestoreResult | None:
        """The result of an earlier run that restored this backup into ``to``, if one did.

        Raises: Conflict if ``to`` is another tenant that exists.
        """
        tenant = tx.tenants.get(to)
        if tenant is None or tenant.state == TenantState.PROVISIONING:
            return None  # new, or a restore (or a provision) to resume
        restored = next(
            (s for s in tx.tenant_history.steps(to) if s.step == STEP),
            None,
        )
        if restored is not None and (restored.detail or "").startswith(f"{record.id}:"):
            return self._result(record, tenant, replaced=False, detail="restored already")
        raise Conflict(
            f"tenant {to} exists already ({tenant.state}): a backup of {record.tenant} is"
            " restored into a new tenant or into itself",
            hint=f"pick a new name, or --to {record.tenant} to replace its data",
        )

    # -- over the tenant's own data ------------------------------------------------------------

    def _replace(self, found: _Found, progress: Progress | None) -> RestoreResult:
        record = found.record
        name, params = record.tenant, {"backup_id": record.id}

        def check(tx: CatalogTx) -> None:
            self._replaceable(tx, record.id, name)

        if self.ctx.policy.needs_four_eyes(Action.BACKUP_REPLACE):
            approval = self.approvals.request(Action.BACKUP_REPLACE, name, params, check)
            raise self.approvals.awaiting(
                approval, f"replacing {name}'s data with backup {record.id}"
            )
        with self.ctx.audited(Action.BACKUP_REPLACE, name, params) as attempt:
            with self.ctx.catalog.read() as tx:
                current = self._replaceable(tx, record.id, name)
            result = self._restore_into(current, self._target(current), progress)
            with attempt.transaction() as tx:
                self._record_replace(tx, result, None)
                attempt.ok(**_logged(result))
            return result
        raise AssertionError("unreachable: the attempt returns or raises")

    def _execute_replace(
        self, tx: CatalogTx, target: str, params: Mapping[str, object], approval_id: int
    ) -> Mapping[str, object]:
        """Runs an approved ``backup.replace`` inside the approval's transaction: if the
        restore fails, the approval stays pending and approving it again retries."""
        current = self._replaceable(tx, str(params.get("backup_id", "")), target)
        result = self._restore_into(current, self._target(current), None)
        self._record_replace(tx, result, approval_id)
        return result.as_json()

    def _replaceable(self, tx: CatalogTx, backup_id: str, name: str) -> _Found:
        """The backup and its tenant, if the tenant's data may be replaced with it.

        Raises: NotFound, Conflict (another tenant's backup, purged, no database).
        """
        found = self._find(tx, backup_id)
        if found.record.tenant != name:
            raise Conflict(
                f"backup {backup_id} is of {found.record.tenant}, not {name}",
                hint=f"aptien-ops backup list {name}",
            )
        tenant = self._restorable(found)
        if tenant.state not in BACKED_UP_STATES or not tenant.cluster:
            raise Conflict(
                f"cannot replace {name}'s data: it is {tenant.state} and has no database",
                hint="restore into a new tenant instead: --to NEW-NAME",
            )
        return found

    def _target(self, found: _Found) -> Tenant:
        assert found.source is not None
        return found.source

    def _record_replace(self, tx: CatalogTx, result: RestoreResult, approval: int | None) -> None:
        tenant = existing_tenant(tx, result.tenant, for_update=True)
        now = self.ctx.now()
        why = f"data replaced from backup {result.backup_id}" + (
            f" (approval #{approval})" if approval is not None else ""
        )
        replaced = replace(tenant, updated_at=now, schema_version=TENANT_SCHEMA_VERSION)
        tx.tenants.update(replaced, by=self.ctx.identity.operator)
        state = str(tenant.state)
        operator = self.ctx.identity.operator
        tx.tenant_history.add_state_change(
            tenant.name, StateChange(now, state, state, operator, why)
        )

    # -- the restore itself ---------------------------------------------------------------------

    def _restore_into(
        self, found: _Found, target: Tenant, progress: Progress | None
    ) -> RestoreResult:
        """Stage, restore, check every count, then swap in: the target's database is replaced
        only by a restore that matches the manifest. Raises: IntegrityFailure (nothing was
        replaced), Conflict, NotFound, Unavailable."""
        record = found.record
        assert found.identity is not None and target.cluster is not None
        cluster = self.stores.own_cluster(target)
        region = self.ctx.settings.regions[target.region]
        repository = self.stores.repository(record.region)
        if repository.manifest(record.tenant, record.id) != record.manifest:
            raise IntegrityFailure(
                f"backup {record.id}: the manifest in the store differs from the catalog's"
                f" record of it; {target.name}'s database was not touched",
                hint=f"aptien-ops backup verify {record.id}",
            )
        sealer = self.ctx.sealer(record.region)
        identity = sealer.unseal(found.identity, secret_context(record.tenant, "backup_identity"))
        store = self.ctx.store(target.cluster)
        if target.name == record.tenant:
            self._converge_owner(target, found.owner_password)
        total = record.manifest.plaintext_size
        done = None if progress is None else lambda n: progress(n, total, target.name)
        with store.staging(target.name) as staged:
            verdict = repository.restore(
                record.manifest,
                identity.decode(),
                cluster,
                tenant=target.name,
                database=staged,
                progress=done,
            )
            if not verdict.ok:
                raise IntegrityFailure(
                    f"backup {record.id} does not restore faithfully: {verdict.detail};"
                    f" {target.name}'s database was not touched",
                    hint="take an earlier backup: aptien-ops backup list " + record.tenant,
                )
            left = store.swap_in(
                target.name,
                staged,
                region=target.region,
                schema_version=TENANT_SCHEMA_VERSION,
                inspector_role=region.inspector_role,
                login=target.state in (TenantState.ACTIVE, TenantState.PROVISIONING),
            )
        if progress is not None:
            progress(total, total, target.name)
        counts = record.manifest.row_counts
        detail = (
            f"restored {len(counts)} tables, {sum(counts.values()):,} rows from {record.id}"
            f" into {target.name} on {target.cluster}; every row count matches the manifest"
        )
        detail += f"; {left}" if left else ""
        return self._result(record, target, replaced=target.name == record.tenant, detail=detail)

    def _converge_owner(self, target: Tenant, sealed: str | None) -> None:
        """The tenant's own role as provisioning left it (a lost database may have taken it
        along); idempotent, and it keeps the role's login flag."""
        assert target.cluster is not None
        if sealed is None:
            return  # never made: nothing to converge to
        context = secret_context(target.name, "owner_password")
        password = self.ctx.sealer(target.region).unseal(sealed, context).decode()
        self.ctx.store(target.cluster).create_owner_role(target.name, password)

    # -- helpers ---------------------------------------------------------------------------------

    @staticmethod
    def _find(tx: CatalogTx, backup_id: str) -> _Found:
        """Raises: NotFound (unknown or pruned)."""
        record = tx.backups.get(backup_id)
        if record is None:
            raise NotFound(f"no backup {backup_id}", hint="aptien-ops backup list")
        if record.state == "pruned":
            raise NotFound(
                f"backup {backup_id} was pruned on {iso(record.pruned_at)}",
                hint="aptien-ops backup list",
            )
        return _Found(
            record,
            tx.tenants.get(record.tenant),
            tx.secrets.get(record.tenant, "backup_identity"),
            tx.secrets.get(record.tenant, "owner_password"),
        )

    @staticmethod
    def _restorable(found: _Found) -> Tenant:
        """The source tenant, if its backups can still be decrypted.

        Raises: NotFound (the catalog does not know it), Conflict (purged: crypto-shredded).
        """
        record, source = found.record, found.source
        if source is None:
            raise NotFound(
                f"backup {record.id} is of {record.tenant}, which the catalog does not know:"
                " its country and backup identity are unknown",
                hint="docs/disaster-recovery.md restores it with stock tools, given the identity",
            )
        if found.identity is None:
            purged = source.state == TenantState.PURGED
            raise Conflict(
                f"backup {record.id} cannot be decrypted: "
                + (
                    f"{record.tenant} was purged, which destroyed its backup identity"
                    if purged
                    else f"{record.tenant}'s backup identity is missing from the catalog"
                )
            )
        return source

    def _result(
        self, record: BackupRecord, tenant: Tenant, *, replaced: bool, detail: str
    ) -> RestoreResult:
        counts = record.manifest.row_counts
        return RestoreResult(
            record.id,
            record.tenant,
            tenant.name,
            replaced,
            tenant.cluster or "",
            len(counts),
            sum(counts.values()),
            detail,
        )


def _logged(result: RestoreResult) -> dict[str, object]:
    return {"cluster": result.cluster, "tables": result.tables, "rows": result.rows}
