"""The fleet as a whole: drift between the catalog and the clusters, and schema upgrades.

``fleet check`` asks each cluster once for what it can tell about all its databases
(``TenantStore.cluster_facts``: owners, login flags, CONNECT, the recorded schema version), so
its cost grows with the clusters, not the tenants; ``--deep`` also opens every tenant database
to read the schema version it holds. When the operator may reconcile, it drops the scratch
copies killed runs left on the reachable clusters and reconciles the backup index with the
stores (each logged as ``backup.reconcile``); otherwise it reports what that would fix.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace

from aptien_ops.config import region_or_fail
from aptien_ops.domain import Tenant
from aptien_ops.errors import InvalidInput, OpsError, Unavailable
from aptien_ops.permissions import Action, offered
from aptien_ops.ports import DatabaseFacts, TenantStore
from aptien_ops.services.backups import BackupService, ReconcileReport
from aptien_ops.services.context import OpsContext, existing_tenant
from aptien_ops.services.fleet_findings import (
    LIVE_STATES,
    UNREACHABLE,
    Cluster,
    DeepVersions,
    Finding,
    backup_findings,
    catalog_findings,
    cluster_findings,
)
from aptien_ops.tenant_schema import TENANT_SCHEMA_VERSION

__all__ = ["LIVE_STATES", "FleetReport", "FleetService", "Finding", "MigrationResult"]


@dataclass(frozen=True)
class FleetReport:
    """What ``fleet check`` found, on how many clusters, and what it reconciled."""

    findings: list[Finding]
    clusters: int
    deep: bool = False
    reconciled: list[ReconcileReport] | None = None
    """``backup reconcile``'s report per region when the check ran it; None when the operator
    may not (what it would fix is then among the findings)."""

    @property
    def unreachable(self) -> list[Finding]:
        """Findings saying part of the fleet could not be checked (exit 6, not 7)."""
        return [f for f in self.findings if f.kind in UNREACHABLE]

    def as_json(self) -> dict[str, object]:
        return {
            "findings": [f.as_json() for f in self.findings],
            "clusters": self.clusters,
            "deep": self.deep,
            "reconciled": None
            if self.reconciled is None
            else [r.as_json() for r in self.reconciled],
        }


@dataclass(frozen=True)
class MigrationResult:
    tenant: str
    before: int | None
    after: int | None
    error: str | None = None

    def as_json(self) -> dict[str, object]:
        return {"tenant": self.tenant, "from": self.before, "to": self.after, "error": self.error}


class FleetService:
    def __init__(self, ctx: OpsContext, backups: BackupService) -> None:
        self.ctx = ctx
        self.backups = backups

    def check(
        self, *, deep: bool = False, progress: Callable[[str], None] | None = None
    ) -> FleetReport:
        """Every drift between the catalog, the clusters and the backup stores.

        One query per cluster; with ``deep``, one session per live tenant database as well.
        ``progress`` is told each cluster (and backup store) as the check reaches it.

        Raises: Forbidden. An unreachable cluster or store is a finding (see
        :attr:`FleetReport.unreachable`).
        """
        tenants = self.ctx.view(Action.FLEET_CHECK, "fleet", lambda tx: tx.tenants.all())
        report = progress or (lambda where: None)
        by_cluster: dict[str, list[Tenant]] = {}
        for t in tenants:
            if t.cluster:
                by_cluster.setdefault(t.cluster, []).append(t)
        findings: list[Finding] = []
        clusters = 0
        for region in self.ctx.settings.regions.values():
            for settings in region.clusters:
                report(settings.name)
                clusters += 1
                cluster = Cluster(
                    region.name,
                    settings.name,
                    settings.capacity,
                    by_cluster.get(settings.name, []),
                )
                findings += self._check_cluster(cluster, region.inspector_role, deep)
        may_reconcile = self._may_reconcile()
        if may_reconcile:
            down = {f.cluster for f in findings if f.kind == "cluster-unreachable"}
            findings += self._sweep_scratch(
                [
                    (region.name, cluster.name)
                    for region in self.ctx.settings.regions.values()
                    for cluster in region.clusters
                    if cluster.name not in down
                ]
            )
        findings += catalog_findings(tenants, self.ctx.now())
        reconciled: list[ReconcileReport] | None = [] if may_reconcile else None
        for name in self.ctx.settings.regions:
            report(f"the {name} backup store")
            findings += self._check_backups(name, reconciled)
        return FleetReport(findings, clusters, deep, reconciled)

    def _sweep_scratch(self, clusters: list[tuple[str, str]]) -> list[Finding]:
        """Drop the scratch copies nobody holds on ``(region, cluster)``s (the caller checked
        that the operator may reconcile); what could not be dropped is a finding."""
        if not clusters:
            return []
        findings: list[Finding] = []
        with self.ctx.audited(Action.BACKUP_RECONCILE, "scratch") as attempt:
            removed: list[str] = []
            for region, cluster in clusters:
                try:
                    swept = self.ctx.store(cluster).sweep_scratch()
                except OpsError:
                    continue  # reachable a moment ago; the next check sweeps it
                removed += swept.removed
                findings += [
                    Finding("scratch-leftover", region, cluster, None, f"{name}: {why}")
                    for name, why in swept.kept
                ]
            attempt.ok(removed=removed, kept=len(findings))
        return findings

    def _check_cluster(self, cluster: Cluster, inspector: str, deep: bool) -> list[Finding]:
        store = self.ctx.store(cluster.name)
        try:
            facts = store.cluster_facts(inspector)
        except Unavailable as exc:
            return [Finding("cluster-unreachable", cluster.region, cluster.name, None, exc.message)]
        versions = self._read_versions(store, cluster.tenants, facts) if deep else None
        return cluster_findings(cluster, facts, versions)

    @staticmethod
    def _read_versions(
        store: TenantStore, tenants: Sequence[Tenant], facts: Sequence[DatabaseFacts]
    ) -> DeepVersions:
        """``--deep``: the version each live tenant's own ``tenant_meta`` holds."""
        present = {f.tenant for f in facts}
        versions: DeepVersions = {}
        for t in tenants:
            if t.state in LIVE_STATES and t.name in present:
                try:
                    versions[t.name] = store.schema_version(t.name) or 0
                except OpsError as exc:
                    versions[t.name] = exc.message
        return versions

    def _may_reconcile(self) -> bool:
        return offered(self.ctx.my_roles(), Action.BACKUP_RECONCILE, self.ctx.read_only).allowed

    def _check_backups(
        self, region: str, reconciled: list[ReconcileReport] | None
    ) -> list[Finding]:
        """Reconcile ``region``'s store with the index if the operator may (``reconciled`` is a
        list), else read what reconciling would fix; either way, what still disagrees."""
        try:
            if reconciled is None:
                unindexed, missing = self.backups.catalogue.unreconciled(region)
                return backup_findings(unindexed, missing)
            done = self.backups.reconcile(region)
            reconciled.append(done)
            if not done.missing:
                return []
            gone = set(done.missing)
            lost = self.ctx.view(
                Action.BACKUP_VIEW,
                region,
                lambda tx: [r for r in tx.backups.all() if r.id in gone],
            )
            return backup_findings([], lost)
        except Unavailable as exc:
            return [Finding("backup-store-unreachable", region, None, None, exc.message)]

    def migrate(
        self,
        *,
        region: str | None = None,
        tenants: Sequence[str] | None = None,
        parallel: int = 2,
        progress: Callable[[int, int, str], None] | None = None,
        interrupted: Callable[[], bool] = lambda: False,
    ) -> list[MigrationResult]:
        """Upgrade every live tenant's schema to this code's version, one transaction per
        version step per tenant; rerunning resumes where it stopped. Once ``interrupted()``
        (Ctrl-C) or on an exception, no further tenant is started: those under way finish.

        ``tenants`` keeps only those (a job of the queue migrates one tenant).
        Raises: InvalidInput, Forbidden. Per-tenant failures are in the results.
        """
        if region is not None:
            region_or_fail(self.ctx.settings, region)
        if not 1 <= parallel <= 32:
            raise InvalidInput(f"--parallel must be between 1 and 32, got {parallel}")

        params: dict[str, object] = {"parallel": parallel, "target": TENANT_SCHEMA_VERSION}
        if tenants is not None:
            params["tenants"] = list(tenants)
        target = ",".join(tenants) if tenants is not None else region or "fleet"
        with self.ctx.audited(Action.FLEET_MIGRATE, target, params) as attempt:
            with self.ctx.catalog.read() as tx:
                chosen = [
                    t
                    for t in tx.tenants.all(region=region)
                    if t.state in LIVE_STATES
                    and t.cluster
                    and (tenants is None or t.name in tenants)
                ]
            results = self._migrate_all(chosen, parallel, progress, interrupted)
            failed = sum(1 for r in results if r.error)
            if failed:
                attempt.partly_failed(tenants=len(results), failed=failed)
            else:
                attempt.ok(tenants=len(results))
        return sorted(results, key=lambda r: r.tenant)

    def _migrate_all(
        self,
        tenants: list[Tenant],
        parallel: int,
        progress: Callable[[int, int, str], None] | None,
        interrupted: Callable[[], bool],
    ) -> list[MigrationResult]:
        local = threading.local()
        stop = threading.Event()
        opened: list[TenantStore] = []

        def store_for(cluster: str) -> TenantStore:
            # Adapters keep a connection each; threads get their own.
            stores: dict[str, TenantStore] = local.__dict__.setdefault("stores", {})
            if cluster not in stores:
                assert self.ctx.store_factory is not None
                stores[cluster] = self.ctx.store_factory(self.ctx.cluster_settings(cluster))
                opened.append(stores[cluster])
            return stores[cluster]

        def one(t: Tenant) -> MigrationResult | None:
            if stop.is_set() or interrupted():
                return None  # not started
            assert t.cluster is not None
            store = store_for(t.cluster)
            try:
                before = store.schema_version(t.name)
                after = store.apply_schema(t.name, TENANT_SCHEMA_VERSION, region=t.region)
                # New tables in a schema step need their metadata columns granted too.
                region = self.ctx.settings.regions[t.region]
                store.grant_inspector(
                    t.name,
                    region.inspector_role,
                    self.ctx.cluster_settings(t.cluster).inspector_password.read(),
                )
                if after != t.schema_version:
                    with self.ctx.catalog.transaction() as tx:
                        current = existing_tenant(tx, t.name, for_update=True)
                        now = self.ctx.now()
                        migrated = replace(current, schema_version=after, updated_at=now)
                        tx.tenants.update(migrated, by=self.ctx.identity.operator)
            except OpsError as exc:
                return MigrationResult(t.name, t.schema_version, None, exc.message)
            return MigrationResult(t.name, before, after)

        results: list[MigrationResult] = []
        pool = ThreadPoolExecutor(max_workers=parallel)
        try:
            pending, done = {pool.submit(one, t) for t in tenants}, 0
            while pending:
                # Woken each second too: a Ctrl-C that lands just before this thread blocks
                # would otherwise wait for the next tenant to finish.
                finished, pending = wait(pending, timeout=1.0, return_when=FIRST_COMPLETED)
                for future in finished:
                    done += 1
                    if (result := future.result()) is not None:
                        results.append(result)
                        if progress:
                            progress(done, len(tenants), result.tenant)
        except BaseException:  # Ctrl-C in this thread: queued tenants are not started
            stop.set()
            pool.shutdown(cancel_futures=True)
            raise
        finally:
            pool.shutdown()
            for store in opened:
                store.close()
        return results
