"""Inspection speed on one big PostgreSQL tenant, and ``inspect user`` across a fleet.

Seeds one tenant with 5 M change-audit events and 1 M login events through the platform's own
seeding code (``backends.sandbox_platform.seed_tenant``, as ``sandbox seed`` does), on a throwaway
server started with ``tests/pg_fixtures.start_pg_server(log_statements=False)``, then times
in-process, through the inspection service as the ``security`` operator (the reader connects as
the region's inspector role):

- the first page (50 rows, newest first)                       target <= 50 ms
- a filtered page (one actor, the last 7 days)                  target <= 100 ms
- page 1,000, reached by following cursors                      target <= 50 ms

each the median of ``--rounds`` runs after warm-up, with the ``EXPLAIN (ANALYZE, BUFFERS)`` of
exactly the statement the reader runs; then ``inspect user`` over ``--fleet`` tenants
(provisioned and seeded the same way), in tenants per second. Prints one JSON object, replaces
its own section at the end of ``docs/benchmarks.md`` (``--no-record`` leaves it alone) and exits
1 when a target is missed. Seeding 5 M events takes a few minutes.

    .venv/bin/python bench/inspect_pages.py
    .venv/bin/python bench/inspect_pages.py --audit 200000 --logins 40000 --fleet 20 --no-record
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from harness import log, machine, pg_workspace, replace_section, vacuum_analyze  # noqa: E402

from aptien_ops.composition import Console, open_console  # noqa: E402
from aptien_ops.domain import utcnow  # noqa: E402
from aptien_ops.inspect_query import AuditFilters, LoginFilters, Position, Query  # noqa: E402

from tenant_seeding import provision_and_seed  # noqa: E402

START, END = "<!-- inspect-pages:start -->", "<!-- inspect-pages:end -->"
TARGETS_MS = {"first_page": 50.0, "filtered_page": 100.0, "page_1000": 50.0}
PW_ENV = "APTIEN_BENCH_INSPECTOR_PW"


def median_ms(work: Callable[[], object], rounds: int, warmup: int = 2) -> tuple[float, float]:
    """(median, minimum) wall milliseconds of ``work`` over ``rounds`` runs after ``warmup``."""
    for _ in range(warmup):
        work()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), min(times)


def make_sandbox(tmp: Path, server: Any) -> Path:
    from fleet_configs import sandbox_with_eu_on

    config = sandbox_with_eu_on("postgresql", tmp / "sandbox", server)
    config.write_text(config.read_text().replace("APTIEN_TEST_INSPECTOR_PW", PW_ENV))
    return config


def seed(
    admin: Console, name: str, *, users: int, audit: int, logins: int, seed_no: int, show: bool
) -> float:
    last = [0.0]

    def progress(done: int, total: int) -> None:
        if show and time.monotonic() - last[0] > 10:
            last[0] = time.monotonic()
            log(f"  seeding {name}: {done:,}/{total:,} rows")

    stats = provision_and_seed(
        admin, name, users=users, events=audit, logins=logins, seed=seed_no, progress=progress
    )
    vacuum_analyze(admin, name)
    return stats.seconds


def measure_pages(sam: Console, admin: Console, name: str, rounds: int) -> dict[str, Any]:
    tenant = admin.tenants.show(name)
    reader = sam.inspection.new_reader(tenant.cluster or "")
    store = admin.ctx.store(tenant.cluster or "")
    with store.connect(name) as conn:
        actor, busiest = conn.execute(
            "SELECT actor, count(*) FROM audit_events WHERE at >= now() - interval '7 days'"
            " GROUP BY actor ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()
    results: dict[str, Any] = {"actor_7d_events": busiest}
    every = sam.inspection.browse(name, "audit", AuditFilters())
    results["first_page"] = median_ms(lambda: every.page(50), rounds)
    one_actor = sam.inspection.browse(name, "audit", AuditFilters(actor=actor, since="7d"))
    results["filtered_page"] = median_ms(lambda: one_actor.page(50), rounds)
    logins = sam.inspection.browse(name, "logins", LoginFilters())
    results["logins_first_page"] = median_ms(lambda: logins.page(50), rounds)
    failed = sam.inspection.browse(name, "logins", LoginFilters(failed=True, since="7d"))
    results["logins_failed_7d_page"] = median_ms(lambda: failed.page(50), rounds)

    started = time.perf_counter()
    cursor, last = None, None
    for _ in range(999):
        page = every.page(50, cursor)
        cursor, last = page.next_cursor, page.rows[-1]
    results["walk_999_pages_s"] = time.perf_counter() - started
    assert cursor is not None and last is not None
    results["page_1000"] = median_ms(lambda: every.page(50, cursor), rounds)
    position = Position(last.at, last.id)

    now = utcnow()
    plans = {
        "first_page": Query("audit", limit=51),
        "filtered_page": AuditFilters(actor=actor, since="7d").resolve(now, 51),
        "page_1000": Query("audit", limit=51, after=position),
    }
    results["plans"] = {k: reader.explain(name, q) for k, q in plans.items()}  # type: ignore[attr-defined]
    reader.close()
    return results


def fleet(admin: Console, config: Path, size: int, rounds: int) -> dict[str, Any]:
    names = [f"fleet-{i:04d}" for i in range(size)]
    started = time.monotonic()
    for i, name in enumerate(names):
        seed(admin, name, users=20, audit=50, logins=200, seed_no=i, show=False)
        if (i + 1) % 25 == 0:
            log(f"  fleet: {i + 1}/{size} tenants provisioned and seeded")
    log(f"  fleet ready in {time.monotonic() - started:.0f} s")
    store = admin.ctx.store(admin.tenants.show(names[0]).cluster or "")
    with store.connect(names[0]) as conn:
        (email,) = conn.execute("SELECT email FROM users ORDER BY id LIMIT 1").fetchone()
    out: dict[str, Any] = {"tenants": size, "email_found_in": None, "by_parallel": {}}
    original = config.read_text()
    for parallel in (1, 4, 8):
        config.write_text(
            original.replace("parallel_per_cluster = 4", f"parallel_per_cluster = {parallel}")
        )
        sam = open_console(config, env={"APTIEN_OPS_OPERATOR": "sam"})
        try:
            rates = []
            for _ in range(rounds):
                t0 = time.perf_counter()
                search = sam.inspection.find_user(email)
                elapsed = time.perf_counter() - t0
                assert not search.failures, search.failures[:1]
                rates.append(search.searched / elapsed)
                out["email_found_in"] = len(search.hits)
        finally:
            sam.close()
        out["by_parallel"][parallel] = {
            "median_tenants_per_s": statistics.median(rates),
            "best": max(rates),
        }
    config.write_text(original)
    return out


def record(result: dict[str, Any]) -> None:
    pages = result["pages"]

    def row(key: str, label: str) -> str:
        med, low = pages[key]
        target = TARGETS_MS.get(key)
        verdict = ("yes" if med <= target else "**no**") if target else "-"
        shown = f"≤ {target:g}" if target else "-"
        return f"| {label} | {med:.2f} | {low:.2f} | {shown} | {verdict} |"

    fleet_rows = "\n".join(
        f"| {p} | {v['median_tenants_per_s']:.0f} | {v['best']:.0f} |"
        for p, v in result["fleet"]["by_parallel"].items()
    )
    plans = "\n\n".join(
        f"{label}:\n\n" + "\n".join("    " + line for line in pages["plans"][key].splitlines())
        for key, label in (
            ("first_page", "First page"),
            ("filtered_page", "One actor, 7 days"),
            ("page_1000", "Page 1,000 (keyset position of page 999's last row)"),
        )
    )
    buffers, fleet = result["shared_buffers"], result["fleet"]
    section = f"""{START}
