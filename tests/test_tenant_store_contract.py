"""The TenantStore contract, run unchanged against SQLite files and a real PostgreSQL server
(cluster facts at the end)."""

from __future__ import annotations

import os
import random
import secrets
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from aptien_ops.backends.postgres_tenants import PostgresTenantStore
from aptien_ops.backends.sqlite_tenants import SqliteTenantStore
from aptien_ops.backends.tenant_schema import utc_timestamp
from aptien_ops.config import ClusterSettings, SecretRef
from aptien_ops.errors import Conflict, InvalidInput, NotFound, Unavailable
from aptien_ops.ports import DatabaseFacts
from aptien_ops.tenant_schema import TENANT_SCHEMA_VERSION

Store = PostgresTenantStore | SqliteTenantStore
ADMIN_PASSWORD_ENV = "APTIEN_TEST_CLUSTER_PASSWORD"

HOSTILE_NAMES = [
    "acme; DROP DATABASE x",
    "Acme",
    "\uff41cme",  # fullwidth 'a': looks like "acme" on screen
    "a" * 10_000,
    "postgres",
    "template1",
    'acme"; --',
    "",
]


@dataclass
class ClusterUnderTest:
    kind: str
    store: Store
    make: Callable[[ClusterSettings], Store]
    snapshot: Callable[[], object]
    """Everything on the real system a tenant operation could have touched."""
    unreachable: ClusterSettings
    drop_role: Callable[[str], object]
    login_allowed: Callable[[str], bool]
    """Whether the tenant's own role (PostgreSQL) or the platform (SQLite) may log in."""


def _sqlite_cluster(tmp_path: Path) -> ClusterUnderTest:
    directory = tmp_path / "cluster"
    settings = ClusterSettings("sqlite-test", "sqlite", f"sqlite:///{directory}", 100)
    blocker = tmp_path / "plain-file"
    blocker.write_text("not a directory")

    def snapshot() -> object:
        return sorted(os.listdir(directory)) if directory.exists() else None

    store = SqliteTenantStore(settings)
    return ClusterUnderTest(
        kind="sqlite",
        store=store,
        make=SqliteTenantStore,
        snapshot=snapshot,
        unreachable=ClusterSettings("sqlite-gone", "sqlite", f"sqlite:///{blocker}/cluster", 100),
        drop_role=lambda role: None,
        login_allowed=lambda tenant: _sqlite_meta(store, tenant)["suspended"] == "0",
    )


def _sqlite_meta(store: SqliteTenantStore, tenant: str) -> dict[str, str]:
    with store.connect(tenant) as conn:
        return dict(conn.execute("SELECT key, value FROM tenant_meta").fetchall())


def _postgres_cluster(request: pytest.FixtureRequest) -> ClusterUnderTest:
    server = request.getfixturevalue("pg_server")
    settings = request.getfixturevalue("pg_cluster_settings")
    missing = f"/tmp/no-such-pg-{secrets.token_hex(4)}"

    def snapshot() -> object:
        return server.psql(
            "SELECT datname FROM pg_database UNION ALL SELECT rolname FROM pg_roles ORDER BY 1"
        )

    return ClusterUnderTest(
        kind="postgresql",
        store=PostgresTenantStore(settings),
        make=PostgresTenantStore,
        snapshot=snapshot,
        unreachable=ClusterSettings(
            "pg-gone",
            "postgresql",
            f"postgresql+psycopg://postgres@/postgres?host={missing}&port=5432",
            100,
            password=SecretRef(env=ADMIN_PASSWORD_ENV),
        ),
        drop_role=lambda role: server.psql(f'DROP ROLE IF EXISTS "{role}"'),
        login_allowed=lambda tenant: (
            server.psql(
                f"SELECT rolcanlogin FROM pg_roles WHERE rolname = 'tenant_{tenant}_owner'"
            ).strip()
            == "t"
        ),
    )


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ClusterUnderTest]:
    under_test = (
        _sqlite_cluster(tmp_path) if request.param == "sqlite" else _postgres_cluster(request)
    )
    yield under_test
    under_test.store.close()


@pytest.fixture
def provisioned(cluster: ClusterUnderTest, tenant_name: str) -> Iterator[str]:
    cluster.store.create_database(tenant_name, secrets.token_urlsafe(24))
    yield tenant_name
    cluster.store.drop_database(tenant_name)


