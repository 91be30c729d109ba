"""``aptien-ops --json tenant list`` on a 10,000-tenant catalog against the import floor.

Target: the command takes at most 1.5× ``python -c "import sqlalchemy, <driver>"`` (``sqlite3``
or ``psycopg``), measured alternately in the same run.

    .venv/bin/python bench/tenant_list.py --backend sqlite
    .venv/bin/python bench/tenant_list.py --backend postgresql --tenants 10000 --rounds 15

Prints one JSON object on stdout and updates ``docs/benchmarks.md``; exits 1 if the target is
missed.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

from catalog_seed import catalog_bench_arguments, catalog_workspace
from harness import BenchError, Run, compare

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
    args = catalog_bench_arguments(__doc__.splitlines()[0], sorted(DRIVERS), argv)
    with catalog_workspace(args.backend, args.tenants) as space:
        ours = [
            sys.executable,
            "-m",
            "aptien_ops",
            "--config",
            str(space.seeded.config),
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
            ours_run=Run(env=space.env, cwd=space.tmp, check_stdout=_expect_rows(args.tenants)),
            floor_run=Run(env=space.env, cwd=space.tmp),
            extra={"tenants": args.tenants, "setup_s": round(space.setup_s, 2)},
            record=not args.no_record,
        )
    return 0 if result["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
