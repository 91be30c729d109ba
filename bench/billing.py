"""Billing: ``billing sync --full`` against the bare stripe-python reads of the same objects.

Target (issue 14): a full sync of N customers (2,000) against localstripe ≤ 1.5× the bare
stripe-python auto-paging reads of the same objects, side by side in one run. Ours is
``console.billing_sync.sync(full=True)`` in this process on a SQLite catalog whose N tenants
are each linked to one customer: the newest event read, every subscription and invoice read
page by page and reduced, each tenant's row written, the cursor set, its ops-log entry. The
floor is a ``StripeClient`` (the same key and server) iterating ``subscriptions.list(status=
all)`` and ``invoices.list`` with ``auto_paging_iter`` to the end, 100 a page. localstripe
runs in a process of its own (tests/stripe_server.py: the store in memory), holding for each
customer an address and an active subscription with its paid invoice (a licence at no charge:
localstripe slows down with every card, payment and charge it holds); most of either side's
time is localstripe's.

    .venv/bin/python bench/billing.py --only sync [--customers 2000] [--rounds 5]

``--only status`` measures ``billing status --json`` against ``tenant list --json`` instead
(bench/billing_status.py, its own options: ``--backend``, ``--tenants``, ``--rounds``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from harness import BenchError, compare, log

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

SYNC_TARGET = 1.5
KEY = "sk_test_aptienBenchKey"


def bench_sync(customers: int, rounds: int, record: bool) -> bool:
    from aptien_ops.composition import open_console
    from aptien_ops.domain.billing import LicenceState

    import stripe_world
    from billing_sync_world import KEY_ENV, BillingWorld, billing_sandbox, rows
    from stripe_server import start_localstripe

    with tempfile.TemporaryDirectory(prefix="bench-billing-") as tmp:
        place = Path(tmp)
        os.environ["XDG_DATA_HOME"] = str(place / "data")
        os.environ["XDG_CONFIG_HOME"] = str(place / "config")
        os.environ[KEY_ENV] = KEY
        server = start_localstripe(place)
        try:
            client = server.client(KEY)
            console = open_console(billing_sandbox(place / "sbx", server.url))
            # A licence at no charge: its invoice is paid without a card, a payment intent and
            # a charge, each of which localstripe re-reads from its whole store on every
            # listing (a page of paid invoices took 5-25 s at 2,000 customers).
            product = client.v1.products.create({"name": "Aptien licence (bench)"})
            free = client.v1.plans.create(
                {"product": product.id, "amount": 0, "currency": "eur", "interval": "month"}
            )
            world = BillingWorld(console, client, stripe_world.Plans(free.id))
            log(f"creating {customers} customers in localstripe (address, subscription)")
            for n in range(customers):
                world.customer(f"tenant-{n:05d}", card=False)
                if (n + 1) % 500 == 0:
                    log(f"  {n + 1}")
            world.link_all()

            def ours() -> None:
                result = console.billing_sync.sync(full=True)
                assert result.linked == customers

            def floor() -> None:
                subs = client.v1.subscriptions.list({"status": "all", "limit": 100})
                invoices = client.v1.invoices.list({"limit": 100})
                read = sum(1 for _ in subs.auto_paging_iter())
                read += sum(1 for _ in invoices.auto_paging_iter())
                assert read == 2 * customers, read

            ours()
            kept = rows(console)
            if len(kept) != customers or any(
                r.subscription_status is not LicenceState.ACTIVE or r.invoice_status != "paid"
                for r in kept.values()
            ):
                raise BenchError("the sync did not keep every customer's licence and invoice")
            result = compare(
                f"billing sync --full, {customers} customers vs bare stripe-python auto-paging",
                ours,
                floor,
                rounds=rounds,
                target_ratio=SYNC_TARGET,
                backend="sqlite",
                record=record,
            )
            console.close()
        finally:
            server.stop()
    return bool(result["pass"])


def main() -> int:
    which = argparse.ArgumentParser(add_help=False)
    which.add_argument("--only", choices=("sync", "status"), default="sync")
    if which.parse_known_args()[0].only == "status":
        import billing_status

        return billing_status.main(sys.argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("sync",), default="sync")
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    passed = bench_sync(args.customers, args.rounds, not args.no_record)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
