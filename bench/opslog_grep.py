"""``aptien-ops --json ops-log list --grep TEXT`` over a 100,000-entry ops log against the same
query written by hand and run through the same driver.

TEXT is held by a handful of entries spread over the log, so the catalog reads every entry:
the worst case of a search (a text most entries hold stops after the first page). Two pairs
run in the same process, each alternating ours and its floor, several rounds:

- the command line: ``python -m aptien_ops --json ops-log list --grep TEXT`` (checked once:
  the expected entries) against ``python -c`` that connects with the driver (``sqlite3`` or
  ``psycopg``), runs :data:`QUERY` and prints the rows as JSON (reported; the floor does not
  import SQLAlchemy, click or the console: what is left is start-up, see tenant_list.py);
- in this process: ``console.opslog.list(grep=TEXT)`` (authorised, through SQLAlchemy) against
  :data:`QUERY` on a plain driver connection (target ≤ 1.5×: the search itself costs what
  the hand-written query costs).

    .venv/bin/python bench/opslog_grep.py --backend sqlite
    .venv/bin/python bench/opslog_grep.py --backend postgresql [--entries 100000] [--rounds 9]

Prints one JSON object per pair on stdout and updates ``docs/benchmarks.md``; exits 1 if the
target is missed.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from catalog_seed import catalog_workspace
from harness import BenchError, Measured, Run, compare_several

from aptien_ops.composition import open_console
from aptien_ops.config import load_settings
from aptien_ops.opslog import Event

#: The text searched for, and every how many entries one holds it.
NEEDLE, EVERY = "Needle-Acme", 20_000
#: The ops log's row as the lists show it, searched as backends/sql_catalog/text_filter.py
#: does, written by hand (the same SQL on SQLite and PostgreSQL).
SHOWN = (
    "CAST(seq AS TEXT)",
    "replace(substr(at, 1, 16), 'T', ' ')",
    "operator",
    "action",
    "outcome",
    "target",
    "CAST(approval_id AS TEXT)",
)
PLACEHOLDER = {"sqlite": "?", "postgresql": "%s"}
LIMIT = 50


def query(backend: str) -> str:
    p = PLACEHOLDER[backend]
    where = " OR ".join(f"lower({c}) LIKE lower({p}) ESCAPE '\\'" for c in SHOWN)
    # Built from the constants above only; the text searched for is a bound parameter.
    return f"SELECT * FROM opslog WHERE {where} ORDER BY seq DESC LIMIT {LIMIT}"  # noqa: S608


def pattern() -> str:
    return f"%{NEEDLE}%"  # the needle holds no LIKE metacharacter to escape


def fill_log(config: Path, entries: int) -> None:
    """Append ``entries`` chained entries with the console's own code (ten transactions)."""
    console = open_console(config)
    try:
        done = 0
        while done < entries:
            with console.ctx.catalog.transaction() as tx:
                for i in range(done, min(entries, done + 10_000)):
                    target = f"{NEEDLE}-{i}" if i % EVERY == EVERY // 2 else f"tenant-{i % 997:04d}"
                    event = Event("tenant.suspend", target, {"reason": "benchmark"}, "ok")
                    console.ctx.append(tx, event)
            done = min(entries, done + 10_000)
    finally:
        console.close()


def connector(config: Path, backend: str, server: Any) -> tuple[str, str]:
    """The driver module and the argument of its ``connect`` for the catalog."""
    from sqlalchemy.engine import make_url

    url = make_url(load_settings(config).catalog.url)
    if backend == "sqlite":
        return "sqlite3", str(url.database)
    return "psycopg", server.conninfo(str(url.database))


def floor_program(driver: str, target: str, sql: str) -> str:
    return (
        f"import json, {driver}\n"
        f"conn = {driver}.connect({target!r})\n"
        f"cur = conn.execute({sql!r}, ({pattern()!r},) * {len(SHOWN)})\n"
        "names = [d[0] for d in cur.description]\n"
        "print(json.dumps([dict(zip(names, row)) for row in cur.fetchall()]))\n"
    )


def expect(count: int) -> Callable[[bytes], None]:
    def check(stdout: bytes) -> None:
        rows = json.loads(stdout)
        if len(rows) != count or not all(NEEDLE in r["target"] for r in rows):
            raise BenchError(f"expected {count} entries holding {NEEDLE}, got {len(rows)}")

    return check


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=sorted(PLACEHOLDER), default="sqlite")
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--no-record", action="store_true", help="do not touch docs/benchmarks.md")
    args = parser.parse_args(argv)
    found = len([i for i in range(args.entries) if i % EVERY == EVERY // 2])
    with catalog_workspace(args.backend, 10) as space:
        config = space.seeded.config
        started = time.perf_counter()
        fill_log(config, args.entries)
        print(
            f"set-up: {args.entries} entries in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
        driver, target = connector(config, args.backend, space.seeded.pg_server)
        sql = query(args.backend)
        extra = {"entries": args.entries, "matches": found, "needle": NEEDLE}
        cli = [sys.executable, "-m", "aptien_ops", "--config", str(config), "--json"]
        cli += ["ops-log", "list", "--grep", NEEDLE]
        compare_several(
            [
                Measured(
                    "ops-log list --grep (process)",
                    cli,
                    Run(space.env, space.tmp, expect(found)),
                    None,
                )
            ],
            [sys.executable, "-c", floor_program(driver, target, sql)],
            rounds=args.rounds,
            backend=args.backend,
            floor_run=Run(space.env, space.tmp, expect(found)),
            extra=extra,
            record=not args.no_record,
        )
        console = open_console(config)
        raw = sqlite3.connect(target) if driver == "sqlite3" else _psycopg(target)
        try:
            params = (pattern(),) * len(SHOWN)

            def ours() -> None:
                if len(console.opslog.list(LIMIT, grep=NEEDLE)) != found:
                    raise BenchError("the service found other entries")

            def floor() -> None:
                if len(raw.execute(sql, params).fetchall()) != found:
                    raise BenchError("the hand-written query found other entries")

            [result] = compare_several(
                [Measured("ops-log grep (in process)", ours, target_ratio=1.5)],
                floor,
                rounds=args.rounds,
                backend=args.backend,
                extra=extra,
                record=not args.no_record,
            )
        finally:
            raw.close()
            console.close()
    return 0 if result["pass"] else 1


def _psycopg(conninfo: str) -> Any:
    import psycopg

    return psycopg.connect(conninfo, autocommit=True)


if __name__ == "__main__":
    sys.exit(main())
