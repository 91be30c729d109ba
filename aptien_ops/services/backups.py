"""Backups: run, list (reconciled with the stores), due, verify and prune.

The region stores' signed manifests are the truth; the catalog keeps an index of them and
every verification result. A tenant's backup, and a restore to verify it, only ever use its own
region's store and clusters. Dumps run in worker threads (at most ``parallel`` per cluster);
the catalog and the ops log are written from the calling thread only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

from aptien_ops.backup_policy import (
    BackupRecord,
    Checked,
    DueItem,
    PruneDecision,
    backup_due,
    check,
    check_backup_id,
    new_backup_id,
    parse_level,
    retention,
    verification_due,
)
from aptien_ops.config import BackupPolicy, ClusterSettings, RegionSettings, region_or_fail
from aptien_ops.domain import Tenant, TenantState, VerifyResult, iso, utcnow, validate_tenant_name
from aptien_ops.errors import Conflict, IntegrityFailure, InvalidInput, NotFound, OpsError
from aptien_ops.opslog import Event
from aptien_ops.permissions import Action
from aptien_ops.ports import BackupRepository, CatalogTx
from aptien_ops.services.context import OpsContext, existing_tenant
from aptien_ops.services.provisioning import secret_context

#: Tenants whose database exists and may be backed up.
BACKED_UP_STATES = (TenantState.ACTIVE, TenantState.SUSPENDED, TenantState.CANCELLED)
MAX_PARALLEL = 16
#: Called with (done, total, item) as work goes; ``done``/``total`` are (estimated) bytes.
Progress = Callable[[int, int, str], None]
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class RunOutcome:
    """One backup (or verification) done by ``backup run``."""

    tenant: str
    action: str
    """backup or verify"""
    backup_id: str | None
    ok: bool
    detail: str
    seconds: float = 0.0
    plaintext_size: int | None = None
    ciphertext_size: int | None = None
    error: OpsError | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "tenant": self.tenant,
            "action": self.action,
            "backup_id": self.backup_id,
            "ok": self.ok,
            "detail": self.detail,
            "seconds": round(self.seconds, 3),
            "plaintext_size": self.plaintext_size,
            "ciphertext_size": self.ciphertext_size,
        }


def _fan_out(
    items: Sequence[T], cluster_of: Callable[[T], str], parallel: int, work: Callable[[T], R]
) -> Iterator[tuple[T, R | OpsError]]:
    """Run ``work`` on each item, at most ``parallel`` at once per cluster; yield as done."""
    pools: dict[str, ThreadPoolExecutor] = {}
    futures: dict[Future[R], T] = {}
    try:
        for item in items:
            cluster = cluster_of(item)
            if cluster not in pools:
                pools[cluster] = ThreadPoolExecutor(
                    parallel, thread_name_prefix=f"backup-{cluster}"
                )
            futures[pools[cluster].submit(work, item)] = item
        for future in as_completed(futures):
            try:
                yield futures[future], future.result()
            except OpsError as exc:
                yield futures[future], exc
    finally:
        for pool in pools.values():
            pool.shutdown(wait=True, cancel_futures=True)


class BackupService:
    def __init__(
        self, ctx: OpsContext, repository_factory: Callable[[RegionSettings], BackupRepository]
    ) -> None:
        self.ctx = ctx
        self._factory = repository_factory
        self._repositories: dict[str, BackupRepository] = {}
        self._lock = threading.Lock()
        #: Test seam: the time due and retention are computed at.
        self.clock: Callable[[], datetime] = utcnow

    def repository(self, region: str) -> BackupRepository:
        """The region's backup store, opened on first use. Raises: InvalidInput (unknown region)."""
        settings = region_or_fail(self.ctx.settings, region)
        with self._lock:
            if region not in self._repositories:
                self._repositories[region] = self._factory(settings)
            return self._repositories[region]

    # -- run ------------------------------------------------------------------------------

    def run(
        self,
        names: Sequence[str] = (),
        *,
        due: bool = False,
        region: str | None = None,
        parallel: int = 1,
        progress: Progress | None = None,
    ) -> list[RunOutcome]:
        """Back up the named tenants, every due one (then verify what is due), or a whole region.

        Raises: InvalidInput, NotFound, Forbidden, Conflict (purged or not yet provisioned)
        before anything runs. Per-backup failures are in the outcomes (and the ops log).
        """
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
        if not 1 <= parallel <= MAX_PARALLEL:
            raise InvalidInput(f"--parallel must be between 1 and {MAX_PARALLEL}, got {parallel}")
        params: dict[str, object] = {"parallel": parallel}
        params.update({"tenants": names} if names else {"due": due, "region": region})
        target = ",".join(names) if len(names) <= 5 else f"{len(names)} tenants"

        def pick(tx: CatalogTx) -> list[Tenant]:
            if names:
                return [self._runnable(tx, name) for name in names]
            if due:
                wanted = {i.tenant for i in self._due(tx, region) if i.kind == "backup"}
                return [t for t in tx.tenants(region=region) if t.name in wanted]
            return [
                t for t in tx.tenants(region=region) if t.state in BACKED_UP_STATES and t.cluster
            ]

        tenants = self.ctx.mutate(
            Action.BACKUP_RUN, target or region or "due", params, pick, outcome="started"
        )
        outcomes = self._backup_all(tenants, parallel, progress)
        if due:
            items = self.ctx.view(Action.BACKUP_RUN, "due", lambda tx: self._due(tx, region))
            outcomes += self._verify_all(
                [i for i in items if i.kind == "verify"], parallel, progress
            )
        return outcomes

    def _runnable(self, tx: CatalogTx, name: str) -> Tenant:
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
        self, tenants: list[Tenant], parallel: int, progress: Progress | None
    ) -> list[RunOutcome]:
        if not tenants:
            return []
        outcomes = []
        for region in sorted({t.region for t in tenants}):
            cleaned = self.repository(region).clean_partials()
            if cleaned:  # left by a crashed run (kill -9, power loss): never visible as backups
                detail = f"removed {len(cleaned)} stale partial file(s) in region {region}: {', '.join(cleaned[:3])}"
                self.ctx.record_alone(
                    Event(str(Action.BACKUP_RUN), region, {"cleaned": cleaned}, "cleaned")
                )
                outcomes.append(RunOutcome("-", "clean", None, True, detail))
        # Sizes only scale the progress bar: not worth a query per tenant without one.
        meter = _Meter(progress, {t.name: self._estimate(t) if progress else 1 for t in tenants})
        for tenant, result in _fan_out(
            tenants, lambda t: t.cluster or "", parallel, lambda t: self._backup_one(t, meter)
        ):
            outcomes.append(self._record_backup(tenant, result))
            meter.finish(tenant.name)
        return sorted(outcomes, key=lambda o: (o.action != "clean", o.tenant))

    def _estimate(self, tenant: Tenant) -> int:
        try:
            return max(self.ctx.store(tenant.cluster or "").size_bytes(tenant.name), 1)
        except OpsError:
            return 1 << 20  # only the bar's scale; the backup itself reports the real error

    def _backup_one(self, tenant: Tenant, meter: _Meter) -> tuple[BackupRecord, float]:
        started = time.perf_counter()
        cluster = self._own_cluster(tenant)
        backup_id = new_backup_id(utcnow())
        assert tenant.backup_recipient is not None
        manifest = self.repository(tenant.region).create(
            tenant.name,
            cluster,
            tenant.backup_recipient,
            backup_id,
            progress=lambda n: meter.update(tenant.name, n),
        )
        if (manifest.backup_id, manifest.tenant, manifest.region) != (
            backup_id,
            tenant.name,
            tenant.region,
        ):
            raise IntegrityFailure(
                f"the store returned the manifest of {manifest.backup_id} ({manifest.tenant}, {manifest.region})"
            )
        return BackupRecord.from_manifest(manifest), time.perf_counter() - started

    def _own_cluster(self, tenant: Tenant) -> ClusterSettings:
        """The tenant's cluster, which must be one of its own region's (residency)."""
        for cluster in self.ctx.settings.regions[tenant.region].clusters:
            if cluster.name == tenant.cluster:
                return cluster
        raise Conflict(
            f"{tenant.name}'s cluster {tenant.cluster} is not a cluster of region {tenant.region} in the configuration"
        )

    def _record_backup(
        self, tenant: Tenant, result: tuple[BackupRecord, float] | OpsError
    ) -> RunOutcome:
        if isinstance(result, OpsError):
            self.ctx.record_alone(
                Event(
                    str(Action.BACKUP_RUN),
                    tenant.name,
                    {"error": result.message},
                    f"failed:{result.code}",
                )
            )
            return RunOutcome(tenant.name, "backup", None, False, result.message, error=result)
        record, seconds = result
        params = {
            "backup_id": record.id,
            "cluster": record.cluster,
            "ciphertext_size": record.ciphertext_size,
        }
        try:
            self.ctx.mutate(
                Action.BACKUP_RUN, tenant.name, params, lambda tx: tx.insert_backup(record)
            )
        except OpsError as exc:  # the backup is in the store; the next `backup list` indexes it
            return RunOutcome(
                tenant.name,
                "backup",
                record.id,
                False,
                f"stored but not indexed: {exc.message}",
                seconds,
                error=exc,
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

    # -- verify ---------------------------------------------------------------------------

    def verify(self, backup_id: str, level: str | None = None) -> VerifyResult:
        """Verify a backup at ``level`` (default: its region's policy level) and store the result.

        Raises: InvalidInput (malformed id, unknown level), NotFound (unknown or pruned id),
        Forbidden, Unavailable (store or scratch cluster), IntegrityFailure (it failed: the
        detail says what).
        """
        check_backup_id(backup_id)
        if level is not None:
            parse_level(level)
        record, tenant, sealed = self.ctx.view(
            Action.BACKUP_VERIFY,
            backup_id,
            lambda tx: self._for_verify(tx, backup_id),
            {"level": level},
        )
        level = level or self._policy(record.region).verify_level
        result = self._verify_record(record, tenant, sealed, level)
        self._store_result(record, result)
        if not result.ok:
            raise IntegrityFailure(
                f"backup {backup_id} of {record.tenant} failed {level} verification: {result.detail}"
            )
        return result

    @staticmethod
    def _for_verify(
        tx: CatalogTx, backup_id: str
    ) -> tuple[BackupRecord, Tenant | None, str | None]:
        record = tx.backup(backup_id)
        if record is None:
            raise NotFound(
                f"no backup {backup_id}",
                hint="aptien-ops backup list (it also indexes what the store holds)",
            )
        if record.state == "pruned":
            raise NotFound(
                f"backup {backup_id} was pruned on {iso(record.pruned_at)}",
                hint="aptien-ops backup list",
            )
        return record, tx.tenant(record.tenant), tx.tenant_secret(record.tenant, "backup_identity")

    def _verify_record(
        self, record: BackupRecord, tenant: Tenant | None, sealed: str | None, level: str
    ) -> VerifyResult:
        def failed(detail: str) -> VerifyResult:
            return self._stamp(VerifyResult(record.id, level, False, detail))

        repo = self.repository(record.region)
        try:
            stored = repo.manifest(record.tenant, record.id)
        except NotFound:
            return failed("the backup's files are missing from the store")
        except IntegrityFailure as exc:
            return failed(exc.message)
        if stored != record.manifest:
            return failed("the manifest in the store differs from the catalog's record of it")
        identity = None
        if level != "quick":
            if sealed is None:
                purged = tenant is not None and tenant.state == TenantState.PURGED
                return failed(
                    "the tenant's backup identity was destroyed when it was purged: this backup can no longer be decrypted"
                    if purged
                    else "the tenant's backup identity is missing from the catalog"
                )
            try:
                identity = (
                    self.ctx.sealer(record.region)
                    .unseal(sealed, secret_context(record.tenant, "backup_identity"))
                    .decode()
                )
            except IntegrityFailure as exc:
                return failed(exc.message)
        scratch = self._scratch_cluster(record) if level == "restore" else None
        return self._stamp(repo.verify(stored, level, identity, scratch))

    def _stamp(self, result: VerifyResult) -> VerifyResult:
        return replace(result, at=iso(utcnow()) or "", operator=self.ctx.identity.operator)

    def _scratch_cluster(self, record: BackupRecord) -> ClusterSettings:
        """A cluster of the backup's own region that can take its kind: its source cluster if
        still configured, else another one of the region. Never another region's."""
        kind = "sqlite" if record.manifest.kind == "sqlite" else "postgresql"
        region = self.ctx.settings.regions.get(record.region)
        candidates = [c for c in (region.clusters if region else ()) if c.kind == kind]
        candidates.sort(key=lambda c: c.name != record.cluster)
        if not candidates:
            raise Conflict(
                f"region {record.region} has no {kind} cluster to restore {record.id} into"
            )
        return candidates[0]

    def _store_result(self, record: BackupRecord, result: VerifyResult) -> None:
        params = {
            "tenant": record.tenant,
            "level": result.level,
            "ok": result.ok,
            "detail": result.detail,
        }
        self.ctx.mutate(
            Action.BACKUP_VERIFY,
            record.id,
            params,
            lambda tx: tx.add_verification(result),
            outcome="ok" if result.ok else "failed:integrity",
        )

    def _verify_all(
        self, items: list[DueItem], parallel: int, progress: Progress | None
    ) -> list[RunOutcome]:
        def one(item: DueItem) -> tuple[VerifyResult, float]:
            assert item.backup_id is not None
            started = time.perf_counter()
            level = self.ctx.settings.regions[item.region].backup.verify_level
            record, tenant, sealed = self.ctx.view(
                Action.BACKUP_VERIFY,
                item.backup_id,
                lambda tx: self._for_verify(tx, item.backup_id or ""),
            )
            return self._verify_record(record, tenant, sealed, level), time.perf_counter() - started

        records: dict[str, BackupRecord] = {}
        with self.ctx.catalog.read() as tx:
            for item in items:
                found = tx.backup(item.backup_id or "")
                if found is not None:
                    records[found.id] = found
        todo = [i for i in items if i.backup_id in records]
        outcomes = []
        for done, (item, result) in enumerate(
            _fan_out(todo, lambda i: records[i.backup_id or ""].cluster, parallel, one), 1
        ):
            if progress:
                progress(done, len(todo), f"verify {item.tenant}")
            if isinstance(result, OpsError):
                self.ctx.record_alone(
                    Event(
                        str(Action.BACKUP_VERIFY),
                        item.backup_id or "",
                        {"error": result.message},
                        f"failed:{result.code}",
                    )
                )
                outcomes.append(
                    RunOutcome(
                        item.tenant, "verify", item.backup_id, False, result.message, error=result
                    )
                )
                continue
            verdict, seconds = result
            self._store_result(records[verdict.backup_id], verdict)
            error = (
                None
                if verdict.ok
                else IntegrityFailure(
                    f"backup {verdict.backup_id} failed {verdict.level} verification: {verdict.detail}"
                )
            )
            outcomes.append(
                RunOutcome(
                    item.tenant,
                    "verify",
                    verdict.backup_id,
                    verdict.ok,
                    f"{verdict.level}: {verdict.detail}",
                    seconds,
                    error=error,
                )
            )
        return outcomes

    # -- list, due, prune -----------------------------------------------------------------

    def due(self, *, region: str | None = None) -> list[DueItem]:
        """Tenants that need a backup and backups that need verifying, overdue ones first.

        Raises: InvalidInput (unknown region), Forbidden.
        """
        if region is not None:
            region_or_fail(self.ctx.settings, region)
        return self.ctx.view(
            Action.BACKUP_VIEW, region or "backups", lambda tx: self._due(tx, region)
        )

    def _due(self, tx: CatalogTx, region: str | None) -> list[DueItem]:
        now = self.clock()
        checked = self._checked(tx)
        items: list[DueItem] = []
        for tenant in tx.tenants(region=region):
            if tenant.state not in BACKED_UP_STATES or not tenant.cluster:
                continue
            policy = self._policy(tenant.region)
            mine = checked.get(tenant.name, [])
            cancelled_at = None
            if tenant.state == TenantState.CANCELLED:
                cancelled_at = max(
                    (h.at for h in tx.tenant_history(tenant.name) if h.to_state == "cancelled"),
                    default=None,
                )
            needs = backup_due(tenant, mine, policy, now, cancelled_at)
            items += [needs] if needs else []
            items += [v for c in mine if (v := verification_due(tenant, c, policy, now))]
        return sorted(
            items, key=lambda i: (not i.overdue, i.region, i.tenant, i.kind, i.backup_id or "")
        )

    def prune(
        self, *, dry_run: bool = True, confirm: Callable[[list[PruneDecision]], None] | None = None
    ) -> list[PruneDecision]:
        """Apply retention (GFS, legal holds, cancelled tenants' retention, purged tenants).

        With ``dry_run`` nothing is deleted (and viewers may ask). Otherwise ``confirm`` is
        called with what would be deleted (it raises to cancel). Returns every decision.
        Raises: Forbidden, InvalidInput (cancelled), Unavailable (a store; what was deleted
        before it is recorded, and pruning again completes it).
        """
        action = Action.BACKUP_VIEW if dry_run else Action.BACKUP_PRUNE
        decisions = self.ctx.view(action, "backups", self._plan_prune, {"dry_run": dry_run})
        doomed: dict[str, list[PruneDecision]] = {}
        for d in decisions:
            if not d.keep:
                doomed.setdefault(d.tenant, []).append(d)
        if dry_run or not doomed:
            return decisions
        if confirm is not None:
            confirm([d for d in decisions if not d.keep])
        errors: list[OpsError] = []
        for tenant, items in sorted(doomed.items()):
            errors += self._prune_tenant(tenant, items)
        if errors:
            raise errors[0]
        return decisions

    def _plan_prune(self, tx: CatalogTx) -> list[PruneDecision]:
        now = self.clock()
        tenants = {t.name: t for t in tx.tenants()}
        decisions: list[PruneDecision] = []
        for name, backups in sorted(self._checked(tx).items()):
            region = backups[0].record.region
            if region not in self.ctx.settings.regions:
                decisions += [
                    PruneDecision(
                        c.record.id,
                        name,
                        c.record.created_at,
                        True,
                        ("region not in the configuration",),
                    )
                    for c in backups
                ]
                continue
            decisions += retention(tenants.get(name), backups, self._policy(region), now)
        return decisions

    def _prune_tenant(self, tenant: str, items: list[PruneDecision]) -> list[OpsError]:
        with self.ctx.catalog.read() as tx:
            records = [r for d in items if (r := tx.backup(d.backup_id)) is not None]
        deleted, errors = [], []
        for record in records:
            try:
                self.repository(record.region).delete(record.manifest)
            except NotFound:
                pass  # gone already (an earlier prune stopped before recording it)
            except OpsError as exc:
                errors.append(exc)
                continue
            deleted.append(record.id)
        if deleted:

            def mark(tx: CatalogTx) -> None:
                for backup_id in deleted:
                    tx.mark_backup_pruned(backup_id, utcnow())

            self.ctx.mutate(Action.BACKUP_PRUNE, tenant, {"backups": deleted}, mark)
        for error in errors:
            self.ctx.record_alone(
                Event(
                    str(Action.BACKUP_PRUNE),
                    tenant,
                    {"error": error.message},
                    f"failed:{error.code}",
                )
            )
        return errors

    # -- helpers --------------------------------------------------------------------------

    def _policy(self, region: str) -> BackupPolicy:
        settings = self.ctx.settings.regions.get(region)
        return settings.backup if settings else BackupPolicy()

    def _checked(self, tx: CatalogTx) -> dict[str, list[Checked]]:
        by_backup = _by_backup(tx.verifications())
        out: dict[str, list[Checked]] = {}
        for record in tx.backups():
            level = self._policy(record.region).verify_level
            out.setdefault(record.tenant, []).append(
                check(record, by_backup.get(record.id, []), level)
            )
        return out

    # `list` last: below it, `list` in this class body would name the method, not the type.
    def list(
        self, tenant: str | None = None, *, include_pruned: bool = False
    ) -> tuple[list[dict[str, Any]], list[str]]:
        """Backups with their status and last verification, after reconciling the index with
        the store(s): a manifest missing from the index is indexed; an indexed backup whose
        manifest vanished is shown as ``missing``. Returns (rows, notes).

        Raises: InvalidInput, NotFound (unknown tenant), Forbidden, Unavailable.
        """
        if tenant is not None:
            validate_tenant_name(tenant)

        def read(tx: CatalogTx) -> tuple[list[BackupRecord], list[VerifyResult], str | None]:
            region = None
            if tenant is not None:
                region = existing_tenant(tx, tenant).region
            return (
                tx.backups(tenant=tenant, include_pruned=True),
                tx.verifications(tenant=tenant),
                region,
            )

        records, verifications, only = self.ctx.view(Action.BACKUP_VIEW, tenant or "backups", read)
        regions = [only] if only else list(self.ctx.settings.regions)
        found = {
            m.backup_id: m
            for r in regions
            for m in self.repository(r).manifests(tenant)
            if m.region == r
        }
        indexed = {r.id for r in records}
        new = [BackupRecord.from_manifest(m) for bid, m in found.items() if bid not in indexed]
        notes = []
        if new and not self.ctx.read_only:
            with self.ctx.catalog.transaction() as tx:
                for record in new:
                    tx.insert_backup(record)
            notes.append(
                f"indexed {len(new)} backup(s) found in the store: {', '.join(r.id for r in new[:5])}"
            )
        missing = {
            r.id
            for r in records
            if r.state == "complete" and r.region in regions and r.id not in found
        }
        if missing:
            notes.append(
                f"{len(missing)} backup(s) in the catalog are missing from the store: {', '.join(sorted(missing)[:5])}"
            )
        by_backup = _by_backup(verifications)
        rows = []
        for record in sorted([*records, *new], key=lambda r: (r.created_at, r.id)):
            if record.state == "pruned" and not include_pruned:
                continue
            checked = check(
                record, by_backup.get(record.id, []), self._policy(record.region).verify_level
            )
            status = "missing" if record.id in missing else checked.status
            last = checked.last.as_json() if checked.last else None
            rows.append({**record.as_json(), "status": status, "last_verification": last})
        return rows, notes


def _by_backup(verifications: Iterable[VerifyResult]) -> dict[str, list[VerifyResult]]:
    out: dict[str, list[VerifyResult]] = {}
    for v in verifications:
        out.setdefault(v.backup_id, []).append(v)
    return out


class _Meter:
    """Adds up bytes done across concurrent backups for one progress bar (thread-safe)."""

    def __init__(self, progress: Progress | None, estimates: dict[str, int]) -> None:
        self.progress = progress
        self.estimates = estimates
        self.total = sum(estimates.values())
        self.done: dict[str, int] = {}
        self.lock = threading.Lock()

    def update(self, tenant: str, done: int) -> None:
        if self.progress is None:
            return
        with self.lock:
            self.done[tenant] = min(done, self.estimates[tenant])
            self.progress(sum(self.done.values()), self.total, tenant)

    def finish(self, tenant: str) -> None:
        self.update(tenant, self.estimates[tenant])
