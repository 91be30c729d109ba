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

    .venv/bin/python bench/jobs.py [--tenants 200] [--events 60000] [--rounds 3] [--no-record]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from harness import (  # noqa: E402
    BenchError,
    Measured,
    Run,
    bench_env,
    compare_several,
    log,
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
    parser.add_argument("--events", type=int, default=60_000, help="logins and audit events")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    with pg_workspace("aptien-bench-jobs-", "APTIEN_BENCH_JOBS_PW") as (tmp, server):
        config, _ = sandbox_on_postgresql(tmp / "sbx", server)
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

        ours = [
            Measured(f"jobs: backups of {args.tenants} tenants, 1 worker", lambda: workers(1)),
            Measured("jobs: the same, 2 workers", lambda: workers(2), target_ratio=None),
            Measured("jobs: the same, 4 workers", lambda: workers(4), target_ratio=None),
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
    return 0 if results[0].get("pass", True) else 1


if __name__ == "__main__":
    sys.exit(main())
