"""Billing status: ``billing status --json`` against ``tenant list --json`` on the same catalog.

Target (issue 14): ≤ 1.5× on 10,000 tenants, side by side in one run. The catalog is
``catalog_seed.fill``'s (every state, both regions); nine in ten of its live tenants are
linked to a Stripe customer with a subscription in one of the licence states and a latest
invoice, the tenth not linked (licence ``none``): ``billing status`` lists every live tenant,
as ``tenant list`` lists every tenant. Measured twice, both against the same ``tenant list``:

- the commands, both CLI processes run by an admin (who sees every field), alternating;
- the reads alone, in this process: ``BillingService.status_json()`` against
  ``TenantService.rows_json()`` on one open console (no interpreter start or imports, which
  dominate a process).

    .venv/bin/python bench/billing.py --only status --backend sqlite
    .venv/bin/python bench/billing.py --only status --backend postgresql

Prints one JSON object per measurement and updates ``docs/benchmarks.md`` (``--no-record``:
not); exits 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from catalog_seed import catalog_bench_arguments, catalog_workspace
from harness import BenchError, Measured, Run, compare_several, log

from aptien_ops.composition import open_console
from aptien_ops.domain import TenantState
from aptien_ops.domain.billing import LicenceState, TenantBilling

STATUS_TARGET = 1.5
#: The licence states the linked tenants cycle through (none: linked, no subscription).
STATES = (
    LicenceState.ACTIVE,
    LicenceState.ACTIVE,
    LicenceState.ACTIVE,
    LicenceState.TRIALING,
    LicenceState.PAST_DUE,
    LicenceState.UNPAID,
    LicenceState.CANCELED,
    LicenceState.NONE,
)


def link_tenants(config: Path) -> int:
    """Link nine in ten live tenants to a customer with a subscription and an invoice; returns
    how many tenants ``billing status`` lists (every one that is not purged)."""
    console = open_console(config)
    try:
        now = datetime.now(UTC).replace(microsecond=0)
        with console.ctx.catalog.transaction() as tx:
            live = [t.name for t in tx.tenants.all() if t.state != TenantState.PURGED]
            for i, name in enumerate(live):
                if i % 10 == 9:
                    continue
                state = STATES[i % len(STATES)]
                subscribed = state != LicenceState.NONE
                tx.billing.link(
                    TenantBilling(
                        name,
                        f"cus_Bench{i:06d}",
                        f"sub_Bench{i:06d}" if subscribed else None,
                        state,
                        now + timedelta(days=i % 40, microseconds=i % 3) if subscribed else None,
                        i % 5 == 0,
                        f"AB12CD-{i:04d}" if subscribed else None,
                        4900 + i % 7 * 100 if subscribed else None,
                        "eur" if subscribed else None,
                        "paid" if state == LicenceState.ACTIVE else "open",
                        now + timedelta(days=14) if subscribed else None,
                        f"evt_Bench{i:06d}",
                        now,
                    )
                )
        return len(live)
    finally:
        console.close()


def _expect_rows(count: int, key: str) -> Callable[[bytes], None]:
    def check(stdout: bytes) -> None:
        rows = json.loads(stdout)
        if not isinstance(rows, list) or len(rows) != count or key not in rows[0]:
            got = len(rows) if isinstance(rows, list) else type(rows).__name__
            raise BenchError(f"expected {count} rows with {key!r}, got {got}")

    return check


def bench_status(args: argparse.Namespace) -> list[dict[str, Any]]:
    with catalog_workspace(args.backend, args.tenants) as space:
        config = space.seeded.config
        started = time.perf_counter()
        listed = link_tenants(config)
        log(f"linked nine in ten of {listed} live tenants in {time.perf_counter() - started:.1f} s")
        base = [sys.executable, "-m", "aptien_ops", "--config", str(config), "--json"]
        run = Run(env=space.env, cwd=space.tmp)
        extra = {"tenants": args.tenants, "listed": listed}
        results = compare_several(
            [
                Measured(
                    "billing status --json (commands)",
                    [*base, "billing", "status"],
                    Run(space.env, space.tmp, _expect_rows(listed, "invoice")),
                    STATUS_TARGET,
                )
            ],
            [*base, "tenant", "list"],
            rounds=args.rounds,
            backend=args.backend,
            floor_run=run,
            extra=extra,
            record=not args.no_record,
        )
        console = open_console(config, env=space.env)
        try:
            if len(json.loads(console.billing.status_json())) != listed:
                raise BenchError("status_json did not list every live tenant")
            results += compare_several(
                [
                    Measured(
                        "billing status --json (the read, in process)",
                        console.billing.status_json,
                        Run(),
                        STATUS_TARGET,
                    )
                ],
                console.tenants.rows_json,
                rounds=args.rounds,
                backend=args.backend,
                extra=extra,
                record=not args.no_record,
            )
        finally:
            console.close()
    return results


def arguments(argv: list[str] | None) -> argparse.Namespace:
    def only(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--only", choices=("status",), default="status")

    return catalog_bench_arguments(
        __doc__.splitlines()[0], ("sqlite", "postgresql"), argv, rounds=11, more=only
    )


def main(argv: list[str] | None = None) -> int:
    results = bench_status(arguments(argv))
    return 0 if all(r["pass"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
