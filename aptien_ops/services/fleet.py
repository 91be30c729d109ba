"""The fleet as a whole: drift between the catalog and the clusters, and schema upgrades."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace

from aptien_ops.config import region_or_fail
from aptien_ops.domain import Tenant, TenantState, iso
from aptien_ops.errors import InvalidInput, OpsError, Unavailable
from aptien_ops.permissions import Action, offered
from aptien_ops.ports import TenantStore
from aptien_ops.services.context import OpsContext, existing_tenant
from aptien_ops.tenant_schema import TENANT_SCHEMA_VERSION

LIVE_STATES = (TenantState.ACTIVE, TenantState.SUSPENDED, TenantState.CANCELLED)


@dataclass(frozen=True)
class Finding:
    kind: str
    """orphan-database, missing-database, schema-behind, past-retention, over-capacity,
    cluster-unreachable, stuck-provisioning or scratch-leftover."""
    region: str
    cluster: str | None
    tenant: str | None
    detail: str

    def as_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "region": self.region,
            "cluster": self.cluster,
            "tenant": self.tenant,
            "detail": self.detail,
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
    def __init__(self, ctx: OpsContext) -> None:
        self.ctx = ctx

    def check(self, progress: Callable[[str], None] | None = None) -> list[Finding]:
        """Every drift between catalog and clusters. For an operator it also drops the scratch
        copies killed runs left on the reachable clusters (one ``backup.reconcile`` attempt);
        one a cluster would not let go of is a finding. Raises: Forbidden."""
        tenants = self.ctx.view(Action.FLEET_CHECK, "fleet", lambda tx: tx.tenants.all())
        by_cluster: dict[str, list[Tenant]] = {}
        for t in tenants:
            if t.cluster:
                by_cluster.setdefault(t.cluster, []).append(t)
        findings: list[Finding] = []
        now = self.ctx.now()
        for region in self.ctx.settings.regions.values():
            for cluster in region.clusters:
                if progress:
                    progress(cluster.name)
                mine = by_cluster.get(cluster.name, [])
                findings += self._check_cluster(region.name, cluster.name, cluster.capacity, mine)
        down = {f.cluster for f in findings if f.kind == "cluster-unreachable"}
        findings += self._sweep_scratch(
            [
                (region.name, cluster.name)
                for region in self.ctx.settings.regions.values()
                for cluster in region.clusters
                if cluster.name not in down
            ]
        )
        for t in tenants:
            if t.state == TenantState.CANCELLED and t.retain_until and t.retain_until < now:
                findings.append(
                    Finding(
                        "past-retention",
                        t.region,
                        t.cluster,
                        t.name,
                        f"retained until {iso(t.retain_until)}; awaiting purge",
                    )
                )
            if t.state == TenantState.PROVISIONING and (
                t.lease_until is None or t.lease_until < now
            ):
                findings.append(
                    Finding(
                        "stuck-provisioning",
                        t.region,
                        t.cluster,
                        t.name,
                        "provisioning stopped part-way; rerun tenant provision to finish it",
                    )
                )
        return findings

    def _sweep_scratch(self, clusters: list[tuple[str, str]]) -> list[Finding]:
        """Drop the scratch copies nobody holds on ``(region, cluster)``s, if the operator may
        reconcile (else nothing is touched); what could not be dropped is a finding."""
        with self.ctx.catalog.read() as tx:
            roles = self.ctx.roles(tx)
        if not clusters or not offered(roles, Action.BACKUP_RECONCILE, self.ctx.read_only).allowed:
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

    def _check_cluster(
        self, region: str, cluster: str, capacity: int, tenants: list[Tenant]
    ) -> list[Finding]:
        store = self.ctx.store(cluster)
        try:
            present = set(store.list_databases())
        except Unavailable as exc:
            return [Finding("cluster-unreachable", region, cluster, None, exc.message)]
        out: list[Finding] = []
        known = {t.name: t for t in tenants}
        for name in sorted(present):
            tenant = known.get(name)
            if tenant is None or tenant.state == TenantState.PURGED:
                out.append(
                    Finding(
                        "orphan-database",
                        region,
                        cluster,
                        name,
                        "a tenant database the catalog does not know (or purged)",
                    )
                )
        live = [t for t in tenants if t.state in LIVE_STATES]
        for t in live:
            if t.name not in present:
                out.append(
                    Finding(
                        "missing-database",
                        region,
                        cluster,
                        t.name,
                        f"catalog says {t.state}, but the database is missing",
                    )
                )
                continue
            try:
                version = store.schema_version(t.name)
            except OpsError as exc:
                out.append(Finding("missing-database", region, cluster, t.name, exc.message))
                continue
            if version is None or version < TENANT_SCHEMA_VERSION:
                out.append(
                    Finding(
                        "schema-behind",
                        region,
                        cluster,
                        t.name,
                        f"schema version {version} < {TENANT_SCHEMA_VERSION}; run fleet migrate",
                    )
                )
        in_use = sum(1 for t in tenants if t.state != TenantState.PURGED)
        if in_use > capacity:
            out.append(
                Finding(
                    "over-capacity",
                    region,
                    cluster,
                    None,
                    f"{in_use} tenants on a cluster of capacity {capacity}",
                )
            )
        return out

    def migrate(
        self,
        *,
        region: str | None = None,
        parallel: int = 2,
        progress: Callable[[int, int, str], None] | None = None,
    ) -> list[MigrationResult]:
        """Upgrade every live tenant's schema to this code's version, one transaction per
        version step per tenant; rerunning resumes where it stopped.

        Raises: InvalidInput, Forbidden. Per-tenant failures are in the results.
        """
        if region is not None:
            region_or_fail(self.ctx.settings, region)
        if not 1 <= parallel <= 32:
            raise InvalidInput(f"--parallel must be between 1 and 32, got {parallel}")

        params = {"parallel": parallel, "target": TENANT_SCHEMA_VERSION}
        with self.ctx.audited(Action.FLEET_MIGRATE, region or "fleet", params) as attempt:
            with self.ctx.catalog.read() as tx:
                tenants = [
                    t for t in tx.tenants.all(region=region) if t.state in LIVE_STATES and t.cluster
                ]
            results = self._migrate_all(tenants, parallel, progress)
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
    ) -> list[MigrationResult]:
        local = threading.local()
        opened: list[TenantStore] = []

        def store_for(cluster: str) -> TenantStore:
            # Adapters keep a connection each; threads get their own.
            stores: dict[str, TenantStore] = local.__dict__.setdefault("stores", {})
            if cluster not in stores:
                assert self.ctx.store_factory is not None
                stores[cluster] = self.ctx.store_factory(self.ctx.cluster_settings(cluster))
                opened.append(stores[cluster])
            return stores[cluster]

        def one(t: Tenant) -> MigrationResult:
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
                        tx.tenants.update(replace(current, schema_version=after, updated_at=now))
            except OpsError as exc:
                return MigrationResult(t.name, t.schema_version, None, exc.message)
            return MigrationResult(t.name, before, after)

        results: list[MigrationResult] = []
        try:
            with ThreadPoolExecutor(max_workers=parallel) as pool:
                futures = [pool.submit(one, t) for t in tenants]
                for done, future in enumerate(as_completed(futures), 1):
                    result = future.result()
                    results.append(result)
                    if progress:
                        progress(done, len(tenants), result.tenant)
        finally:
            for store in opened:
                store.close()
        return results
