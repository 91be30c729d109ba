"""What the backup use cases share: outcomes, the region stores, fan-out over clusters."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from typing import TypeVar

from aptien_ops.backup_policy import BackupRecord
from aptien_ops.config import BackupPolicy, ClusterSettings, RegionSettings, region_or_fail
from aptien_ops.domain import ScratchSweep, Tenant, VerifyResult
from aptien_ops.domain.backup_index import BACKED_UP_STATES as BACKED_UP_STATES
from aptien_ops.errors import Conflict, OpsError, Unavailable
from aptien_ops.ports import BackupRepository
from aptien_ops.services.context import OpsContext

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


class _NotStarted(Exception):
    """An item of :func:`fan_out` whose turn came after ``stopped()``."""


def never() -> bool:
    return False


def fan_out(
    items: Sequence[T],
    cluster_of: Callable[[T], str],
    parallel: int,
    work: Callable[[T], R],
    stopped: Callable[[], bool] = never,
) -> Iterator[tuple[T, R | OpsError]]:
    """Run ``work`` on each item, at most ``parallel`` at once per cluster; yield as done.

    Ctrl-C, a hang-up or SIGTERM while waiting: nothing queued starts, the work under way
    finishes and is yielded (so that the caller records it), then the interrupt goes on. The
    same without an interrupt in this thread (the TUI's worker, which the signal never reaches)
    once ``stopped()``: the items whose turn comes after that are not started, nor yielded.
    """

    def started(item: T) -> R:
        if stopped():
            raise _NotStarted
        return work(item)

    pools: dict[str, ThreadPoolExecutor] = {}
    futures: dict[Future[R], T] = {}
    stop: KeyboardInterrupt | None = None
    try:
        for item in items:
            cluster = cluster_of(item)
            if cluster not in pools:
                pools[cluster] = ThreadPoolExecutor(
                    parallel, thread_name_prefix=f"backup-{cluster}"
                )
            futures[pools[cluster].submit(started, item)] = item
        waiting = set(futures)
        while waiting:
            try:
                for future in as_completed(waiting):
                    waiting.discard(future)
                    try:
                        yield futures[future], future.result()
                    except OpsError as exc:
                        yield futures[future], exc
                    except _NotStarted:
                        continue
            except KeyboardInterrupt as interrupt:
                stop = interrupt
                waiting = {f for f in waiting if not f.cancel()}
        if stop is not None:
            raise stop
    finally:
        for pool in pools.values():
            pool.shutdown(wait=True, cancel_futures=True)


def by_backup(verifications: Iterable[VerifyResult]) -> dict[str, list[VerifyResult]]:
    out: dict[str, list[VerifyResult]] = {}
    for v in verifications:
        out.setdefault(v.backup_id, []).append(v)
    return out


class ClusterHealth:
    """Which clusters answer, asked once per run.

    The first piece of work on a cluster pings it, and sweeps the scratch copies that killed
    runs left there; the other work on that cluster waits for that one answer instead of each
    waiting out a connection timeout of its own, while work on other clusters goes on. A
    cluster found down stays down for the rest of the run: its tenants fail at once.
    """

    def __init__(self, ctx: OpsContext) -> None:
        self.ctx = ctx
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._down: dict[str, OpsError | None] = {}
        self.swept: list[ScratchSweep] = []

    def require(self, cluster: str) -> None:
        """Raises: Unavailable if ``cluster`` did not answer, now or earlier in this run."""
        with self._guard:
            lock = self._locks.setdefault(cluster, threading.Lock())
        with lock:
            if cluster not in self._down:
                self._down[cluster] = self._check(cluster)
        down = self._down[cluster]
        if down is not None:
            raise Unavailable(
                f"cluster {cluster} is unreachable in this run: {down.message}",
                hint="the cluster's other tenants were not tried; rerun once it is back",
            )

    def _check(self, cluster: str) -> OpsError | None:
        try:
            store = self.ctx.store(cluster)
            store.ping()
        except OpsError as exc:
            return exc
        try:
            swept = store.sweep_scratch()
        except OpsError:
            return None  # housekeeping: never the reason a backup fails
        if swept.removed or swept.kept:
            with self._guard:
                self.swept.append(swept)
        return None

    def outcomes(self) -> list[RunOutcome]:
        """The scratch copies the run's sweeps removed (or could not), as outcomes."""
        return [RunOutcome("-", "clean", None, True, s.describe()) for s in self.swept]


class Meter:
    """Adds up bytes done across concurrent backups for one progress bar (thread-safe).

    Each backup's size is learnt when it starts (its cluster answered by then), so the total
    grows as the run goes."""

    def __init__(self, progress: Progress | None, tenants: Iterable[str]) -> None:
        self.progress = progress
        self.estimates = dict.fromkeys(tenants, 1)
        self.done: dict[str, int] = {}
        self.lock = threading.Lock()

    def expect(self, tenant: str, size: int) -> None:
        with self.lock:
            self.estimates[tenant] = max(size, 1)

    def update(self, tenant: str, done: int) -> None:
        if self.progress is None:
            return
        with self.lock:
            self.done[tenant] = min(done, self.estimates[tenant])
            done_total, total = sum(self.done.values()), sum(self.estimates.values())
        self.progress(done_total, total, tenant)

    def finish(self, tenant: str) -> None:
        self.update(tenant, self.estimates[tenant])
