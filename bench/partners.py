"""Partners: ``partner check --json`` against ``tenant list --json`` on the same catalog, and
``partner import`` of N partners against a bare ``executemany`` of the same rows.

Targets (issue 12): the check ≤ 2× the tenant list on 10,000 tenants, 500 partners and 5,000
assignments (both CLI processes, alternating); the import ≤ 3× the bare insert through the
same driver (both timed in this process; the tables are emptied, untimed, before each run).

    .venv/bin/python bench/partners.py --backend sqlite
    .venv/bin/python bench/partners.py --backend postgresql

Prints one JSON object per measurement and updates ``docs/benchmarks.md``; exits 1 if a
target is missed.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from catalog_seed import catalog_workspace
from harness import BenchError, Run, _summary, compare, log, machine, record_result

from aptien_ops.composition import open_console
from aptien_ops.domain import TenantState
from aptien_ops.domain.partners import (
    Agreement,
    AgreementStatus,
    Assignment,
    Coverage,
    Partner,
    PartnerKind,
    PartnerStatus,
)
from aptien_ops.partner_files import IMPORT_COLUMNS
from aptien_ops.sandbox import write_sandbox_config

CHECK_TARGET, IMPORT_TARGET = 2.0, 3.0
FAR = date(2099, 12, 31)
#: The bare inserts of the floor, per driver (``?`` for sqlite3, ``%s`` for psycopg).
FLOOR_SQL = {
    "sqlite": (
        (
            "INSERT INTO partners (name, legal_name, kinds, expertise, countries, regions, "
            "contact_name, contact_email, contact_phone, status, status_reason, review_due, "
            "created_at, created_by, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
            "?, ?, ?, ?, ?, ?, ?, ?)"
        ),
        (
            "INSERT INTO partner_agreements (partner, reference, signed_on, effective_from, "
            "expires_on, document_sha256, status, created_at, created_by) VALUES (?, ?, ?, ?,"
            " ?, ?, ?, ?, ?)"
        ),
    ),
    "postgresql": (
        (
            "INSERT INTO partners (name, legal_name, kinds, expertise, countries, regions, "
            "contact_name, contact_email, contact_phone, status, status_reason, review_due, "
            "created_at, created_by, updated_at, updated_by) VALUES (%s, %s, %s, %s, %s, %s, "
            "%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        ),
        (
            "INSERT INTO partner_agreements (partner, reference, signed_on, effective_from, "
            "expires_on, document_sha256, status, created_at, created_by) VALUES (%s, %s, %s,"
            " %s, %s, %s, %s, %s, %s)"
        ),
    ),
}
#: The columns of the floor's inserts, partners then agreements.
_COLUMNS = tuple(sql[sql.index("(") + 1 : sql.index(")")] for sql in FLOOR_SQL["sqlite"])
KINDS = (frozenset({PartnerKind.SALES}), frozenset({PartnerKind.EXPERT}), frozenset(PartnerKind))


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--tenants", type=int, default=10_000)
    parser.add_argument("--partners", type=int, default=500)
    parser.add_argument("--assignments", type=int, default=5_000)
    parser.add_argument("--import-rows", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--only", choices=("check", "import"))
    parser.add_argument("--no-record", action="store_true", help="do not touch docs/benchmarks.md")
    return parser.parse_args(argv)


def seed_partners(config: Path, partners: int, assignments: int) -> None:
    """``partners`` partners of both regions under an open-ended agreement, and
    ``assignments`` assignments of them to live tenants they fit (all in policy, so that
    ``partner check`` exits 0 after examining every one)."""
    console = open_console(config)
    try:
        now = datetime.now(UTC)
        regions = list(console.settings.regions)
        with console.ctx.catalog.transaction() as tx:
            live = [
                t
                for t in tx.tenants.all()
                if t.state in (TenantState.ACTIVE, TenantState.SUSPENDED)
            ]
            by_region: dict[str, list[Partner]] = {r: [] for r in regions}
            for i in range(partners):
                region = regions[i % len(regions)]
                p = Partner(
                    f"partner-{i:04d}",
                    f"Partner {i} Ltd",
                    KINDS[i % 3],
                    ("gdpr",),
                    Coverage(frozenset(), frozenset({region})),
                    f"Contact {i}",
                    f"contact{i}@partner-{i:04d}.example",
                    None,
                    PartnerStatus.ACTIVE,
                    None,
                    FAR,
                    now,
                    "bench",
                    now,
                    "bench",
                )
                by_region[region].append(p)
            for p in (p for group in by_region.values() for p in group):
                tx.partners.insert(p)
                tx.partners.add_agreement(
                    Agreement(
                        0,
                        p.name,
                        "PA-1",
                        date(2020, 1, 1),
                        date(2020, 1, 1),
                        None,
                        None,
                        AgreementStatus.ACTIVE,
                        now,
                        "bench",
                    )
                )
            made = 0
            for i in range(assignments):
                tenant = live[i % len(live)]
                pool = by_region[tenant.region]
                partner = pool[(i // len(live) + i) % len(pool)]
                role = next(iter(sorted(partner.kinds)))
                tx.partner_assignments.insert(
                    Assignment(0, partner.name, tenant.name, role, "bench", "bench", now)
                )
                made += 1
    finally:
        console.close()


def _check_report(expected: int) -> Callable[[bytes], None]:
    def check(stdout: bytes) -> None:
        report = json.loads(stdout)
        if report["open_assignments"] != expected or report["out_of_policy"]:
            raise BenchError(f"partner check examined {report['open_assignments']}, not {expected}")

    return check


def bench_check(args: argparse.Namespace, space: Any) -> dict[str, Any]:
    started = time.perf_counter()
    seed_partners(space.seeded.config, args.partners, args.assignments)
    log(
        f"seeded {args.partners} partners, {args.assignments} assignments in"
        f" {time.perf_counter() - started:.1f} s"
    )
    base = [sys.executable, "-m", "aptien_ops", "--config", str(space.seeded.config), "--json"]
    return compare(
        f"partner check --json, {args.partners} partners / {args.assignments} assignments",
        [*base, "partner", "check"],
        [*base, "tenant", "list"],
        rounds=args.rounds,
        target_ratio=CHECK_TARGET,
        backend=args.backend,
        ours_run=Run(env=space.env, cwd=space.tmp, check_stdout=_check_report(args.assignments)),
        floor_run=Run(env=space.env, cwd=space.tmp),
        extra={"tenants": args.tenants},
        record=not args.no_record,
    )


# -- import -----------------------------------------------------------------------------------


def _write_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(IMPORT_COLUMNS)
        for i in range(rows):
            out.writerow(
                [
                    f"import-{i:05d}",
                    f"Imported Partner {i} GmbH",
                    "sales;expert" if i % 3 else "sales",
                    "DE;AT;CH" if i % 2 else "eu",
                    "gdpr",
                    f"Contact {i}",
                    f"c{i}@import-{i:05d}.example",
                    "+49 30 1234567",
                    f"PA-{i}",
                    "2020-01-01",
                    "2020-01-02",
                    "2099-12-31",
                ]
            )


class ImportBench:
    """A fresh sandbox catalog on the same backend; our import through the service, the
    floor through the bare driver connection, the partner tables emptied between runs."""

    def __init__(self, space: Any, backend: str, rows: int) -> None:
        tmp = space.tmp / "import"
        config, _ = write_sandbox_config(tmp)
        self.url = f"sqlite:///{tmp}/catalog.db"
        if backend == "postgresql":
            server = space.seeded.pg_server
            self.url = server.url(server.fresh_database("imports"))
            text = config.read_text(encoding="utf-8").replace(
                'url = "sqlite:///{data_dir}/catalog.db"', f'url = "{self.url}"', 1
            )
            config.write_text(text, encoding="utf-8")
        self.backend = backend
        self.csv = tmp / "register.csv"
        _write_csv(self.csv, rows)
        self.console = open_console(config, env={"APTIEN_OPS_OPERATOR": "pat"})
        self.raw = self._connect()
        self.count = rows
        self.rows = self._rows()

    def _connect(self) -> Any:
        if self.backend == "sqlite":
            import sqlite3

            return sqlite3.connect(self.url.removeprefix("sqlite:///"))
        import psycopg

        return psycopg.connect(self.url.replace("postgresql+psycopg://", "postgresql://"))

    def _rows(self) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """The rows our import writes, as the driver gives them back after one import."""
        self.ours()
        cur = self.raw.cursor()
        cur.execute(f"SELECT {_COLUMNS[0]} FROM partners ORDER BY name")  # noqa: S608 - fixed
        partners = cur.fetchall()
        cur.execute(f"SELECT {_COLUMNS[1]} FROM partner_agreements ORDER BY partner")  # noqa: S608
        agreements = cur.fetchall()
        self.raw.commit()
        self.empty()
        return partners, agreements

    def empty(self) -> None:
        cur = self.raw.cursor()
        for table in ("partner_agreements", "partners"):
            cur.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
        self.raw.commit()

    def ours(self) -> None:
        diff = self.console.partners.import_csv(self.csv)
        if len(diff.added) != self.count:
            raise BenchError(f"the import added {len(diff.added)} partners")

    def floor(self) -> None:
        partners, agreements = self.rows
        cur = self.raw.cursor()
        statements = FLOOR_SQL[self.backend]
        cur.executemany(statements[0], partners)
        cur.executemany(statements[1], agreements)
        self.raw.commit()

    def close(self) -> None:
        self.raw.close()
        self.console.close()


def bench_import(args: argparse.Namespace, space: Any) -> dict[str, Any]:
    bench = ImportBench(space, args.backend, args.import_rows)
    try:
        times: dict[str, list[float]] = {"ours": [], "floor": []}
        for i in range(args.rounds + 1):
            order = ("ours", "floor") if i % 2 == 0 else ("floor", "ours")
            for which in order:
                bench.empty()
                started = time.perf_counter()
                getattr(bench, which)()
                if i > 0:  # the first round warms up
                    times[which].append(time.perf_counter() - started)
        bench.empty()
    finally:
        bench.close()
    ratio = statistics.median(times["ours"]) / statistics.median(times["floor"])
    result: dict[str, Any] = {
        "benchmark": f"partner import, {args.import_rows} partners vs bare executemany",
        "backend": args.backend,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "rounds": args.rounds,
        "warmup": 1,
        "ours": _summary(times["ours"]),
        "floor": _summary(times["floor"]),
        "ratio": round(ratio, 3),
        "ratio_of_minima": round(min(times["ours"]) / min(times["floor"]), 3),
        "target_ratio": IMPORT_TARGET,
        "pass": ratio <= IMPORT_TARGET,
        "machine": machine(),
        "rows": {"partners": len(bench.rows[0]), "agreements": len(bench.rows[1])},
    }
    print(json.dumps(result), flush=True)
    if not args.no_record:
        record_result(result)
    return result


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    results = []
    with catalog_workspace(args.backend, args.tenants) as space:
        if args.only in (None, "check"):
            results.append(bench_check(args, space))
        if args.only in (None, "import"):
            results.append(bench_import(args, space))
    return 0 if all(r["pass"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
