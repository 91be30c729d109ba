"""Backups on the job queue against the in-process ``backup run`` (issue 17).

A sandbox whose catalog is a throwaway PostgreSQL server (``harness.pg_workspace``) and whose
eu cluster is the sandbox's SQLite directory holds N eu tenants seeded with the platform's own
code (``tests/tenant_seeding.provision_and_seed``). Then, alternately in one run:

- floor: ``aptien-ops --json backup run --region eu`` (one process, ``--parallel 1``);
- ours, k = 1, 2, 4: ``aptien-ops backup run --region eu --enqueue`` then k processes
  ``aptien-ops worker --region eu --until-idle`` started together, timed until the last ends.

k = 1 is judged (the overhead of a job against the in-process path, target <= 1.1x); 2 and 4
are reported (the speedup on this machine's 2 CPUs, beside whatever else runs on it). Each
round backs every tenant up again; the stores keep what earlier rounds wrote.

After the timed rounds, each path runs once more to be accounted for (printed as one JSON
line, ``"accounting"``): its CPU-seconds (the processes it started and their children, plus
the catalog server's) and their ratio to the in-process path's, which the machine's other
load does not move as it moves wall times; hence the least time the machine's cores allow
(CPU-seconds / cores); and the catalog database's transactions (``pg_stat_database``:
commits and rollbacks, a pool's liveness check included) per tenant.

    .venv/bin/python bench/jobs.py [--tenants 200] [--events 8500] [--rounds 3] [--no-record]

``--events 8500`` makes tenants of ~10 MiB (the issue's); ``--rounds 1`` for 200 tenants if
three rounds take too long, and 30 tenants for the rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from harness import (  # noqa: E402
    BenchError,
    Measured,
    Run,
    bench_env,
    compare_several,
    log,
    machine,
    pg_workspace,
)

from aptien_ops.composition import open_console  # noqa: E402

from sandboxes import sandbox_on_postgresql  # noqa: E402
from tenant_seeding import provision_and_seed  # noqa: E402

TARGET_RATIO = 1.1


def _fleet(config: Path, tenants: int, events: int) -> int:
    """N eu tenants; returns the bytes of their databases."""
    console = open_console(config)
    try:
        for i in range(tenants):
            provision_and_seed(
                console, f"bench-{i:04d}", logins=events, events=events, users=50, seed=i
            )
        store = console.ctx.store("eu-sandbox-1")
        return sum(store.size_bytes(f"bench-{i:04d}") for i in range(tenants))
    finally:
        console.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=200)
    parser.add_argument("--events", type=int, default=8_500, help="logins and audit events")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    with pg_workspace("aptien-bench-jobs-", "APTIEN_BENCH_JOBS_PW") as (tmp, server):
        config, catalog_dsn = sandbox_on_postgresql(tmp / "sbx", server)
        log(f"seeding {args.tenants} tenants")
        size = _fleet(config, args.tenants, args.events)
        log(f"{args.tenants} tenants, {size / 2**20:.0f} MiB in all")
        env = bench_env(tmp / "home")
        cli = [sys.executable, "-m", "aptien_ops", "--config", str(config)]

        def workers(k: int) -> None:
            subprocess.run(
                [*cli, "backup", "run", "--region", "eu", "--enqueue"],
                env=env,
                check=True,
                capture_output=True,
            )
            procs = [
                subprocess.Popen(
                    [*cli, "worker", "--region", "eu", "--until-idle", "--queues", "backup"],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
                for _ in range(k)
            ]
            for proc in procs:
                _, err = proc.communicate()
                if proc.returncode != 0:
                    raise BenchError(f"a worker exited {proc.returncode}: {err.decode()[-500:]}")

        def floor() -> None:
            subprocess.run(
                [*cli, "--json", "backup", "run", "--region", "eu"],
                env=env,
                check=True,
                capture_output=True,
            )

        ours = [
            Measured(f"jobs: backups of {args.tenants} tenants, 1 worker", lambda: workers(1)),
            Measured(f"jobs: {args.tenants} tenants, 2 workers", _k(workers, 2), target_ratio=None),
            Measured(f"jobs: {args.tenants} tenants, 4 workers", _k(workers, 4), target_ratio=None),
        ]
        ours[0] = Measured(ours[0].name, ours[0].target, Run(), TARGET_RATIO)
        results = compare_several(
            ours,
            [*cli, "--json", "backup", "run", "--region", "eu"],
            rounds=args.rounds,
            warmup=0,
            backend="postgresql catalog",
            floor_run=Run(env=env),
            extra={"tenants": args.tenants, "mib": round(size / 2**20)},
            record=not args.no_record,
        )
        paths = {"in-process": floor, **{f"{k} worker": _k(workers, k) for k in (1, 2, 4)}}
        accounting = {
            name: _accounted(run, server, catalog_dsn, args.tenants) for name, run in paths.items()
        }
        cores = os.cpu_count() or 1
        base = accounting["in-process"]["cpu_s"]
        for figures in accounting.values():
            # Whatever the machine's other load: a path can end no sooner than its CPU-seconds
            # spread over every core, and costs what it costs against the in-process path.
            figures["least_possible_s"] = round(figures["cpu_s"] / cores, 2)
            figures["cpu_vs_in_process"] = round(figures["cpu_s"] / base, 3) if base else None
        summary = {"accounting": accounting, "cores": cores, "machine": machine()}
        print(json.dumps(summary), flush=True)
    return 0 if results[0].get("pass", True) else 1


def _k(workers: Callable[[int], None], k: int) -> Callable[[], None]:
    return lambda: workers(k)


def _accounted(run: Callable[[], None], server: Any, dsn: str, tenants: int) -> dict[str, Any]:
    """One more run of a path: its wall and CPU seconds (its processes and their children,
    and the catalog server's), and the catalog database's transactions per tenant."""
    before_tx, before_server = _catalog_transactions(dsn), _server_cpu(server)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    run()
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    time.sleep(1.0)  # the backends of the exited processes end and report their statistics
    server_cpu = _server_cpu(server) - before_server
    own = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    transactions = _catalog_transactions(dsn) - before_tx - 1  # less this reading's own
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(own + server_cpu, 2),
        "catalog_server_cpu_s": round(server_cpu, 2),
        "catalog_transactions": transactions,
        "catalog_transactions_per_tenant": round(transactions / tenants, 1),
    }


def _catalog_transactions(dsn: str) -> int:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database"
            " WHERE datname = current_database()"
        ).fetchone()
    return int(row[0]) if row else 0


def _server_cpu(server: Any) -> float:
    """CPU-seconds of the PostgreSQL server so far: its postmaster with the backends it has
    reaped, and the live ones (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    postmaster = int((Path(server.data_dir) / "postmaster.pid").read_text().split()[0])
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        pid, ppid = int(entry.name), int(fields[1])
        if pid == postmaster:
            total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
        elif ppid == postmaster:
            total += int(fields[11]) + int(fields[12])
    return total / tick


if __name__ == "__main__":
    sys.exit(main())
