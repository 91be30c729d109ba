"""A sandbox catalog with N tenants, built with the project's own code, for the benchmarks.

The catalog is created by ``open_console`` (schema, ops-log key, operators) and filled through
the catalog adapter's ``insert_tenant``; no tenant databases are created, as listing and the
dashboard read the catalog only. Nothing here is committed: it all lives in a temp dir.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from harness import bench_env, start_pg

from aptien_ops.composition import open_console
from aptien_ops.domain import Tenant, TenantState, utcnow
from aptien_ops.regions import RegionResolver, countries
from aptien_ops.sandbox import write_sandbox_config

SQLITE_CATALOG_URL = 'url = "sqlite:///{data_dir}/catalog.db"'
#: Most tenants live; a realistic tail of the other states.
STATE_CYCLE = (
    [TenantState.ACTIVE] * 14
    + [TenantState.SUSPENDED] * 2
    + [TenantState.CANCELLED, TenantState.PURGED, TenantState.PROVISIONING]
)
FIRST_NAMES = (
    "Greta",
    "Ola",
    "Wanjiru",
    "Omar",
    "Elif",
    "Chidi",
    "Chloe",
    "Jordan",
    "Ana",
    "Haruto",
)
LAST_NAMES = (
    "Vogel",
    "Nordmann",
    "Kamau",
    "Farouk",
    "Yilmaz",
    "Okafor",
    "Tremblay",
    "Lee",
    "Souza",
    "Sato",
)


@dataclass
class SeededCatalog:
    config: Path
    """The sandbox's ops.toml."""
    backend: str
    tenants: int
    pg_server: Any = None
    """The PostgreSQL server (tests/pg_fixtures.PgServer) for ``backend == "postgresql"``."""


@contextmanager
def seeded_catalog(tmp: Path, backend: str, tenants: int) -> Iterator[SeededCatalog]:
    """A sandbox under ``tmp`` whose catalog (SQLite or PostgreSQL) holds ``tenants`` rows.

    Raises:
        ValueError: unknown backend.
        pg_fixtures.PgServerError: the PostgreSQL server could not start.
        OpsError: the console could not open or fill the catalog.
    """
    if backend not in ("sqlite", "postgresql"):
        raise ValueError(f"unknown backend {backend!r}: sqlite or postgresql")
    server = start_pg(tmp) if backend == "postgresql" else None
    try:
        config, _ = write_sandbox_config(tmp / "sandbox")
        if server is not None:
            url = server.url(server.fresh_database("catalog"))
            text = config.read_text(encoding="utf-8")
            if SQLITE_CATALOG_URL not in text:
                raise ValueError(f"{config}: no {SQLITE_CATALOG_URL!r} line to point at PostgreSQL")
            config.write_text(
                text.replace(SQLITE_CATALOG_URL, f'url = "{url}"', 1), encoding="utf-8"
            )
        fill(config, tenants)
        yield SeededCatalog(config, backend, tenants, server)
    finally:
        if server is not None:
            server.stop()


def catalog_bench_arguments(
    description: str,
    backends: Sequence[str],
    argv: list[str] | None,
    rounds: int = 15,
    more: Callable[[argparse.ArgumentParser], None] | None = None,
) -> argparse.Namespace:
    """The options of a benchmark on a big catalog: ``--backend``, ``--tenants`` (10,000),
    ``--rounds`` (``rounds``) and ``--no-record``; ``more`` adds the benchmark's own."""
    parser = argparse.ArgumentParser(description=description)
    if more is not None:
        more(parser)
    parser.add_argument("--backend", choices=backends, default="sqlite")
    parser.add_argument("--tenants", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=rounds)
    parser.add_argument("--no-record", action="store_true", help="do not touch docs/benchmarks.md")
    return parser.parse_args(argv)


@dataclass(frozen=True)
class Workspace:
    """Where a catalog benchmark runs: a temp dir, the environment both sides run with
    (``harness.bench_env``), the seeded catalog, and how long seeding it took."""

    tmp: Path
    env: dict[str, str]
    seeded: SeededCatalog
    setup_s: float


@contextmanager
def catalog_workspace(backend: str, tenants: int) -> Iterator[Workspace]:
    """A :class:`Workspace` with a catalog of ``tenants`` tenants on ``backend`` (the set-up
    time said on stderr); everything is removed at the end. Raises: as :func:`seeded_catalog`."""
    with tempfile.TemporaryDirectory(prefix="aptien-bench-") as tmp_name:
        tmp = Path(tmp_name)
        env = bench_env(tmp)
        started = time.perf_counter()
        with seeded_catalog(tmp, backend, tenants) as seeded:
            setup_s = time.perf_counter() - started
            print(f"set-up: {tenants} tenants on {backend} in {setup_s:.1f} s", file=sys.stderr)
            yield Workspace(tmp, env, seeded, setup_s)