def _select_one(store: Store, tenant: str) -> Any:
    with store.connect(tenant) as conn:
        return conn.execute("select 1").fetchone()[0]


def test_tenant_database_lives_from_provisioning_to_drop(
    cluster: ClusterUnderTest, tenant_name: str
) -> None:
    store = cluster.store
    password = secrets.token_urlsafe(24)
    assert not store.exists(tenant_name)

    store.create_database(tenant_name, password)
    assert store.exists(tenant_name)
    assert tenant_name in store.list_databases()
    assert _select_one(store, tenant_name) == 1

    store.create_database(tenant_name, password)  # rerun: kept, not an error
    assert store.list_databases().count(tenant_name) == 1
    assert _select_one(store, tenant_name) == 1

    store.drop_database(tenant_name)
    assert not store.exists(tenant_name)
    assert tenant_name not in store.list_databases()
    store.drop_database(tenant_name)  # rerun: nothing left to drop, not an error


def test_every_tenant_database_is_listed_and_nothing_else(cluster: ClusterUnderTest) -> None:
    names = sorted(f"t-list-{secrets.token_hex(3)}-{i}" for i in range(3))
    for name in names:
        cluster.store.create_database(name, secrets.token_urlsafe(24))
    try:
        listed = cluster.store.list_databases()
        assert [n for n in listed if n in names] == names
        assert listed == sorted(listed)
        assert not {"postgres", "template1", "template0"} & set(listed)
    finally:
        for name in names:
            cluster.store.drop_database(name)


def test_work_done_through_connect_is_committed_and_a_failure_rolls_back(
    cluster: ClusterUnderTest, provisioned: str
) -> None:
    with cluster.store.connect(provisioned) as conn:
        conn.execute("create table notes (body text)")
        conn.execute("insert into notes values ('kept')")
    with pytest.raises(ZeroDivisionError), cluster.store.connect(provisioned) as conn:
        conn.execute("insert into notes values ('lost')")
        _ = 1 / 0
    with cluster.store.connect(provisioned) as conn:
        assert [row[0] for row in conn.execute("select body from notes").fetchall()] == ["kept"]


def test_connecting_to_a_tenant_that_was_never_provisioned_is_not_found(
    cluster: ClusterUnderTest, tenant_name: str
) -> None:
    with pytest.raises(NotFound, match=tenant_name):
        with cluster.store.connect(tenant_name):
            pass
    assert not cluster.store.exists(tenant_name)  # and connecting did not create it


def _every_tenant_operation(store: Store, name: str) -> list[tuple[str, Callable[[], object]]]:
    def connect() -> None:
        with store.connect(name):
            pass

    def connect_as_owner() -> None:
        with store.connect_as_owner(name, "irrelevant-password"):
            pass

    return [
        ("create_owner_role", lambda: store.create_owner_role(name, "irrelevant-password")),
        ("create_database", lambda: store.create_database(name, "irrelevant-password")),
        ("apply_schema", lambda: store.apply_schema(name, 1, region="eu")),
        ("schema_version", lambda: store.schema_version(name)),
        (
            "grant_inspector",
            lambda: store.grant_inspector(name, "aptien_inspector_eu", "irrelevant-password"),
        ),
        ("set_login", lambda: store.set_login(name, False)),
        ("size_bytes", lambda: store.size_bytes(name)),
        ("drop_database", lambda: store.drop_database(name)),
        ("exists", lambda: store.exists(name)),
        ("connect", connect),
        ("connect_as_owner", connect_as_owner),
    ]


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=lambda n: repr(n[:24]))
def test_hostile_tenant_names_are_refused_before_anything_is_touched(
    cluster: ClusterUnderTest, name: str
) -> None:
    before = cluster.snapshot()
    for operation, call in _every_tenant_operation(cluster.store, name):
        with pytest.raises(InvalidInput) as refused:
            call()
        assert len(refused.value.message) < 400, operation
    assert cluster.snapshot() == before


@pytest.mark.parametrize("name", HOSTILE_NAMES[:3], ids=lambda n: repr(n[:24]))
def test_a_hostile_name_is_refused_even_when_the_cluster_is_down(
    cluster: ClusterUnderTest, name: str
) -> None:
    store = cluster.make(cluster.unreachable)
    for _operation, call in _every_tenant_operation(store, name):
        with pytest.raises(InvalidInput):
            call()


