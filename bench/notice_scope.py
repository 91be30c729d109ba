"""Resolving an operational notice's scope: one cluster with 1,000 tenants, against one
catalog query listing them.

Target (issue 15): ≤ 2× side by side in one run. The catalog holds ``--tenants`` (1,000)
active and suspended tenants on ``eu-sandbox-1`` and as many others the scope must leave out
(cancelled and purged ones on the same cluster, live ones on ``us-sandbox-1``). Both reads
run in this process on one open console, alternating, each in its own read transaction:

- the scope: ``tx.op_notices.resolve(Scope(clusters, ("eu-sandbox-1",)))``, what ``notice
  draft --clusters eu-sandbox-1`` runs (the tenants as ``ScopedTenant`` records);
- the floor: ``SELECT * FROM tenants WHERE cluster = 'eu-sandbox-1' AND state IN ('active',
  'suspended')``, the same tenants' rows, every one fetched.

    .venv/bin/python bench/notice_scope.py --backend sqlite
    .venv/bin/python bench/notice_scope.py --backend postgresql

Prints one JSON object; exits 1 if the target is missed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from catalog_seed import seeded_catalog
from harness import log, machine
from sqlalchemy import text

from aptien_ops.composition import open_console
from aptien_ops.domain import Tenant, TenantState, utcnow
from aptien_ops.domain.op_notices import Scope, Selection

TARGET = 2.0
CLUSTER = "eu-sandbox-1"
#: The states of the tenants on the cluster, in turn: two in five are left out.
CYCLE = (
    TenantState.ACTIVE,
    TenantState.SUSPENDED,
    TenantState.ACTIVE,
    TenantState.CANCELLED,
    TenantState.PURGED,
)


def plant(config: Path, reached: int) -> None:
    """``reached`` active and suspended tenants on the cluster, and as many left out."""
    console = open_console(config)
    now = utcnow()
    try:
        with console.ctx.catalog.transaction() as tx:
            i = placed = 0
            while placed < reached:
                state = CYCLE[i % len(CYCLE)]
                placed += state in (TenantState.ACTIVE, TenantState.SUSPENDED)
                cluster = None if state is TenantState.PURGED else CLUSTER
                tx.tenants.insert(
                    Tenant(f"eu-{i:05d}", "DE", "eu", cluster, state, None, None, now, now)
                )
                i += 1
            for j in range(reached - (i - placed)):
                us = Tenant(
                    f"us-{j:05d}", "US", "us", "us-sandbox-1", CYCLE[0], None, None, now, now
                )
                tx.tenants.insert(us)
    finally:
        console.close()


def timed(fn: Callable[[], int], expect: int) -> float:
    started = time.perf_counter()
    got = fn()
    took = time.perf_counter() - started
    if got != expect:
        raise SystemExit(f"expected {expect} rows, got {got}")
    return took


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=31)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="aptien-bench-") as tmp:
        with seeded_catalog(Path(tmp), args.backend, 0) as seeded:
            plant(seeded.config, args.tenants)
            console = open_console(seeded.config)
            catalog = console.ctx.catalog
            scope = Scope(Selection.CLUSTERS, (CLUSTER,))
            floor_sql = text(
                "SELECT * FROM tenants WHERE cluster = :c AND state IN ('active', 'suspended')"
            )
            listed = 0
            with catalog.read() as tx:
                listed = len(tx.conn.execute(floor_sql, {"c": CLUSTER}).all())  # type: ignore[attr-defined]

            def resolve() -> int:
                with catalog.read() as tx:
                    return len(tx.op_notices.resolve(scope))

            def floor() -> int:
                with catalog.read() as tx:
                    return len(tx.conn.execute(floor_sql, {"c": CLUSTER}).all())  # type: ignore[attr-defined]

            for _ in range(3):  # warm: statement caches, the connection pool
                resolve(), floor()
            ours: list[float] = []
            base: list[float] = []
            for _ in range(args.rounds):
                ours.append(timed(resolve, args.tenants))
                base.append(timed(floor, listed))
            console.close()
    ratio = statistics.median(ours) / statistics.median(base)
    result = {
        "benchmark": "notice scope: one cluster",
        "backend": args.backend,
        "reached": args.tenants,
        "floor_rows": listed,
        "scope_median_ms": round(statistics.median(ours) * 1000, 2),
        "floor_median_ms": round(statistics.median(base) * 1000, 2),
        "ratio": round(ratio, 2),
        "target": TARGET,
        "machine": machine(),
    }
    print(json.dumps(result))
    log(f"scope {result['scope_median_ms']} ms, floor {result['floor_median_ms']} ms: {ratio:.2f}x")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
