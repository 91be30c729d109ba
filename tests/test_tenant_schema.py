"""The versioned tenant schema on SQLite and a real PostgreSQL server: steps, reruns, crashes."""

from __future__ import annotations

import re
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from waiting import HANG_GUARD_S

from aptien_ops.backends import tenant_schema
from aptien_ops.backends.postgres_tenants import PostgresTenantStore
from aptien_ops.backends.sqlite_tenants import SqliteTenantStore
from aptien_ops.config import ClusterSettings
from aptien_ops.errors import Conflict, IntegrityFailure, InvalidInput, NotFound, OpsError
from aptien_ops.tenant_schema import (
    DATASHEETS,
    METADATA_COLUMNS,
    PAYLOAD_COLUMNS,
    TENANT_SCHEMA_VERSION,
)

Store = PostgresTenantStore | SqliteTenantStore
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
V2_INDEXES = {"login_events_ip_at", "audit_events_datasheet_at", "audit_events_record_at"}


@dataclass
class Cluster:
    kind: str
    store: Store
    settings: ClusterSettings


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cluster]:
    if request.param == "sqlite":
        settings = ClusterSettings(
            "sqlite-schema", "sqlite", f"sqlite:///{tmp_path / 'cluster'}", 100
        )
        store: Store = SqliteTenantStore(settings)
    else:
        settings = request.getfixturevalue("pg_cluster_settings")
        store = PostgresTenantStore(settings)
    yield Cluster(request.param, store, settings)
    store.close()


@pytest.fixture
def make_tenant(cluster: Cluster) -> Iterator[Any]:
    made: list[str] = []

    def make() -> str:
        name = f"t-{secrets.token_hex(6)}"
        cluster.store.create_database(name, secrets.token_urlsafe(24))
        made.append(name)
        return name

    yield make
    for name in made:
        cluster.store.drop_database(name)


def describe(cluster: Cluster, tenant: str) -> dict[str, list[tuple[Any, ...]]]:
    """Tables, columns, constraints and indexes as the database itself reports them."""
    with cluster.store.connect(tenant) as conn:
        if cluster.kind == "sqlite":
            rows = conn.execute(
                "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
            )
            return {"objects": [tuple(r) for r in rows.fetchall()]}
        queries = {
            "columns": "SELECT table_name, column_name, data_type, is_nullable, column_default,"
            " is_identity FROM information_schema.columns WHERE table_schema = 'public'"
            " ORDER BY 1, ordinal_position",
            "constraints": "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)"
            " FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2",
            "indexes": "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
            " ORDER BY 1",
        }
        return {key: [tuple(r) for r in conn.execute(q).fetchall()] for key, q in queries.items()}


def index_names(cluster: Cluster, tenant: str) -> set[str]:
    with cluster.store.connect(tenant) as conn:
        query = (
            "SELECT name FROM sqlite_master WHERE type = 'index'"
            if cluster.kind == "sqlite"
            else "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'"
        )
        return {row[0] for row in conn.execute(query).fetchall()}


def meta(cluster: Cluster, tenant: str) -> dict[str, str]:
    with cluster.store.connect(tenant) as conn:
        return dict(conn.execute("SELECT key, value FROM tenant_meta").fetchall())


def test_the_newest_schema_is_the_version_the_console_expects_in_both_dialects() -> None:
    assert tenant_schema.LATEST == TENANT_SCHEMA_VERSION
    for dialect in ("postgresql", "sqlite"):
        assert sorted(tenant_schema.DDL[dialect]) == list(range(1, tenant_schema.LATEST + 1))
        v1 = " ".join(tenant_schema.statements(dialect, 1))
        # The DDL is frozen text, so it must agree with the console's list by hand.
        assert "CHECK (datasheet IN (" + ",".join(f"'{d}'" for d in DATASHEETS) + "))" in v1


def test_stepping_through_every_version_builds_the_same_schema_as_applying_the_newest(
    cluster: Cluster, make_tenant: Any
) -> None:
    stepped, direct = make_tenant(), make_tenant()
    assert describe(cluster, stepped) == describe(cluster, direct)  # both empty so far
    assert cluster.store.schema_version(stepped) is None
    assert cluster.store.apply_schema(stepped, 1, region="eu") == 1
    assert cluster.store.schema_version(stepped) == 1
    assert not V2_INDEXES & index_names(cluster, stepped)
    assert cluster.store.apply_schema(stepped, 2, region="eu") == 2
    assert cluster.store.apply_schema(direct, 2, region="eu") == 2
    schema = describe(cluster, direct)
    assert schema == describe(cluster, stepped)
    assert all(len(part) >= 5 for part in schema.values()), schema  # it did describe something
    assert V2_INDEXES <= index_names(cluster, direct)


