"""The backup tests' world: one region with one cluster of a kind (SQLite files or the suite's
PostgreSQL server), its backup store, and a tenant's age key pair; as the fixtures ``site``
(both kinds) and ``pg_site`` (PostgreSQL only), which conftest.py makes available."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from waiting import until

from aptien_ops.backends.age_keys import AgeBackupKeys
from aptien_ops.backends.backup_repository import FsBackupRepository
from aptien_ops.backends.postgres_tenants import PostgresTenantStore
from aptien_ops.backends.sandbox_platform import seed_tenant
from aptien_ops.backends.sqlite_tenants import SqliteTenantStore
from aptien_ops.config import ClusterSettings, RegionSettings
from aptien_ops.domain import BackupManifest

NOW = datetime(2026, 3, 18, 15, 30, 12, tzinfo=UTC)
SMALL = {"users": 40, "logins": 1_000, "audit_events": 2_000}


@dataclass
class Site:
    """One region with one cluster of a kind, its backup store, and a tenant's age key pair."""

    kind: str
    cluster: ClusterSettings
    region: RegionSettings
    store: Any
    base: Path
    recipient: str
    identity: str
    passwords: dict[str, str] = field(default_factory=dict)

    def repo(self, *, create: bool = True) -> FsBackupRepository:
        return FsBackupRepository(self.region, create=create)

    def provision(self, tenant: str, *, marker: str | None = None, **counts: int) -> str:
        self.passwords[tenant] = secrets.token_urlsafe(18)
        self.store.create_database(tenant, self.passwords[tenant])
        self.store.apply_schema(tenant, 2, region=self.region.name)
        with self.store.connect_as_owner(tenant, self.passwords[tenant]) as conn:
            seed_tenant(
                conn,
                self.kind,
                tenant,
                **{**SMALL, **counts},
                seed=3,
                key_dir=self.base / "platform-keys",
                now=NOW,
                marker=marker,
            )
        return tenant

    def backup(self, tenant: str, backup_id: str | None = None) -> BackupManifest:
        return self.repo().create(
            tenant, self.cluster, self.recipient, backup_id or f"bk-{secrets.token_hex(4)}"
        )

    def counts(self, tenant: str) -> dict[str, int]:
        tables = ("audit_events", "login_events", "messages", "records", "tenant_meta", "users")
        with self.store.connect(tenant) as conn:
            return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}

    def files(self, tenant: str) -> list[str]:
        directory = self.region.backup_store / tenant
        return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def make_site(kind: str, base: Path, cluster: ClusterSettings | None = None) -> Site:
    if kind == "sqlite":
        cluster = ClusterSettings("eu-files", "sqlite", f"sqlite:///{base}/cluster", 100)
        store: Any = SqliteTenantStore(cluster)
    else:
        assert cluster is not None
        store = PostgresTenantStore(cluster)
    region = RegionSettings(
        "eu",
        "EEA",
        base / "store-eu",
        (cluster,),
        base / "keys" / "region-eu.key",
        "aptien_inspector_eu",
    )
    recipient, identity = AgeBackupKeys().generate()
    return Site(kind, cluster, region, store, base, recipient, identity)


def _site(kind: str, base: Path, cluster: ClusterSettings | None) -> Iterator[Site]:
    under_test = make_site(kind, base, cluster)
    yield under_test
    for tenant in under_test.passwords:
        under_test.store.drop_database(tenant)
    under_test.store.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Site]:
    """A site of each kind; the tenants it provisioned are dropped afterwards."""
    cluster = (
        request.getfixturevalue("pg_cluster_settings") if request.param == "postgresql" else None
    )
    yield from _site(request.param, tmp_path, cluster)


@pytest.fixture
def pg_site(pg_cluster_settings: ClusterSettings, tmp_path: Path) -> Iterator[Site]:
    """A PostgreSQL site only (for tests of what only a server does)."""
    yield from _site("postgresql", tmp_path, pg_cluster_settings)


def wait_for_partial(directory: Path, at_least: int) -> Path:
    """A backup's partial data file in ``directory`` once it holds ``at_least`` bytes (a
    backup under way, for a test to kill)."""

    def grown() -> Path | None:
        for path in directory.glob("*.dump.zst.age.partial") if directory.exists() else ():
            try:
                if path.stat().st_size >= at_least:
                    return path
            except FileNotFoundError:
                continue
        return None

    return until(grown, f"a partial of {at_least} bytes in {directory}")
