"""``aptien-ops --json tenant list`` on a 10,000-tenant catalog against the import floor.

Target: the command takes at most 1.5× ``python -c "import sqlalchemy, <driver>"`` (``sqlite3``
or ``psycopg``), measured alternately in the same run.

    .venv/bin/python bench/tenant_list.py --backend sqlite
    .venv/bin/python bench/tenant_list.py --backend postgresql --tenants 10000 --rounds 15

Prints one JSON object on stdout and updates ``docs/benchmarks.md``; exits 1 if the target is
missed.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from catalog_seed import seeded_catalog
from harness import BenchError, Run, bench_env, compare

DRIVERS = {"sqlite": "sqlite3", "postgresql": "psycopg"}
TARGET_RATIO = 1.5


def _expect_rows(count: int) -> Callable[[bytes], None]:
    def check(stdout: bytes) -> None:
        try:
            rows = json.loads(stdout)
        except ValueError as exc:
            raise BenchError(f"tenant list --json printed invalid JSON: {exc}") from None
        if not isinstance(rows, list) or len(rows) != count:
            got = len(rows) if isinstance(rows, list) else type(rows).__name__
            raise BenchError(f"tenant list --json gave {got} rows, expected {count}")

    return check


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=sorted(DRIVERS), default="sqlite")
    parser.add_argument("--tenants", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--no-record", action="store_true", help="do not touch docs/benchmarks.md")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="aptien-bench-") as tmp_name:
        tmp = Path(tmp_name)
        env = bench_env(tmp)
        started = time.perf_counter()
        with seeded_catalog(tmp, args.backend, args.tenants) as seeded:
            setup_s = time.perf_counter() - started
            print(
                f"set-up: {args.tenants} tenants on {args.backend} in {setup_s:.1f} s",
                file=sys.stderr,
            )
            ours = [
                sys.executable,
                "-m",
                "aptien_ops",
                "--config",
                str(seeded.config),
                "--json",
                "tenant",
                "list",
            ]
            floor = [sys.executable, "-c", f"import sqlalchemy, {DRIVERS[args.backend]}"]
            result = compare(
                "tenant list --json",
                ours,
                floor,
                rounds=args.rounds,
                warmup=1,
                target_ratio=TARGET_RATIO,
                backend=args.backend,
                ours_run=Run(env=env, cwd=tmp, check_stdout=_expect_rows(args.tenants)),
                floor_run=Run(env=env, cwd=tmp),
                extra={"tenants": args.tenants, "setup_s": round(setup_s, 2)},
                record=not args.no_record,
            )
    return 0 if result["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