def test_every_metadata_and_payload_column_the_console_names_exists(
    cluster: Cluster, make_tenant: Any
) -> None:
    tenant = make_tenant()
    cluster.store.apply_schema(tenant, tenant_schema.LATEST, region="eu")
    with cluster.store.connect(tenant) as conn:
        for table, columns in {**METADATA_COLUMNS, **PAYLOAD_COLUMNS}.items():
            # Selecting them by name is the check: an unknown column fails here.
            conn.execute(f"SELECT {', '.join(columns)} FROM {table} WHERE 1 = 0").fetchall()


def test_applying_the_schema_again_changes_nothing(cluster: Cluster, make_tenant: Any) -> None:
    tenant = make_tenant()
    cluster.store.apply_schema(tenant, 2, region="eu")
    before, rows_before = describe(cluster, tenant), meta(cluster, tenant)
    assert cluster.store.apply_schema(tenant, 2, region="eu") == 2
    assert cluster.store.apply_schema(tenant, 1, region="eu") == 2  # a lower target is no downgrade
    assert describe(cluster, tenant) == before
    assert meta(cluster, tenant) == rows_before


def test_tenant_meta_records_the_tenant_its_region_when_it_was_created_and_the_version(
    cluster: Cluster, make_tenant: Any
) -> None:
    tenant = make_tenant()
    cluster.store.apply_schema(tenant, 2, region="eu")
    rows = meta(cluster, tenant)
    assert rows["tenant"] == tenant
    assert rows["region"] == "eu"
    assert rows["schema_version"] == "2"
    assert TIMESTAMP.match(rows["created_at"]), rows["created_at"]
    if cluster.kind == "sqlite":
        assert rows["suspended"] == "0"


def test_a_step_that_fails_midway_leaves_the_previous_version_and_a_rerun_converges(
    cluster: Cluster, make_tenant: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken, reference = make_tenant(), make_tenant()
    real_v2 = tenant_schema.DDL[cluster.kind][2]
    monkeypatch.setitem(
        tenant_schema.DDL[cluster.kind], 2, (*real_v2, "CREATE INDEX this is not sql")
    )
    with pytest.raises(OpsError) as failed:
        cluster.store.apply_schema(broken, 2, region="eu")
    assert failed.value.__cause__ is None
    assert cluster.store.schema_version(broken) == 1  # version 1 committed, version 2 rolled back
    assert not V2_INDEXES & index_names(cluster, broken)
    assert meta(cluster, broken)["schema_version"] == "1"

    monkeypatch.setitem(tenant_schema.DDL[cluster.kind], 2, real_v2)
    assert cluster.store.apply_schema(broken, 2, region="eu") == 2
    cluster.store.apply_schema(reference, 2, region="eu")
    assert describe(cluster, broken) == describe(cluster, reference)


def test_a_target_newer_than_this_code_knows_is_refused_and_changes_nothing(
    cluster: Cluster, make_tenant: Any
) -> None:
    tenant = make_tenant()
    with pytest.raises(Conflict, match="newer"):
        cluster.store.apply_schema(tenant, tenant_schema.LATEST + 1, region="eu")
    for nonsense in (0, -1, True, "2"):
        with pytest.raises(InvalidInput):
            cluster.store.apply_schema(tenant, nonsense, region="eu")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        cluster.store.apply_schema(tenant, 1, region="")
    assert cluster.store.schema_version(tenant) is None


def test_the_schema_of_a_tenant_that_was_never_provisioned_is_not_found(cluster: Cluster) -> None:
    ghost = f"t-{secrets.token_hex(6)}"
    with pytest.raises(NotFound):
        cluster.store.schema_version(ghost)
    with pytest.raises(NotFound):
        cluster.store.apply_schema(ghost, 1, region="eu")
    assert not cluster.store.exists(ghost)


def test_two_operators_migrating_the_same_tenant_at_once_both_end_at_the_newest_version(
    cluster: Cluster, make_tenant: Any
) -> None:
    tenant = make_tenant()
    results: list[object] = []

    def migrate() -> None:
        store = (
            SqliteTenantStore(cluster.settings)
            if cluster.kind == "sqlite"
            else PostgresTenantStore(cluster.settings)
        )
        try:
            results.append(store.apply_schema(tenant, 2, region="eu"))
        except OpsError as exc:
            results.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=migrate) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=HANG_GUARD_S)
    assert results == [2, 2, 2, 2]
    assert meta(cluster, tenant)["schema_version"] == "2"


