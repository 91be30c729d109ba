"""Find a user across the fleet: each live tenant searched in parallel, at most
``parallel`` at once per cluster, each thread with a reader of its own; a cluster that is down
fails its remaining tenants at once. The use case (authorised, logged) is
:meth:`aptien_ops.services.inspection.InspectionService.find_user`."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed

from aptien_ops.domain import Tenant, UserRecord
from aptien_ops.errors import OpsError, Unavailable
from aptien_ops.ports import InspectionReader
from aptien_ops.services.inspection_results import SearchFailure, UserHit, UserSearch


def search_tenants(
    tenants: list[Tenant],
    address: str,
    search: UserSearch,
    *,
    parallel: int,
    new_reader: Callable[[str], InspectionReader],
    on_hit: Callable[[UserHit], None] | None,
    progress: Callable[[int, int, str], None] | None,
) -> None:
    """Search ``tenants`` for ``address``, adding to ``search``'s hits and failures as each
    tenant answers; every reader opened is closed before it returns."""
    by_cluster: dict[str, list[Tenant]] = {}
    for t in tenants:
        by_cluster.setdefault(t.cluster or "", []).append(t)
    local = threading.local()
    opened: list[InspectionReader] = []
    guard = threading.Lock()
    # The first tenant a down cluster fails on marks it, so its other tenants fail at once
    # instead of each waiting for a connect timeout.
    down: dict[str, OpsError] = {}

    def one(t: Tenant) -> tuple[Tenant, UserRecord | None, OpsError | None]:
        cluster = t.cluster or ""
        if cluster in down:
            return t, None, down[cluster]
        readers: dict[str, InspectionReader] = local.__dict__.setdefault("readers", {})
        try:
            if cluster not in readers:
                readers[cluster] = new_reader(cluster)
                with guard:
                    opened.append(readers[cluster])
            return t, readers[cluster].find_user(t.name, address), None
        except Unavailable as exc:
            down.setdefault(cluster, exc)
            return t, None, exc
        except OpsError as exc:
            return t, None, exc

    pools = [
        ThreadPoolExecutor(min(parallel, len(mine)), thread_name_prefix=f"inspect-{c}")
        for c, mine in by_cluster.items()
    ]
    try:
        futures = [
            pool.submit(one, t)
            for pool, mine in zip(pools, by_cluster.values(), strict=True)
            for t in mine
        ]
        for done, future in enumerate(as_completed(futures), 1):
            t, found, error = future.result()
            if error is not None:
                search.failures.append(SearchFailure(t, error.code, error.message))
            elif found is not None:
                hit = UserHit(t, found)
                search.hits.append(hit)
                if on_hit is not None:
                    on_hit(hit)
            if progress is not None:
                progress(done, len(tenants), t.name)
    finally:
        for pool in pools:
            pool.shutdown(wait=True, cancel_futures=True)
        for reader in opened:
            reader.close()
