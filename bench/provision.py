"""Provisioning tenants on PostgreSQL: one tenant against bare psql, 200 tenants with 4 workers.

Issue 3's speed figures, in a sandbox whose eu cluster is a throwaway PostgreSQL server
(``tests/fleet_configs.sandbox_with_eu_on``; the catalog stays the sandbox's SQLite file).

``one``: provisioning one new tenant (country DE) takes at most 3× the floor, measured
alternately in the same run. Ours is measured twice, each against its own run of the floor:
as the service call ``console.provisioning.provision(...)`` on a console that is already open
(the operation; pass/fail and the exit status are judged on it) and as the CLI process
``aptien-ops --json tenant provision NAME --country DE`` (adds interpreter start and imports,
which ``tenant_list.py`` already measures against the import floor). The floor is what
provisioning does, done with the bare tool: ``psql`` running ``CREATE ROLE … LOGIN; CREATE
DATABASE … OWNER …``, then ``psql -d thatdb`` running the tenant schema's DDL (v1 and v2 of
``backends/tenant_schema.POSTGRESQL``) in one transaction after ``SET LOCAL ROLE`` to the
owner. Every round uses fresh names.

``parallel``: provisioning N tenants (200) on a fresh server and sandbox, with W worker
processes (4) started at once against 1 worker; each worker is ``provision.py worker``, a small
script that opens its own console and provisions its share (``--worker-kind cli`` instead runs
W lanes, each running ``aptien-ops tenant provision`` once per tenant of its share). Wall time
runs from starting the workers to the last one exiting; the result is checked (N active
tenants in the catalog, N tenant databases on the server). The issue sets no target: reported
are tenants per second and serial time / parallel time; the table row's ratio is parallel /
serial (≤ 1× means the workers help).

    .venv/bin/python bench/provision.py                      # both parts
    .venv/bin/python bench/provision.py one --rounds 15
    .venv/bin/python bench/provision.py parallel --tenants 200 --workers 4 [--repeat 1]

Prints one JSON object per measurement on stdout and updates ``docs/benchmarks.md``; exits 1 if
the one-tenant service call misses its target.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness import ROOT, BenchError, _summary, bench_env, compare, machine, record_result, start_pg
from psycopg import sql

from aptien_ops.backends.tenant_schema import POSTGRESQL
from aptien_ops.composition import open_console
from aptien_ops.domain import TenantState
from aptien_ops.services.provisioning import ProvisionRequest
from aptien_ops.tenant_schema import TENANT_SCHEMA_VERSION

TARGET_RATIO = 3.0
COUNTRY = "DE"  # eu: the region whose cluster is the PostgreSQL server
INSPECTOR_ENV = "APTIEN_TEST_INSPECTOR_PW"
#: v1 + v2 as the floor runs them: one script, one transaction.
TENANT_DDL = "".join(
    f"{statement};\n" for version in sorted(POSTGRESQL) for statement in POSTGRESQL[version]
)


def _aptien_ops() -> list[str]:
    script = Path(sys.executable).with_name("aptien-ops")
    return [str(script)] if script.exists() else [sys.executable, "-m", "aptien_ops"]


@contextmanager
def pg_sandbox(tmp: Path) -> Iterator[tuple[Path, Any]]:
    """A fresh PostgreSQL server and a sandbox under ``tmp`` whose eu cluster is that server.

    Raises: pg_fixtures.PgServerError if the server cannot start.
    """
    if str(ROOT / "tests") not in sys.path:
        sys.path.insert(0, str(ROOT / "tests"))
    import fleet_configs

    server = start_pg(tmp)
    try:
        yield fleet_configs.sandbox_with_eu_on("postgresql", tmp / "sandbox", server), server
    finally:
        server.stop()


# ----------------------------------------------------------------------------- one tenant


def psql_floor(server: Any) -> Callable[[], None]:
    """Each call: create role + database with one psql, then the tenant DDL with a second."""
    numbers = itertools.count(1)

    def floor() -> None:
        db = f"floor_{next(numbers):05d}"
        db_id, role_id = sql.Identifier(db), sql.Identifier(f"{db}_owner")
        server.psql(
            sql.SQL("CREATE ROLE {} LOGIN;\nCREATE DATABASE {} OWNER {};\n")
            .format(role_id, db_id, role_id)
            .as_string(None)
        )
        server.psql(
            sql.SQL("BEGIN;\nSET LOCAL ROLE {};\n").format(role_id).as_string(None)
            + TENANT_DDL
            + "COMMIT;\n",
            db,
        )

    return floor


def service_call(console: Any, prefix: str) -> Callable[[], None]:
    numbers = itertools.count(1)

    def ours() -> None:
        tenant = console.provisioning.provision(
            ProvisionRequest(f"{prefix}-{next(numbers):05d}", COUNTRY)
        )
        if tenant.state != TenantState.ACTIVE or tenant.schema_version != TENANT_SCHEMA_VERSION:
            raise BenchError(f"{tenant.name} ended {tenant.state}, schema {tenant.schema_version}")

    return ours


def provision_by_cli(config: Path, env: Mapping[str, str], cwd: Path, name: str) -> None:
    """Run ``aptien-ops --json tenant provision NAME --country DE`` to the end.

    Raises: BenchError if it failed or did not print an active tenant.
    """
    argv = [
        *_aptien_ops(),
        "--config",
        str(config),
        "--json",
        "tenant",
        "provision",
        name,
        "--country",
        COUNTRY,
    ]
    proc = subprocess.run(argv, capture_output=True, env=env, cwd=cwd, check=False)
    if proc.returncode != 0:
        raise BenchError(
            f"tenant provision {name} exited {proc.returncode}: {proc.stderr.decode()[-2000:]}"
        )
    if json.loads(proc.stdout).get("state") != "active":
        raise BenchError(f"tenant provision {name} printed {proc.stdout[:200]!r}")


def cli_call(config: Path, env: Mapping[str, str], cwd: Path, prefix: str) -> Callable[[], None]:
    numbers = itertools.count(1)
    return lambda: provision_by_cli(config, env, cwd, f"{prefix}-{next(numbers):05d}")


def bench_one(rounds: int, record: bool) -> bool:
    """Service call and CLI process, each against the psql floor. Returns: service call passed."""
    with (
        tempfile.TemporaryDirectory(prefix="aptien-bench-") as tmp_name,
        pg_sandbox(Path(tmp_name)) as (config, server),
    ):
        tmp = Path(tmp_name)
        env = bench_env(tmp, **{INSPECTOR_ENV: os.environ[INSPECTOR_ENV]})
        floor = psql_floor(server)
        extra = {
            "load_before": round(os.getloadavg()[0], 2),
            "floor_sql": "psql: CREATE ROLE + CREATE DATABASE; psql -d db: SET ROLE + v1+v2 DDL",
        }

        def against_floor(label: str, ours: Callable[[], None]) -> dict[str, Any]:
            return compare(
                label,
                ours,
                floor,
                rounds=rounds,
                target_ratio=TARGET_RATIO,
                backend="postgresql",
                extra=extra,
                record=record,
            )

        console = open_console(config, env=env)
        try:
            service = against_floor(
                "provision one tenant (service call)", service_call(console, "svc")
            )
        finally:
            console.close()
        extra["load_before"] = round(os.getloadavg()[0], 2)
        extra["ours_argv"] = [
            "aptien-ops",
            "--config",
            "…/ops.toml",
            "--json",
            "tenant",
            "provision",
            "cli-N",
            "--country",
            COUNTRY,
        ]
        against_floor("provision one tenant (CLI process)", cli_call(config, env, tmp, "cli"))
    return bool(service["pass"])


# ----------------------------------------------------------------------------- many tenants


def worker(config: Path, prefix: str, first: int, count: int) -> None:
    """``provision.py worker``: open a console, provision ``prefix-first`` … in turn, print
    timings."""
    started = time.perf_counter()
    console = open_console(config)
    opened = time.perf_counter()
    try:
        for i in range(first, first + count):
            console.provisioning.provision(ProvisionRequest(f"{prefix}-{i:05d}", COUNTRY))
    finally:
        console.close()
    print(
        json.dumps(
            {
                "open_s": round(opened - started, 3),
                "provision_s": round(time.perf_counter() - opened, 3),
            }
        )
    )


def _shares(tenants: int, workers: int) -> list[tuple[int, int]]:
    size, rest = divmod(tenants, workers)
    starts = [i * size + min(i, rest) for i in range(workers)]
    return [(start, size + (i < rest)) for i, start in enumerate(starts)]


def _run_workers(
    config: Path, env: Mapping[str, str], tmp: Path, prefix: str, tenants: int, workers: int
) -> list[dict[str, Any]]:
    shares = _shares(tenants, workers)
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "worker",
                str(config),
                prefix,
                str(first),
                str(count),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=tmp,
        )
        for first, count in shares
    ]
    outs = [(p, *p.communicate()) for p in procs]
    for proc, _, err in outs:
        if proc.returncode != 0:
            raise BenchError(f"a worker exited {proc.returncode}: {err.decode()[-2000:]}")
    return [json.loads(out) for _, out, _ in outs]


def _run_cli_lanes(
    config: Path, env: Mapping[str, str], tmp: Path, prefix: str, tenants: int, workers: int
) -> list[dict[str, Any]]:
    failures: list[BaseException] = []

    def lane(first: int, count: int) -> None:
        try:
            for i in range(first, first + count):
                provision_by_cli(config, env, tmp, f"{prefix}-{i:05d}")
        except BenchError as exc:
            failures.append(exc)

    threads = [threading.Thread(target=lane, args=share) for share in _shares(tenants, workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return []


def provision_many(tmp: Path, tenants: int, workers: int, kind: str) -> dict[str, Any]:
    """Provision ``tenants`` with ``workers`` on a fresh server and sandbox; wall time and checks.

    Raises: BenchError if a worker failed or the result is not ``tenants`` active tenants.
    """
    with pg_sandbox(tmp) as (config, server):
        env = bench_env(tmp, **{INSPECTOR_ENV: os.environ[INSPECTOR_ENV]})
        # The catalog, operators and region key exist before timing, as on a running fleet (and
        # workers racing to create a fresh sandbox's region key is a first-use race, not load).
        console = open_console(config, env=env)
        try:
            console.ctx.sealer("eu")
        finally:
            console.close()
        load = os.getloadavg()[0]
        run = _run_workers if kind == "console" else _run_cli_lanes
        started = time.perf_counter()
        reports = run(config, env, tmp, f"w{workers}", tenants, workers)
        wall = time.perf_counter() - started
        console = open_console(config, env=env)
        try:
            active = len(console.tenants.list(state="active"))
        finally:
            console.close()
        databases = int(
            server.psql(r"SELECT count(*) FROM pg_database WHERE datname LIKE 'tenant\_%'").strip()
        )
    if active != tenants or databases != tenants:
        raise BenchError(
            f"{workers} worker(s): {active} active tenants and {databases} databases,"
            f" expected {tenants}"
        )
    print(
        f"{workers} worker(s): {tenants} tenants in {wall:.1f} s ({tenants / wall:.2f}/s),"
        f" load {load:.1f}",
        file=sys.stderr,
    )
    return {"wall_s": wall, "load_before": load, "workers": reports}


def bench_parallel(tenants: int, workers: int, repeat: int, kind: str, record: bool) -> None:
    """Serial and parallel runs alternately (serial first, then the order flips), each on a
    fresh server."""
    times: dict[int, list[float]] = {1: [], workers: []}
    details: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="aptien-bench-") as tmp_name:
        for i in range(repeat):
            for count in (1, workers) if i % 2 == 0 else (workers, 1):
                run = provision_many(Path(tmp_name) / f"run{i}-w{count}", tenants, count, kind)
                times[count].append(run["wall_s"])
                details.append(
                    {
                        "workers": count,
                        "wall_s": round(run["wall_s"], 2),
                        "load_before": round(run["load_before"], 2),
                        "worker_reports": run["workers"],
                    }
                )
    serial, parallel = statistics.median(times[1]), statistics.median(times[workers])
    result: dict[str, Any] = {
        "benchmark": f"provision {tenants} tenants, {workers} workers vs 1"
        + (" (CLI per tenant)" if kind == "cli" else ""),
        "backend": "postgresql",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "rounds": repeat,
        "warmup": 0,
        "ours": _summary(times[workers]),
        "floor": _summary(times[1]),
        "ratio": round(parallel / serial, 3),
        "ratio_of_minima": round(min(times[workers]) / min(times[1]), 3),
        "target_ratio": 1.0,
        "pass": parallel <= serial,
        "machine": machine(),
        "worker_kind": kind,
        "tenants_per_s_serial": round(tenants / serial, 2),
        "tenants_per_s_parallel": round(tenants / parallel, 2),
        "speedup_serial_over_parallel": round(serial / parallel, 2),
        "runs": details,
    }
    print(json.dumps(result), flush=True)
    if record:
        record_result(result)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "part", nargs="?", choices=("all", "one", "parallel", "worker"), default="all"
    )
    parser.add_argument("worker_args", nargs="*", help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=15, help="one: rounds of each side")
    parser.add_argument("--tenants", type=int, default=200, help="parallel: tenants per run")
    parser.add_argument("--workers", type=int, default=4, help="parallel: concurrent workers")
    parser.add_argument(
        "--repeat", type=int, default=1, help="parallel: runs of each (serial, parallel)"
    )
    parser.add_argument("--worker-kind", choices=("console", "cli"), default="console")
    parser.add_argument("--no-record", action="store_true", help="do not touch docs/benchmarks.md")
    args = parser.parse_args(argv)
    if args.part == "worker":
        config, prefix, first, count = args.worker_args
        worker(Path(config), prefix, int(first), int(count))
        return 0
    # The region's inspector role needs a password; it lives only in this run's environment.
    os.environ.setdefault(INSPECTOR_ENV, secrets.token_urlsafe(24))
    passed = True
    if args.part in ("all", "one"):
        passed = bench_one(args.rounds, not args.no_record)
    if args.part in ("all", "parallel"):
        bench_parallel(
            args.tenants, args.workers, args.repeat, args.worker_kind, not args.no_record
        )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
