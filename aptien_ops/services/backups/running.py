"""``backup run``: dump each tenant in a worker thread, at most ``parallel`` per cluster, into
its own region's store; the catalog and the ops log are written from the calling thread."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from aptien_ops.backup_policy import BackupRecord, new_backup_id
from aptien_ops.config import region_or_fail
from aptien_ops.domain import Tenant, TenantState, validate_tenant_name
from aptien_ops.errors import Conflict, IntegrityFailure, InvalidInput, OpsError
from aptien_ops.permissions import Action
from aptien_ops.ports import CatalogTx
from aptien_ops.services.backups.catalogue import BackupCatalogue
from aptien_ops.services.backups.checkpoints import OpsLogCheckpointer
from aptien_ops.services.backups.common import (
    BACKED_UP_STATES,
    MAX_PARALLEL,
    ClusterHealth,
    Meter,
    Progress,
    RegionStores,
    RunOutcome,
    fan_out,
    never,
)
from aptien_ops.services.backups.verifying import BackupVerifier
from aptien_ops.services.context import OpsContext, existing_tenant
from aptien_ops.wording import plural


class BackupRunner:
    def __init__(
        self,
        ctx: OpsContext,
        stores: RegionStores,
        catalogue: BackupCatalogue,
        verifier: BackupVerifier,
        checkpointer: OpsLogCheckpointer,
    ) -> None:
        self.ctx = ctx
        self.stores = stores
        self.catalogue = catalogue
        self.verifier = verifier
        self.checkpointer = checkpointer

    def run(
        self,
        names: Sequence[str] = (),
        *,
        due: bool = False,
        region: str | None = None,
        parallel: int = 1,
        progress: Progress | None = None,
        housekeeping: bool = True,
        stopped: Callable[[], bool] = never,
    ) -> list[RunOutcome]:
        """Back up the named tenants, every due one (then verify what is due), or a whole region.

        Once ``stopped()`` (the TUI's connection lost, or told to stop: its worker gets no
        interrupt), no further tenant is started: the dumps under way finish and are indexed,
        nothing is verified, and the run ends with what it did.

        The stores are reconciled with the index first (stale partial files of crashed runs
        removed). Each tenant's backup is an attempt of its own in the ops log. Last, the ops
        log's head is signed into the store of every region the run covered (the named
        tenants' regions, else ``region`` or every region): only a failure shows in the
        outcomes. Without ``housekeeping`` (a job of the queue: its worker reconciles and signs
        the head at each schedule tick, and signs it when it stops) neither the reconcile nor
        the signing is done; each backup still cleans its own tenant's partial files.
        Raises: InvalidInput, NotFound, Forbidden, Conflict (purged or not yet provisioned)
        before anything runs. Per-backup failures are in the outcomes (and the ops log).
        """
        names = list(dict.fromkeys(names))
        if not 1 <= parallel <= MAX_PARALLEL:
            raise InvalidInput(f"--parallel must be between 1 and {MAX_PARALLEL}, got {parallel}")
        tenants = self.select(names, due=due, region=region, params={"parallel": parallel})
        health = ClusterHealth(self.ctx)
        outcomes = self._reconcile({t.region for t in tenants}) if housekeeping else []
        outcomes += self._backup_all(tenants, parallel, progress, health, stopped)
        if due and not stopped():
            items = self.ctx.view(
                Action.BACKUP_RUN, "due", lambda tx: self.catalogue.due_items(tx, region)
            )
            verify = [i for i in items if i.kind == "verify"]
            outcomes += self.verifier.verify_due(verify, parallel, progress, health, stopped)
        covered = {t.region for t in tenants} if names else None
        if region is not None:
            covered = {region}
        if not housekeeping:
            return outcomes + health.outcomes()
        return outcomes + health.outcomes() + self._checkpoint(covered)

    def select(
        self,
        names: Sequence[str] = (),
        *,
        due: bool = False,
        region: str | None = None,
        params: dict[str, object] | None = None,
    ) -> list[Tenant]:
        """The tenants a run of these arguments backs up (``backup run`` and ``--enqueue``),
        read after authorising ``backup.run``.
        Raises: InvalidInput, NotFound, Forbidden, Conflict (purged or not yet provisioned)."""
        names = list(dict.fromkeys(names))
        if names and (due or region):
            raise InvalidInput("name tenants, or pass --due or --region, not both")
        if not names and not due and region is None:
            raise InvalidInput(
                "nothing to back up", hint="name tenants, or pass --due or --region R"
            )
        for name in names:
            validate_tenant_name(name)
        if region is not None:
            region_or_fail(self.ctx.settings, region)
        params = dict(params or {})
        params.update({"tenants": names} if names else {"due": due, "region": region})
        target = ",".join(names) if len(names) <= 5 else f"{len(names)} tenants"

        def pick(tx: CatalogTx) -> list[Tenant]:
            if names:
                return [self._runnable(tx, name) for name in names]
            if due:
                items = self.catalogue.due_items(tx, region)
                wanted = {i.tenant for i in items if i.kind == "backup"}
                return [t for t in tx.tenants.all(region=region) if t.name in wanted]
            return [
                t
                for t in tx.tenants.all(region=region)
                if t.state in BACKED_UP_STATES and t.cluster
            ]

        return self.ctx.view(Action.BACKUP_RUN, target or region or "due", pick, params)

    def _checkpoint(self, regions: set[str] | None) -> list[RunOutcome]:
        """The head signed into ``regions``' stores (None: every region's); a failure is an
        outcome of the run, never the end of it."""
        if regions is not None and not regions:
            return []
        try:
            self.checkpointer.write(sorted(regions) if regions is not None else None)
        except OpsError as exc:
            detail = f"ops-log checkpoint not written: {exc.message}"
            return [RunOutcome("-", "checkpoint", None, False, detail, error=exc)]
        return []

    def _reconcile(self, regions: set[str]) -> list[RunOutcome]:
        outcomes = []
        for region in sorted(regions):
            report = self.catalogue.reconcile(region)
            if report.cleaned:  # left by a crashed run (kill -9, power loss): never visible
                shown = ", ".join(report.cleaned[:3])
                detail = (
                    f"removed {plural(len(report.cleaned), 'stale partial file')} "
                    f"in region {region}: {shown}"
                )
                outcomes.append(RunOutcome("-", "clean", None, True, detail))
        return outcomes

    @staticmethod
    def _runnable(tx: CatalogTx, name: str) -> Tenant:
        tenant = existing_tenant(tx, name)
        if tenant.state not in BACKED_UP_STATES or not tenant.cluster:
            why = (
                "its backups were crypto-shredded and it has no database"
                if tenant.state == TenantState.PURGED
                else "it has no database yet"
            )
            raise Conflict(f"cannot back up {name}: it is {tenant.state} ({why})")
        if not tenant.backup_recipient:
            raise Conflict(
                f"cannot back up {name}: it has no backup identity",
                hint=f"rerun: aptien-ops tenant provision {name} …",
            )
        return tenant

    def _backup_all(
        self,
        tenants: list[Tenant],
        parallel: int,
        progress: Progress | None,
        health: ClusterHealth,
        stopped: Callable[[], bool],
    ) -> list[RunOutcome]:
        meter = Meter(progress, [t.name for t in tenants])
        outcomes = []
        for tenant, result in fan_out(
            tenants,
            lambda t: t.cluster or "",
            parallel,
            lambda t: self._backup_one(t, meter, health),
            stopped,
        ):
            outcomes.append(self._record(tenant, result))
            meter.finish(tenant.name)
        return sorted(outcomes, key=lambda o: o.tenant)

    def _estimate(self, tenant: Tenant) -> int:
        try:
            return max(self.ctx.store(tenant.cluster or "").size_bytes(tenant.name), 1)
        except OpsError:
            return 1 << 20  # only the bar's scale; the backup itself reports the real error

    def _backup_one(
        self, tenant: Tenant, meter: Meter, health: ClusterHealth
    ) -> tuple[BackupRecord, float]:
        """Runs in a worker thread: the dump, compressed and encrypted into the store.

        Raises: Unavailable at once if the tenant's cluster was found down in this run;
        Forbidden if the operator lost the role since the run began (revoked meanwhile: no
        further tenant is read; the refusal is logged once, by :meth:`_record`).
        """
        with self.ctx.catalog.read() as tx:
            self.ctx.authorize(tx, Action.BACKUP_RUN)
        started = time.perf_counter()
        cluster = self.stores.own_cluster(tenant)
        health.require(cluster.name)
        if meter.progress is not None:  # sizes only scale the bar: no query without one
            meter.expect(tenant.name, self._estimate(tenant))
        backup_id = new_backup_id(self.ctx.now(), self.ctx.rng)
        assert tenant.backup_recipient is not None
        manifest = self.stores.repository(tenant.region).create(
            tenant.name,
            cluster,
            tenant.backup_recipient,
            backup_id,
            progress=lambda n: meter.update(tenant.name, n),
        )
        expected = (backup_id, tenant.name, tenant.region)
        if (manifest.backup_id, manifest.tenant, manifest.region) != expected:
            raise IntegrityFailure(
                f"the store returned the manifest of {manifest.backup_id} "
                f"({manifest.tenant}, {manifest.region})"
            )
        return BackupRecord.from_manifest(manifest), time.perf_counter() - started

    def _record(self, tenant: Tenant, result: tuple[BackupRecord, float] | OpsError) -> RunOutcome:
        """One tenant's backup as an attempt: indexed and logged here, in the calling thread."""
        try:
            with self.ctx.audited(Action.BACKUP_RUN, tenant.name) as attempt:
                if isinstance(result, OpsError):
                    raise result
                record, seconds = result
                with attempt.transaction() as tx:
                    tx.backups.insert(record)
                    size = record.ciphertext_size
                    attempt.ok(backup_id=record.id, cluster=record.cluster, ciphertext_size=size)
        except OpsError as exc:
            if isinstance(result, OpsError):
                return RunOutcome(tenant.name, "backup", None, False, exc.message, error=exc)
            # The backup is in the store; `backup reconcile` (or the next run) indexes it.
            detail = f"stored but not indexed: {exc.message}"
            return RunOutcome(
                tenant.name, "backup", result[0].id, False, detail, result[1], error=exc
            )
        return RunOutcome(
            tenant.name,
            "backup",
            record.id,
            True,
            f"stored in {record.region}",
            seconds,
            record.plaintext_size,
            record.ciphertext_size,
        )
