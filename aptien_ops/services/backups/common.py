"""What the backup use cases share: outcomes, the region stores, fan-out over clusters."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from typing import TypeVar

from aptien_ops.backup_policy import BackupRecord
from aptien_ops.config import BackupPolicy, ClusterSettings, RegionSettings, region_or_fail
from aptien_ops.domain import Tenant, TenantState, VerifyResult
from aptien_ops.errors import Conflict, OpsError
from aptien_ops.ports import BackupRepository
from aptien_ops.services.context import OpsContext

#: Tenants whose database exists and may be backed up.
BACKED_UP_STATES = (TenantState.ACTIVE, TenantState.SUSPENDED, TenantState.CANCELLED)
MAX_PARALLEL = 16
#: Called with (done, total, item) as work goes; ``done``/``total`` are (estimated) bytes.
Progress = Callable[[int, int, str], None]
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class RunOutcome:
    """One backup (or verification, or clean-up) done by ``backup run``."""

    tenant: str
    action: str
    """backup, verify or clean"""
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


class RegionStores:
    """Each region's backup store (opened on first use) and the clusters a backup may use."""

    def __init__(
        self, ctx: OpsContext, factory: Callable[[RegionSettings], BackupRepository]
    ) -> None:
        self.ctx = ctx
        self._factory = factory
        self._opened: dict[str, BackupRepository] = {}
        self._lock = threading.Lock()

    def repository(self, region: str) -> BackupRepository:
        """Raises: InvalidInput (unknown region)."""
        settings = region_or_fail(self.ctx.settings, region)
        with self._lock:
            if region not in self._opened:
                self._opened[region] = self._factory(settings)
            return self._opened[region]

    def policy(self, region: str) -> BackupPolicy:
        """The region's schedule and retention, with the legal holds the policy in force sets
        (a production catalog holds them; the config cannot lift one)."""
        settings = self.ctx.settings.regions.get(region)
        backup = settings.backup if settings else BackupPolicy()
        holds = tuple(sorted(self.ctx.policy.legal_holds))
        return replace(backup, legal_holds=holds)

    def own_cluster(self, tenant: Tenant) -> ClusterSettings:
        """The tenant's cluster, which must be one of its own region's (residency).

        Raises: Conflict if the configuration no longer places it there.
        """
        for cluster in self.ctx.settings.regions[tenant.region].clusters:
            if cluster.name == tenant.cluster:
                return cluster
        raise Conflict(
            f"{tenant.name}'s cluster {tenant.cluster} is not a cluster of region "
            f"{tenant.region} in the configuration"
        )

    def scratch_cluster(self, record: BackupRecord) -> ClusterSettings:
        """A cluster of the backup's own region that can take its kind: its source cluster if
        still configured, else another one of the region. Never another region's.

        Raises: Conflict if the region has none.
        """
        kind = "sqlite" if record.manifest.kind == "sqlite" else "postgresql"
        region = self.ctx.settings.regions.get(record.region)
        candidates = [c for c in (region.clusters if region else ()) if c.kind == kind]
        candidates.sort(key=lambda c: c.name != record.cluster)
        if not candidates:
            raise Conflict(
                f"region {record.region} has no {kind} cluster to restore {record.id} into"
            )
        return candidates[0]


def fan_out(
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


def by_backup(verifications: Iterable[VerifyResult]) -> dict[str, list[VerifyResult]]:
    out: dict[str, list[VerifyResult]] = {}
    for v in verifications:
        out.setdefault(v.backup_id, []).append(v)
    return out


class Meter:
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