def test_an_unreachable_cluster_is_unavailable_and_no_password_leaks(
    cluster: ClusterUnderTest, tenant_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin_password = "admin-" + secrets.token_urlsafe(16)
    owner_password = "owner-" + secrets.token_urlsafe(16)
    monkeypatch.setenv(ADMIN_PASSWORD_ENV, admin_password)
    store = cluster.make(cluster.unreachable)

    def connect() -> None:
        with store.connect(tenant_name):
            pass

    def connect_as_owner() -> None:
        with store.connect_as_owner(tenant_name, owner_password):
            pass

    calls: list[tuple[str, Callable[[], object]]] = [
        ("ping", store.ping),
        ("privileges", store.privileges),
        ("create_database", lambda: store.create_database(tenant_name, owner_password)),
        ("drop_database", lambda: store.drop_database(tenant_name)),
        ("exists", lambda: store.exists(tenant_name)),
        ("list_databases", store.list_databases),
        ("cluster_facts", store.cluster_facts),
        ("connect", connect),
        ("apply_schema", lambda: store.apply_schema(tenant_name, 2, region="eu")),
        ("schema_version", lambda: store.schema_version(tenant_name)),
        ("set_login", lambda: store.set_login(tenant_name, False)),
        ("size_bytes", lambda: store.size_bytes(tenant_name)),
        (
            "grant_inspector",
            lambda: store.grant_inspector(tenant_name, "aptien_inspector_eu", owner_password),
        ),
    ]
    if cluster.kind == "postgresql":  # no-ops on SQLite, which has no roles
        calls.append(("connect_as_owner", connect_as_owner))
        calls.append(
            ("create_owner_role", lambda: store.create_owner_role(tenant_name, owner_password))
        )
    for operation, call in calls:
        with pytest.raises(Unavailable) as failed:
            call()
        text = f"{failed.value.one_line()} {failed.value!r} {failed.value.as_json()}"
        assert cluster.unreachable.name in text, operation
        assert admin_password not in text, operation
        assert owner_password not in text, operation
        assert failed.value.__cause__ is None, operation  # no driver exception rides along
    store.close()


def test_ping_succeeds_on_a_reachable_cluster(cluster: ClusterUnderTest) -> None:
    cluster.store.ping()


def test_the_admin_of_a_reachable_cluster_holds_what_the_console_needs(
    cluster: ClusterUnderTest,
) -> None:
    before = cluster.snapshot()
    privileges = cluster.store.privileges()
    assert privileges.held and privileges.missing == () and privileges.grant == ""
    assert cluster.snapshot() == before  # asking changes nothing


def test_sqlite_tenant_files_are_private_to_the_console(tmp_path: Path, tenant_name: str) -> None:
    directory = tmp_path / "private-cluster"
    store = SqliteTenantStore(
        ClusterSettings("sqlite-private", "sqlite", f"sqlite:///{directory}", 10)
    )
    store.create_database(tenant_name, "ignored-on-sqlite")
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(store.path(tenant_name).stat().st_mode) == 0o600


def test_sqlite_provisioning_that_crashed_midway_leaves_nothing_a_rerun_trips_on(
    tmp_path: Path, tenant_name: str
) -> None:
    directory = tmp_path / "cluster"
    store = SqliteTenantStore(
        ClusterSettings("sqlite-crash", "sqlite", f"sqlite:///{directory}", 10)
    )
    store.ping()
    stray = directory / f"tenant_{tenant_name}.db.4242-deadbeef.partial"
    stray.write_bytes(b"half a database")
    assert store.list_databases() == []  # a partial file is not a tenant

    store.create_database(tenant_name, "ignored")
    assert _select_one(store, tenant_name) == 1
    store.drop_database(tenant_name)
    assert sorted(os.listdir(directory)) == []


def test_operations_on_a_tenant_that_was_never_provisioned_are_not_found(
    cluster: ClusterUnderTest, tenant_name: str
) -> None:
    store = cluster.store
    for operation, call in [
        ("apply_schema", lambda: store.apply_schema(tenant_name, 2, region="eu")),
        ("schema_version", lambda: store.schema_version(tenant_name)),
        (
            "grant_inspector",
            lambda: store.grant_inspector(tenant_name, f"insp_{secrets.token_hex(4)}", None),
        ),
        ("set_login", lambda: store.set_login(tenant_name, False)),
        ("size_bytes", lambda: store.size_bytes(tenant_name)),
    ]:
        with pytest.raises(NotFound):
            call()
        assert not store.exists(tenant_name), operation


@pytest.mark.parametrize(
    "role", ["", "Inspector", "pg_read_all_data", "tenant_acme_owner", 'x"; DROP ROLE y', "a" * 64]
)
def test_an_invalid_inspector_role_name_is_refused_before_anything_is_touched(
    cluster: ClusterUnderTest, provisioned: str, role: str
) -> None:
    before = cluster.snapshot()
    with pytest.raises(InvalidInput):
        cluster.store.grant_inspector(provisioned, role, None)
    assert cluster.snapshot() == before


def test_a_provisioned_tenant_reaches_the_newest_schema_and_admits_the_inspector(
    cluster: ClusterUnderTest, provisioned: str
) -> None:
    store = cluster.store
    store.create_owner_role(
        provisioned, secrets.token_urlsafe(24)
    )  # rerun on a provisioned tenant: fine
    assert store.schema_version(provisioned) is None
    assert (
        store.apply_schema(provisioned, TENANT_SCHEMA_VERSION, region="eu") == TENANT_SCHEMA_VERSION
    )
    assert store.schema_version(provisioned) == TENANT_SCHEMA_VERSION
    role = f"aptien_inspector_{secrets.token_hex(4)}"
    try:
        store.grant_inspector(provisioned, role, secrets.token_urlsafe(24))
        store.grant_inspector(provisioned, role, None)  # rerun: idempotent
    finally:
        store.drop_database(provisioned)
        cluster.drop_role(role)


def test_the_inspector_is_admitted_only_once_the_schema_exists(
    cluster: ClusterUnderTest, provisioned: str
) -> None:
    role = f"aptien_inspector_{secrets.token_hex(4)}"
    try:
        with pytest.raises(Conflict, match="no schema"):
            cluster.store.grant_inspector(provisioned, role, None)
        cluster.store.apply_schema(provisioned, 1, region="eu")
        cluster.store.grant_inspector(provisioned, role, None)  # the rerun completes the job
    finally:
        cluster.store.drop_database(provisioned)
        cluster.drop_role(role)


def test_suspending_and_resuming_a_tenant_is_recorded_and_idempotent(
    cluster: ClusterUnderTest, provisioned: str
) -> None:
    store = cluster.store
    store.apply_schema(provisioned, 2, region="eu")
    assert cluster.login_allowed(provisioned) is True
    for allowed in (False, False, True, True, False):
        store.set_login(provisioned, allowed)
        assert cluster.login_allowed(provisioned) is allowed
    assert store.schema_version(provisioned) == 2  # suspension touches nothing else


def test_a_tenant_database_reports_its_size_and_it_grows_with_its_data(
    cluster: ClusterUnderTest, provisioned: str
) -> None:
    store = cluster.store
    store.apply_schema(provisioned, 2, region="eu")
    before = store.size_bytes(provisioned)
    assert before > 0
    blob = random.Random(4).randbytes(4 << 20)  # incompressible: stored at full size
    with store.connect(provisioned) as conn:
        p = "?" if cluster.kind == "sqlite" else "%s"
        conn.execute(
            "INSERT INTO records"
            " (id, datasheet, created_at, updated_at, key_id, payload_size, payload)"
            f" VALUES ('r-1', 'employees', {p}, {p}, 'k', {p}, {p})",
            (utc_timestamp(), utc_timestamp(), len(blob), blob),
        )
    assert store.size_bytes(provisioned) >= before + (2 << 20)


# ----------------------------------------------------------------------------- cluster facts
# What a cluster tells about all its tenant databases at once (schema version recorded, login
# flag, owner, who may connect), without a session in any tenant database on PostgreSQL.


def facts_of(cluster: ClusterUnderTest, tenant: str, inspector: str | None = None) -> DatabaseFacts:
    [fact] = [f for f in cluster.store.cluster_facts(inspector) if f.tenant == tenant]
    return fact


def test_the_schema_version_and_login_flag_follow_every_change(
    cluster: ClusterUnderTest, provisioned: str
) -> None:
    store = cluster.store
    fresh = facts_of(cluster, provisioned)
    assert (fresh.schema_version, fresh.access, fresh.unreadable) == (None, (), None)
    # PostgreSQL: its own role exists and may log in; SQLite: no flag before the schema.
    assert fresh.login is (True if cluster.kind == "postgresql" else None)
    for version in range(1, TENANT_SCHEMA_VERSION + 1):
        store.apply_schema(provisioned, version, region="eu")
        assert facts_of(cluster, provisioned).schema_version == version
    for allowed in (False, True, False):
        store.set_login(provisioned, allowed)
        assert facts_of(cluster, provisioned).login is allowed
    assert facts_of(cluster, provisioned).schema_version == TENANT_SCHEMA_VERSION


@pytest.mark.postgres
def test_a_postgresql_cluster_tells_its_facts_without_a_session_in_any_tenant_database(
    pg_server: Any, pg_cluster_settings: ClusterSettings, tenant_name: str
) -> None:
    store = PostgresTenantStore(pg_cluster_settings)
    try:
        store.create_database(tenant_name, secrets.token_urlsafe(24))
        store.apply_schema(tenant_name, 2, region="eu")
        logged = f"database=tenant_{tenant_name} "  # log_connections: one line per session
        before = pg_server.server_log().count(logged)
        for _ in range(3):
            [fact] = [f for f in store.cluster_facts() if f.tenant == tenant_name]
            assert (fact.schema_version, fact.login, fact.access) == (2, True, ())
        assert pg_server.server_log().count(logged) == before
    finally:
        store.drop_database(tenant_name)
        store.close()


def test_a_version_from_before_it_was_recorded_is_recorded_by_applying_the_schema_again(
    cluster: ClusterUnderTest, provisioned: str, request: pytest.FixtureRequest
) -> None:
    store = cluster.store
    store.apply_schema(provisioned, 2, region="eu")
    if cluster.kind == "postgresql":
        server = request.getfixturevalue("pg_server")
        server.psql(f'COMMENT ON DATABASE "tenant_{provisioned}" IS NULL')
    else:
        with store.connect(provisioned) as conn:
            conn.execute("PRAGMA user_version = 0")
    assert facts_of(cluster, provisioned).schema_version is None
    assert store.apply_schema(provisioned, 2, region="eu") == 2  # what fleet migrate runs
    assert facts_of(cluster, provisioned).schema_version == 2


def test_access_beyond_the_tenants_own_is_told(
    cluster: ClusterUnderTest, provisioned: str, request: pytest.FixtureRequest
) -> None:
    if cluster.kind == "postgresql":
        server = request.getfixturevalue("pg_server")
        server.psql(f'GRANT CONNECT ON DATABASE "tenant_{provisioned}" TO PUBLIC')
        expected = "CONNECT is granted to PUBLIC"
    else:
        path = Path(cluster.store.path(provisioned))  # type: ignore[union-attr]
        path.chmod(0o644)
        expected = "is open to others (mode 0644, not 0600)"
    assert any(expected in problem for problem in facts_of(cluster, provisioned).access)


def test_an_inspector_that_may_not_connect_is_told_on_postgresql(
    cluster: ClusterUnderTest, provisioned: str
) -> None:
    store = cluster.store
    store.apply_schema(provisioned, 2, region="eu")
    role = f"aptien_inspector_{secrets.token_hex(4)}"
    try:
        store.grant_inspector(provisioned, role, None)
        assert facts_of(cluster, provisioned, role).access == ()
        stranger = f"aptien_inspector_{secrets.token_hex(4)}"  # no such role at all
        told = facts_of(cluster, provisioned, stranger).access
        if cluster.kind == "postgresql":
            assert told == (f"the inspector {stranger} may not connect",)
        else:
            assert told == ()  # SQLite has no roles: readers select allowed columns instead
    finally:
        store.drop_database(provisioned)
        cluster.drop_role(role)


def test_a_file_that_is_not_a_database_is_told_not_fatal(tmp_path: Path) -> None:
    directory = tmp_path / "cluster"
    store = SqliteTenantStore(ClusterSettings("sqlite-odd", "sqlite", f"sqlite:///{directory}", 9))
    store.create_database("good-one", "ignored")
    store.apply_schema("good-one", 2, region="eu")
    (directory / "tenant_bad-one.db").write_bytes(b"not a database, " * 64)
    (directory / "tenant_bad-one.db").chmod(0o600)
    facts = {f.tenant: f for f in store.cluster_facts()}
    assert facts["good-one"].schema_version == 2 and facts["good-one"].unreadable is None
    assert "not a database" in (facts["bad-one"].unreadable or "")