def test_sqlite_timestamps_must_have_the_one_shape_that_sorts_as_time(
    tmp_path: Path, tenant_name: str
) -> None:
    store = SqliteTenantStore(
        ClusterSettings("sqlite-ts", "sqlite", f"sqlite:///{tmp_path / 'c'}", 10)
    )
    store.create_database(tenant_name, "ignored")
    store.apply_schema(tenant_name, 2, region="eu")
    insert = (
        "INSERT INTO login_events (at, user_email, ip, user_agent, result, method)"
        " VALUES (?, 'a@b', 'ip', 'ua', 'ok', 'pw')"
    )
    for wrong in (
        "2024-05-01 10:00:00.000000",
        "2024-05-01T10:00:00+00:00",
        "2024-05-01T10:00:00Z",
    ):
        with (
            pytest.raises(sqlite3.IntegrityError),
            sqlite3.connect(store.path(tenant_name)) as conn,
        ):
            conn.execute(insert, (wrong,))
    with store.connect(tenant_name) as conn:
        conn.execute(insert, (tenant_schema.utc_timestamp(datetime(2024, 5, 1, 10, tzinfo=UTC)),))
        assert conn.execute("SELECT at FROM login_events").fetchone() == (
            "2024-05-01T10:00:00.000000Z",
        )
    with pytest.raises(InvalidInput):
        tenant_schema.utc_timestamp(datetime(2024, 5, 1, 10))


@pytest.fixture
def pg_tenant(
    pg_cluster_settings: ClusterSettings, tenant_name: str
) -> Iterator[tuple[PostgresTenantStore, str]]:
    """A store on the suite's PostgreSQL and a new database for ``tenant_name`` (no schema yet),
    with its owner's password; the database goes again afterwards."""
    store = PostgresTenantStore(pg_cluster_settings)
    password = secrets.token_urlsafe(24)
    store.create_database(tenant_name, password)
    yield store, password
    store.drop_database(tenant_name)
    store.close()


@pytest.mark.postgres
def test_the_tables_belong_to_the_tenants_own_role(
    pg_tenant: tuple[PostgresTenantStore, str], tenant_name: str
) -> None:
    store, _ = pg_tenant
    store.apply_schema(tenant_name, 2, region="eu")
    with store.connect(tenant_name) as conn:
        owners = conn.execute(
            "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class"
            " WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'S', 'i')"
        ).fetchall()
    assert owners == [(f"tenant_{tenant_name}_owner",)]


@pytest.mark.postgres
def test_a_tenant_meta_view_planted_by_the_platform_role_is_never_read(
    pg_tenant: tuple[PostgresTenantStore, str], tenant_name: str
) -> None:
    store, password = pg_tenant
    with store.connect_as_owner(tenant_name, password) as conn:
        conn.execute(
            "CREATE VIEW tenant_meta AS SELECT 'schema_version'::text AS key, '9'::text AS value"
        )
    with pytest.raises(IntegrityFailure, match="not the plain table"):
        store.schema_version(tenant_name)
    with pytest.raises(IntegrityFailure):
        store.apply_schema(tenant_name, 2, region="eu")


@pytest.mark.postgres
def test_a_schema_named_after_the_owner_role_does_not_catch_the_consoles_ddl(
    pg_tenant: tuple[PostgresTenantStore, str], tenant_name: str
) -> None:
    store, password = pg_tenant
    with store.connect_as_owner(tenant_name, password) as conn:
        conn.execute(
            psycopg.sql.SQL("CREATE SCHEMA {}").format(
                psycopg.sql.Identifier(f"tenant_{tenant_name}_owner")
            )
        )
    store.apply_schema(tenant_name, 2, region="eu")
    with store.connect(tenant_name) as conn:
        assert conn.execute("SELECT to_regclass('public.audit_events') IS NOT NULL").fetchone() == (
            True,
        )
        tables = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = %s",
            (f"tenant_{tenant_name}_owner",),
        ).fetchone()
    assert tables == (0,)