## inspect: pages of a big tenant, and `inspect user` across a fleet

`bench/inspect_pages.py` — one PostgreSQL tenant seeded with {result["audit_events"]:,} change-audit
events and {result["logins"]:,} login events by `backends.sandbox_platform.seed_tenant` (the
`sandbox seed` code; seeding took {result["seed_seconds"]:.0f} s), on a throwaway server
(`tests/pg_fixtures.start_pg_server(log_statements=False)`, shared_buffers {buffers}).
Pages are read in-process through `InspectionService.browse(...).page(50, cursor)` as the
`security` operator — the reader connects as the region's inspector role — warm cache, median
and minimum of {result["rounds"]} runs after 2 warm-up runs. The filtered page asks for the busiest
actor of the last 7 days ({pages["actor_7d_events"]:,} events in that window). Page 1,000 is
reached by following 999 cursors ({pages["walk_999_pages_s"]:.2f} s for the walk), then timed alone.

Run {result["date"]} on {result["machine"]}.

| page | median (ms) | min (ms) | target (ms) | pass |
| --- | ---: | ---: | ---: | --- |
{row("first_page", "audit, first page (50 rows, newest first)")}
{row("filtered_page", "audit, one actor, last 7 days")}
{row("page_1000", "audit, page 1,000 by cursor")}
{row("logins_first_page", "logins, first page")}
{row("logins_failed_7d_page", "logins, failed only, last 7 days")}