def fill(config: Path, tenants: int) -> None:
    """Open the console on ``config`` (creating the catalog) and insert ``tenants`` tenants,
    spread over real countries, their regions, every configured cluster and all states.

    Raises:
        OpsError: from opening the console or inserting (Conflict if names exist already).
    """
    console = open_console(config)
    try:
        settings = console.settings
        resolver = RegionResolver.from_settings(settings)
        placeable = [
            (c.alpha2, r) for c in countries() if (r := _region_of(resolver, c.alpha2)) is not None
        ]
        clusters = {name: [c.name for c in r.clusters] for name, r in settings.regions.items()}
        now = utcnow()
        for region in settings.regions:
            # The region keys, as provisioning makes them before a region's first tenant: a
            # benchmark that provisions real tenants later needs them.
            console.ctx.sealer(region)
        with console.ctx.catalog.transaction() as tx:
            for i in range(tenants):
                country, region = placeable[i % len(placeable)]
                state = STATE_CYCLE[i % len(STATE_CYCLE)]
                pool = clusters[region]
                first, last = FIRST_NAMES[i % 10], LAST_NAMES[(i // 10) % 10]
                created = now - timedelta(minutes=tenants - i, microseconds=i % 7 * 1000)
                tx.tenants.insert(
                    Tenant(
                        name=f"tenant-{i:05d}",
                        country=country,
                        region=region,
                        cluster=None if state is TenantState.PURGED else pool[i % len(pool)],
                        state=state,
                        contact_name=f"{first} {last}" if i % 5 else None,
                        contact_email=f"{first.lower()}.{last.lower()}@tenant-{i:05d}.example"
                        if i % 5
                        else None,
                        created_at=created,
                        updated_at=created + timedelta(seconds=i % 3600),
                    )
                )
    finally:
        console.close()


def fill_backups(config: Path, per_tenant: int = 1) -> int:
    """Index ``per_tenant`` backups of every tenant that is backed up (live, suspended or
    cancelled, with a cluster) in the catalog, hourly apart and ending an hour ago; returns how
    many. Only the catalog's index is written (no files in the stores): the backups screen and
    ``backup list`` then report them as missing from the store, which is all a benchmark of the
    screen needs.

    Raises:
        OpsError: from opening the console or inserting.
    """
    from aptien_ops.backup_policy import BackupRecord
    from aptien_ops.domain import BackupManifest
    from aptien_ops.services.backups import BACKED_UP_STATES

    console = open_console(config)
    added = 0
    try:
        for region in console.settings.regions:
            console.backups.repository(region)  # its signing key, made while nothing needs it
        now = utcnow().replace(microsecond=0)
        with console.ctx.catalog.transaction() as tx:
            for i, tenant in enumerate(tx.tenants.all()):
                if tenant.state not in BACKED_UP_STATES or not tenant.cluster:
                    continue
                for k in range(per_tenant):
                    at = now - timedelta(hours=1 + k, seconds=i % 3600)
                    backup_id = f"bk-{at:%Y%m%dT%H%M%S}Z-{(i * per_tenant + k) % 0xFFFFFF:06x}"
                    manifest = BackupManifest(
                        backup_id=backup_id,
                        tenant=tenant.name,
                        region=tenant.region,
                        cluster=tenant.cluster,
                        database=tenant.name,
                        kind="sqlite",
                        server_version="3",
                        dump_tool="sqlite3 backup",
                        snapshot=None,
                        started_at=at.isoformat(),
                        finished_at=at.isoformat(),
                        plaintext_size=100_000 + i,
                        ciphertext_size=40_000 + i,
                        plaintext_sha256="0" * 64,
                        ciphertext_sha256="1" * 64,
                        recipient_fingerprint="bench",
                        row_counts={"employees": i % 100},
                        archive_list_sha256=None,
                    )
                    tx.backups.insert(BackupRecord.from_manifest(manifest))
                    added += 1
    finally:
        console.close()
    return added


def _region_of(resolver: RegionResolver, code: str) -> str | None:
    from aptien_ops.errors import OpsError

    try:
        return resolver.resolve(code).region
    except OpsError:
        return None
