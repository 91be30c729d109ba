"""fleet check on 1,000 PostgreSQL tenants against one psql query listing databases and roles.

Issue 11's figure, in a sandbox whose eu cluster is a throwaway PostgreSQL server
(``provision.pg_sandbox``; the catalog stays the sandbox's SQLite file). The fleet is made
with the bare tools, as provisioning leaves it, so that building it takes a minute, not an
hour: N tenant rows in the catalog (the catalog adapter's ``insert``; active, with a tail of
suspended and cancelled ones) and, on the server, per tenant its owner role (NOLOGIN for the
suspended and cancelled), its database owned by that role with CONNECT taken from PUBLIC and
given to the region's inspector, and the comment that records its schema version. The check
is judged on that fleet having no drift.

Ours, measured alternately with the floor in one run (``compare_several``):

- the service call ``console.fleet.check()`` on a console that is already open, as the
  sandbox's admin, so that it also sweeps scratch copies and runs ``backup reconcile`` of
  both regions (three ops-log entries per check; the stores hold no backups) — judged: at
  most 3× the floor;
- the CLI process ``aptien-ops --json fleet check`` (adds interpreter start and imports, which
  ``tenant_list.py`` measures against the import floor) — reported.

Floor: one ``psql`` run of ``SELECT d.datname, o.rolname, o.rolcanlogin FROM pg_database d
LEFT JOIN pg_roles o ON o.oid = d.datdba``: the cluster's databases with their owner roles and
login flags, the least a check of the cluster can read.

    .venv/bin/python bench/fleet_check.py [--tenants 1000] [--rounds 15] [--no-record]

Prints one JSON object per measurement on stdout and updates ``docs/benchmarks.md``; exits 1 if
the service call misses its target.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
from harness import BenchError, Measured, Run, bench_env, compare_several
from provision import INSPECTOR_ENV, _aptien_ops, pg_sandbox
from psycopg import sql

from aptien_ops.backends.tenant_schema import version_comment
from aptien_ops.composition import Console, open_console
from aptien_ops.domain import Tenant, TenantState, utcnow
from aptien_ops.tenant_schema import TENANT_SCHEMA_VERSION

TARGET_RATIO = 3.0
FLOOR_SQL = (
    "SELECT d.datname, o.rolname, o.rolcanlogin FROM pg_database d"
    " LEFT JOIN pg_roles o ON o.oid = d.datdba"
)
#: One in twenty suspended, one in twenty cancelled (still retained); the rest active.
STATES = [TenantState.ACTIVE] * 18 + [TenantState.SUSPENDED, TenantState.CANCELLED]


def build_fleet(console: Console, server: Any, tenants: int) -> None:
    """``tenants`` tenants on the eu cluster, in the catalog and on the server, as provisioning
    leaves them. Raises: psycopg.Error, OpsError."""
    region = console.settings.regions["eu"]
    cluster = region.clusters[0].name
    inspector = sql.Identifier(region.inspector_role)
    now = utcnow()
    rows = []
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(inspector))
        for i in range(tenants):
            name, state = f"fleet-{i:05d}", STATES[i % len(STATES)]
            db, role = sql.Identifier(f"tenant_{name}"), sql.Identifier(f"tenant_{name}_owner")
            login = sql.SQL("LOGIN" if state == TenantState.ACTIVE else "NOLOGIN")
            conn.execute(sql.SQL("CREATE ROLE {} {}").format(role, login))
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(db, role))
            conn.execute(sql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(db))
            conn.execute(
                sql.SQL("GRANT CONNECT ON DATABASE {} TO {}, {}").format(db, role, inspector)
            )
            conn.execute(
                sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                    db, sql.Literal(version_comment(TENANT_SCHEMA_VERSION))
                )
            )
            retain = now + timedelta(days=30) if state == TenantState.CANCELLED else None
            rows.append(
                Tenant(
                    name, "DE", "eu", cluster, state, None, None, now, now,
                    schema_version=TENANT_SCHEMA_VERSION, retain_until=retain,
                )
            )  # fmt: skip
    with console.ctx.catalog.transaction() as tx:
        for tenant in rows:
            tx.tenants.insert(tenant)


def checked(console: Console) -> None:
    """One ``fleet check``; a fleet with drift would measure something else."""
    report = console.fleet.check()
    if report.findings:
        raise BenchError(f"{len(report.findings)} findings, first {report.findings[0]}")


def cli_output(stdout: bytes) -> None:
    if json.loads(stdout) != []:
        raise BenchError(f"fleet check printed {stdout[:300]!r}")


def bench(tenants: int, rounds: int, record: bool) -> bool:
    """Returns: the service call met its target."""
    with (
        tempfile.TemporaryDirectory(prefix="aptien-bench-") as tmp_name,
        pg_sandbox(Path(tmp_name)) as (config, server),
    ):
        tmp = Path(tmp_name)
        env = bench_env(tmp, **{INSPECTOR_ENV: os.environ[INSPECTOR_ENV]})
        console = open_console(config, env=env)
        try:
            started = time.perf_counter()
            build_fleet(console, server, tenants)
            built = round(time.perf_counter() - started, 1)
            argv = [*_aptien_ops(), "--config", str(config), "--json", "fleet", "check"]
            results = compare_several(
                [
                    Measured(
                        f"fleet check, {tenants} tenants (service call)",
                        lambda: checked(console),
                        target_ratio=TARGET_RATIO,
                    ),
                    Measured(
                        f"fleet check, {tenants} tenants (CLI process)",
                        argv,
                        Run(env=env, cwd=tmp, check_stdout=cli_output),
                        target_ratio=None,
                    ),
                ],
                lambda: server.psql(FLOOR_SQL),
                rounds=rounds,
                backend="postgresql",
                extra={"floor_sql": FLOOR_SQL, "fleet_built_s": built, "tenants": tenants},
                record=record,
            )
        finally:
            console.close()
    return bool(results[0]["pass"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--no-record", action="store_true", help="do not touch docs/benchmarks.md")
    args = parser.parse_args(argv)
    os.environ.setdefault(INSPECTOR_ENV, secrets.token_urlsafe(24))
    return 0 if bench(args.tenants, args.rounds, not args.no_record) else 1


if __name__ == "__main__":
    sys.exit(main())