`EXPLAIN (ANALYZE, BUFFERS)` of exactly the statements the reader sends (`reader.explain`; it asks
for 51 rows to know whether a next page exists):

{plans}

`inspect user` over {fleet["tenants"]} tenants on one cluster (each provisioned with its own
database and seeded with 20 users and 200 logins; the address searched is a user in
{fleet["email_found_in"]} of them): every tenant is opened as the inspector role (a SCRAM
login per tenant database) and asked for the user and their last login and last success.
`[inspection] parallel_per_cluster` bounds the threads per cluster (default 4); median and best of
{result["fleet_rounds"]} searches:

| parallel per cluster | tenants / s (median) | tenants / s (best) |
| --- | ---: | ---: |
{fleet_rows}

    .venv/bin/python bench/inspect_pages.py            # 5 M audit + 1 M logins + 200 tenants
{END}
"""
    replace_section(START, END, section)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--audit", type=int, default=5_000_000)
    parser.add_argument("--logins", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=2_000)
    parser.add_argument("--fleet", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--shared-buffers", default="1GB")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()

    with pg_workspace("aptien-bench-inspect-", PW_ENV, {"shared_buffers": args.shared_buffers}) as (
        tmp,
        server,
    ):
        config = make_sandbox(tmp, server)
        admin = open_console(config)
        sam = open_console(config, env={"APTIEN_OPS_OPERATOR": "sam"})
        try:
            log(f"seeding bench-big: {args.audit:,} audit events, {args.logins:,} logins")
            seconds = seed(
                admin,
                "bench-big",
                users=args.users,
                audit=args.audit,
                logins=args.logins,
                seed_no=1,
                show=True,
            )
            log(f"seeded in {seconds:.0f} s; timing pages")
            pages = measure_pages(sam, admin, "bench-big", args.rounds)
            log(f"fleet of {args.fleet} tenants")
            fleet_result = fleet(admin, config, args.fleet, 3)
        finally:
            sam.close()
            admin.close()
    result = {
        "benchmark": "inspect pages",
        "backend": "postgresql",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "audit_events": args.audit,
        "logins": args.logins,
        "seed_seconds": seconds,
        "rounds": args.rounds,
        "shared_buffers": args.shared_buffers,
        "fleet_rounds": 3,
        "pages": pages,
        "fleet": fleet_result,
    }
    passed = all(pages[k][0] <= target for k, target in TARGETS_MS.items())
    result["pass"] = passed
    print(
        json.dumps(
            {k: v for k, v in result.items() if k != "pages"}
            | {"pages": {k: v for k, v in pages.items() if k != "plans"}},
            indent=1,
        )
    )
    if not args.no_record:
        record(result)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
