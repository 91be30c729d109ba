"""Breach scope over a fleet, beside ``inspect user`` on the same fleet.

Issue 13: ``breach scope`` over 200 tenants on one cluster, reported as tenants per second
beside ``inspect user`` (the same kind of read: each tenant database opened as the region's
inspector role, its user metadata read). A throwaway PostgreSQL server holds the sandbox's eu
cluster; 200 tenants are provisioned and seeded by the project's own code (20 users and 200
logins each, as ``bench/inspect_pages.py``'s fleet). Then, alternating after a warm-up round:
``IncidentService.scope(ID, --region eu)`` as ``sam`` (every user of every tenant read, the
snapshot of 4,000 people stored with the incident, the ops-log entry) and
``InspectionService.find_user(EMAIL)`` (the address searched in every tenant). The issue
sets no target: the row gives both rates and the ratio of the scope's time to the search's.

    .venv/bin/python bench/breach_scope.py [--tenants 200] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from harness import BenchError, _summary, log, machine, pg_workspace, record_result  # noqa: E402
from inspect_pages import PW_ENV, make_sandbox, seed  # noqa: E402

from aptien_ops.composition import open_console  # noqa: E402
from aptien_ops.services.incident_scope import ScopeRequest  # noqa: E402
from aptien_ops.services.incidents import IncidentInput  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    with pg_workspace("aptien-bench-scope-", PW_ENV) as (tmp, server):
        config = make_sandbox(tmp, server)
        admin = open_console(config)
        sam = open_console(config, env={"APTIEN_OPS_OPERATOR": "sam"})
        try:
            names = [f"fleet-{i:04d}" for i in range(args.tenants)]
            started = time.monotonic()
            for i, name in enumerate(names):
                seed(admin, name, users=20, audit=50, logins=200, seed_no=i, show=False)
                if (i + 1) % 25 == 0:
                    log(f"  fleet: {i + 1}/{args.tenants} tenants provisioned and seeded")
            log(f"fleet ready in {time.monotonic() - started:.0f} s")
            store = admin.ctx.store(admin.tenants.show(names[0]).cluster or "")
            with store.connect(names[0]) as conn:
                (email,) = conn.execute("SELECT email FROM users ORDER BY id LIMIT 1").fetchone()
            aware = datetime.now(UTC) - timedelta(hours=1)
            incident = sam.incidents.open(IncidentInput("Bench", "confidentiality", aware)).id
            times: dict[str, list[float]] = {"scope": [], "inspect": []}
            counts: dict[str, int] = {}
            for i in range(args.rounds + 1):
                for which in ("scope", "inspect") if i % 2 == 0 else ("inspect", "scope"):
                    t0 = time.perf_counter()
                    if which == "scope":
                        found = sam.incidents.scope(incident, ScopeRequest(region="eu"))
                        want = (args.tenants, 20 * args.tenants)
                        if (found.header.tenants, found.header.people) != want:
                            raise BenchError(f"scope found {found.header}, wanted {want}")
                        counts["scope"] = found.header.tenants
                        counts["people"] = found.header.people
                    else:
                        search = sam.inspection.find_user(email)
                        assert not search.failures, search.failures[:1]
                        counts["inspect"] = search.searched
                    elapsed = time.perf_counter() - t0
                    if i > 0:
                        times[which].append(elapsed)
                    log(f"round {i} {which}: {elapsed:.2f} s")
        finally:
            sam.close()
            admin.close()
        scope_s, inspect_s = (statistics.median(times[k]) for k in ("scope", "inspect"))
        result: dict[str, Any] = {
            "benchmark": f"breach scope, {args.tenants} tenants vs inspect user (tenants/s)",
            "backend": "postgresql",
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
            "rounds": args.rounds,
            "warmup": 1,
            "ours": _summary(times["scope"]),
            "floor": _summary(times["inspect"]),
            "ratio": round(scope_s / inspect_s, 3),
            "ratio_of_minima": round(min(times["scope"]) / min(times["inspect"]), 3),
            "target_ratio": None,
            "pass": None,
            "tenants_per_s": {
                "scope": round(counts["scope"] / scope_s, 1),
                "scope_best": round(counts["scope"] / min(times["scope"]), 1),
                "inspect_user": round(counts["inspect"] / inspect_s, 1),
                "inspect_user_best": round(counts["inspect"] / min(times["inspect"]), 1),
            },
            "tenants": counts,
            "machine": machine(),
        }
        print(json.dumps(result), flush=True)  # before the server's files are removed
    if not args.no_record:
        record_result(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
