"""Tenant isolation on a real PostgreSQL server: what the database itself refuses."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from psycopg import sql

from aptien_ops.backends import pg_common
from aptien_ops.backends.pg_common import scram_sha256_verifier
from aptien_ops.backends.postgres_tenants import PostgresTenantStore
from aptien_ops.config import ClusterSettings, SecretRef
from aptien_ops.errors import Conflict, Forbidden, NotFound, OpsError

from pg_fixtures import PgServer

pytestmark = pytest.mark.postgres


@dataclass
class Tenant:
    name: str
    password: str

    @property
    def database(self) -> str:
        return f"tenant_{self.name}"

    @property
    def role(self) -> str:
        return f"tenant_{self.name}_owner"


@pytest.fixture
def store(pg_cluster_settings: ClusterSettings) -> Iterator[PostgresTenantStore]:
    tenant_store = PostgresTenantStore(pg_cluster_settings)
    yield tenant_store
    tenant_store.close()


@pytest.fixture
def dropped_afterwards(store: PostgresTenantStore, tenant_name: str) -> Iterator[None]:
    """Drops ``tenant_name``'s database and owner role when the test ends, however it ends."""
    yield
    store.drop_database(tenant_name)


def _password() -> str:
    # Distinctive enough that finding it anywhere can only mean it leaked.
    return f"pw-{secrets.token_hex(12)}-leak-canary"


@pytest.fixture
def tenants(store: PostgresTenantStore) -> Iterator[tuple[Tenant, Tenant]]:
    pair = (
        Tenant(f"t-{secrets.token_hex(6)}", _password()),
        Tenant(f"t-{secrets.token_hex(6)}", _password()),
    )
    for tenant in pair:
        store.create_database(tenant.name, tenant.password)
    yield pair
    for tenant in pair:
        store.drop_database(tenant.name)


@pytest.fixture
def acme(tenants: tuple[Tenant, Tenant]) -> Tenant:
    """The first of the two tenants, for a test that acts on one (the other stands by)."""
    return tenants[0]


def _connect(server: PgServer, dbname: str, user: str, password: str) -> psycopg.Connection:
    return psycopg.connect(server.conninfo(dbname=dbname, user=user, password=password))


def _create_login_role(server: PgServer, password: str) -> str:
    role = f"stranger_{secrets.token_hex(4)}"
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(scram_sha256_verifier(password))
            )
        )
    return role


def _least_privileged_admin(
    server: PgServer, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, str, PostgresTenantStore]:
    """A new LOGIN CREATEDB CREATEROLE role (no superuser), its password, and a tenant store
    acting as it that reads the password from the environment. The caller drops the role."""
    password = _password()
    admin = f"ops_admin_{secrets.token_hex(4)}"
    verifier = scram_sha256_verifier(password)
    server.psql(f"CREATE ROLE \"{admin}\" LOGIN CREATEDB CREATEROLE PASSWORD '{verifier}'")
    monkeypatch.setenv("APTIEN_TEST_ADMIN_PASSWORD", password)
    settings = ClusterSettings(
        "pg-least-privilege",
        "postgresql",
        server.url(user=admin),
        10,
        password=SecretRef(env="APTIEN_TEST_ADMIN_PASSWORD"),
    )
    return admin, password, PostgresTenantStore(settings)


def test_tenant_owner_connects_to_its_own_database_with_its_password(
    store: PostgresTenantStore, acme: Tenant
) -> None:
    with store.connect_as_owner(acme.name, acme.password) as conn:
        assert conn.execute("select current_user, current_database()").fetchone() == (
            acme.role,
            acme.database,
        )
        conn.execute("create table invoices (id int)")  # the owner may build its schema


def test_tenant_role_cannot_connect_to_another_tenants_database(
    pg_server: PgServer, tenants: tuple[Tenant, Tenant]
) -> None:
    acme, globex = tenants
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        _connect(pg_server, globex.database, acme.role, acme.password)
    assert "User does not have CONNECT privilege" in pg_server.server_log()


def test_a_role_with_no_grants_cannot_connect_to_a_tenant_database(
    pg_server: PgServer, acme: Tenant
) -> None:
    stranger_password = _password()
    stranger = _create_login_role(pg_server, stranger_password)
    try:
        _connect(
            pg_server, "postgres", stranger, stranger_password
        ).close()  # the role itself works
        with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
            _connect(pg_server, acme.database, stranger, stranger_password)
    finally:
        pg_server.psql(f'DROP ROLE "{stranger}"')


def test_public_schema_of_a_tenant_belongs_to_its_owner_alone(
    pg_server: PgServer, acme: Tenant
) -> None:
    owner = pg_server.psql(
        "SELECT nspowner::regrole FROM pg_namespace WHERE nspname = 'public'", dbname=acme.database
    )
    assert owner.strip() == f'"{acme.role}"'
    public_grants = pg_server.psql(
        "SELECT count(*) FROM pg_namespace, aclexplode(nspacl) a"
        " WHERE nspname = 'public' AND a.grantee = 0",
        dbname=acme.database,
    )
    assert public_grants.strip() == "0"
    db_public_grants = pg_server.psql(
        "SELECT count(*) FROM pg_database, aclexplode(datacl) a"
        f" WHERE datname = '{acme.database}' AND a.grantee = 0"
    )
    assert db_public_grants.strip() == "0"


def test_wrong_password_is_refused_and_not_echoed(
    pg_server: PgServer, store: PostgresTenantStore, acme: Tenant
) -> None:
    wrong = _password()
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        _connect(pg_server, acme.database, acme.role, wrong)
    with pytest.raises(Forbidden) as refused:
        with store.connect_as_owner(acme.name, wrong):
            pass
    assert wrong not in refused.value.one_line()
    assert acme.password not in refused.value.one_line()


def test_owner_password_never_reaches_activity_logs_or_error_messages(
    pg_server: PgServer, store: PostgresTenantStore, tenants: tuple[Tenant, Tenant]
) -> None:
    acme, globex = tenants
    seen: list[str] = []
    with store.connect_as_owner(acme.name, acme.password):
        seen += pg_server.psql("SELECT row_to_json(a)::text FROM pg_stat_activity a").splitlines()

    def open_as_owner(tenant: Tenant, password: str) -> None:
        with store.connect_as_owner(tenant.name, password):
            pass

    for attempt in (
        lambda: open_as_owner(globex, acme.password),
        lambda: open_as_owner(acme, globex.password + "x"),
        lambda: store.create_database("Not Valid", acme.password),
    ):
        with pytest.raises(OpsError) as failed:
            attempt()
        seen.append(f"{failed.value.one_line()} {failed.value.as_json()} {failed.value!r}")
    stored = pg_server.psql(
        f"SELECT rolpassword FROM pg_authid WHERE rolname = '{acme.role}'"
    ).strip()
    assert stored.startswith("SCRAM-SHA-256$4096:")
    seen.append(stored)
    seen.append(pg_server.server_log())
    assert "CREATE ROLE" in seen[-1]  # log_statement=all is on, so the log is worth searching
    for tenant in tenants:
        assert not [text for text in seen if tenant.password in text]


@pytest.mark.usefixtures("dropped_afterwards")
def test_a_non_ascii_password_is_prepared_as_postgresql_expects(
    pg_server: PgServer, store: PostgresTenantStore, tenant_name: str
) -> None:
    # SASLprep maps the fullwidth letters and the roman numeral; libpq does the same on login.
    password = "p\u00e4ssw\u00f6rd-\u2168-\uff46\uff55\uff4c\uff4c\u00a0space"
    store.create_database(tenant_name, password)
    with store.connect_as_owner(tenant_name, password) as conn:
        assert conn.execute("select 1").fetchone() == (1,)


@pytest.mark.usefixtures("dropped_afterwards")
def test_rerun_after_a_crash_between_role_and_database_completes_provisioning(
    pg_server: PgServer, store: PostgresTenantStore, tenant_name: str
) -> None:
    role = f"tenant_{tenant_name}_owner"
    pg_server.psql(
        f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{scram_sha256_verifier('from-the-first-run')}'"
    )
    new_password = _password()
    store.create_database(tenant_name, new_password)
    with store.connect_as_owner(tenant_name, new_password) as conn:
        assert conn.execute("select current_user").fetchone() == (role,)


@pytest.mark.usefixtures("dropped_afterwards")
def test_rerun_converges_a_database_left_without_its_owner_and_grants(
    pg_server: PgServer, store: PostgresTenantStore, tenant_name: str
) -> None:
    database = f"tenant_{tenant_name}"
    pg_server.psql(
        f'CREATE DATABASE "{database}"'
    )  # as if the run died right after CREATE DATABASE
    password = _password()
    store.create_database(tenant_name, password)
    owner = pg_server.psql(f"SELECT datdba::regrole FROM pg_database WHERE datname = '{database}'")
    assert owner.strip() == f'"tenant_{tenant_name}_owner"'
    stranger_password = _password()
    stranger = _create_login_role(pg_server, stranger_password)
    try:
        with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
            _connect(pg_server, database, stranger, stranger_password)
    finally:
        pg_server.psql(f'DROP ROLE "{stranger}"')


def test_dropping_a_tenant_disconnects_its_sessions_and_removes_its_role(
    pg_server: PgServer, store: PostgresTenantStore, tenant_name: str
) -> None:
    password = _password()
    store.create_database(tenant_name, password)
    lingering = _connect(
        pg_server, f"tenant_{tenant_name}", f"tenant_{tenant_name}_owner", password
    )
    try:
        store.drop_database(tenant_name)
        assert not store.exists(tenant_name)
        roles = pg_server.psql(
            f"SELECT count(*) FROM pg_roles WHERE rolname = 'tenant_{tenant_name}_owner'"
        )
        assert roles.strip() == "0"
        with pytest.raises(psycopg.OperationalError):
            lingering.execute("select 1")
    finally:
        lingering.close()


def test_a_least_privileged_admin_with_a_password_from_the_environment_provisions_and_drops(
    pg_server: PgServer, tenant_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin, admin_password, store = _least_privileged_admin(pg_server, monkeypatch)
    owner_password = _password()
    try:
        store.create_database(tenant_name, owner_password)
        with store.connect_as_owner(tenant_name, owner_password) as conn:
            assert conn.execute("select current_database()").fetchone() == (
                f"tenant_{tenant_name}",
            )
        store.drop_database(tenant_name)
        assert not store.exists(tenant_name)
    finally:
        store.close()
        pg_server.psql(
            f'DROP DATABASE IF EXISTS "tenant_{tenant_name}"; '
            f'DROP ROLE IF EXISTS "tenant_{tenant_name}_owner"; DROP ROLE "{admin}"'
        )
    assert admin_password not in pg_server.server_log()


def test_a_least_privileged_admin_leaves_a_superusers_session_and_says_why_it_cannot_drop(
    pg_server: PgServer, tenant_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sessions it may not end (a superuser's; autovacuum counts as one) are left alone:
    the drop waits for them a bounded number of times, then says so, instead of failing on
    "must be a superuser to terminate superuser process"."""
    admin, _, store = _least_privileged_admin(pg_server, monkeypatch)
    monkeypatch.setattr(pg_common, "DROP_ATTEMPTS", 1)  # the server waits 5 s at each
    try:
        store.create_database(tenant_name, _password())
        with psycopg.connect(pg_server.conninfo(dbname=f"tenant_{tenant_name}")) as superuser:
            with pytest.raises(Conflict, match="still in use") as refused:
                store.drop_database(tenant_name)
            assert "superuser" in (refused.value.hint or "")
            assert superuser.execute("select 1").fetchone() == (1,)  # not ended
        assert store.exists(tenant_name)
        store.drop_database(tenant_name)  # once it has gone
        assert not store.exists(tenant_name)
    finally:
        store.close()
        pg_server.psql(
            f'DROP DATABASE IF EXISTS "tenant_{tenant_name}"; '
            f'DROP ROLE IF EXISTS "tenant_{tenant_name}_owner"; DROP ROLE "{admin}"'
        )


def test_a_squatted_role_with_superuser_powers_is_never_handed_a_tenant_database(
    pg_server: PgServer, store: PostgresTenantStore, tenant_name: str
) -> None:
    role = f"tenant_{tenant_name}_owner"
    pg_server.psql(f'CREATE ROLE "{role}" SUPERUSER')
    try:
        with pytest.raises(Conflict, match="superuser"):
            store.create_database(tenant_name, _password())
        assert not store.exists(tenant_name)
    finally:
        pg_server.psql(f'DROP ROLE "{role}"')


# ----------------------------------------------------------------------------- the inspector role

PLAINTEXT = "CANARY-salary-of-ann-is-123456"
AUDIT_METADATA = (
    "SELECT id, at, actor, action, datasheet, record_id, key_id, payload_size FROM audit_events"
)


@dataclass
class Inspector:
    role: str
    password: str


def _seed_as_platform(store: PostgresTenantStore, tenant: Tenant) -> None:
    """Rows as the platform writes them, as the tenant's own role, with a known plaintext."""
    with store.connect_as_owner(tenant.name, tenant.password) as conn:
        conn.execute(
            "INSERT INTO users (email, display_name, created_at)"
            " VALUES ('ann@acme.example', 'Ann', now())"
        )
        conn.execute(
            "INSERT INTO audit_events"
            " (at, actor, action, datasheet, record_id, key_id, payload_size, payload)"
            " VALUES (now(), 'ann@acme.example', 'update', 'employees', 'r-1', 'k-1', %s, %s)",
            (len(PLAINTEXT), PLAINTEXT.encode()),
        )
        conn.execute(
            "INSERT INTO records"
            " (id, datasheet, created_at, updated_at, key_id, payload_size, payload)"
            " VALUES ('r-1', 'employees', now(), now(), 'k-1', %s, %s)",
            (len(PLAINTEXT), PLAINTEXT.encode()),
        )


@pytest.fixture
def inspector(
    pg_server: PgServer, store: PostgresTenantStore, tenants: tuple[Tenant, Tenant]
) -> Iterator[Inspector]:
    """Both tenants at the newest schema with platform rows; the inspector admitted to the first."""
    granted = Inspector(f"aptien_inspector_{secrets.token_hex(4)}", _password())
    for tenant in tenants:
        store.apply_schema(tenant.name, 2, region="eu")
        _seed_as_platform(store, tenant)
    store.grant_inspector(tenants[0].name, granted.role, granted.password)
    yield granted
    for tenant in tenants:  # the role's grants go with the databases, then the role can go
        store.drop_database(tenant.name)
    pg_server.psql(f'DROP ROLE IF EXISTS "{granted.role}"')


def _as_inspector(server: PgServer, tenant: Tenant, inspector: Inspector) -> psycopg.Connection:
    return psycopg.connect(
        server.conninfo(dbname=tenant.database, user=inspector.role, password=inspector.password),
        autocommit=True,
    )


def test_the_inspector_reads_audit_metadata_but_the_server_refuses_it_every_payload(
    pg_server: PgServer, acme: Tenant, inspector: Inspector
) -> None:
    with _as_inspector(pg_server, acme, inspector) as conn:
        rows = conn.execute(AUDIT_METADATA).fetchall()
        assert [row[2:8] for row in rows] == [
            ("ann@acme.example", "update", "employees", "r-1", "k-1", len(PLAINTEXT))
        ]
        assert conn.execute("SELECT id, email, created_at, active, is_admin FROM users").fetchall()
        assert (
            dict(conn.execute("SELECT key, value FROM tenant_meta").fetchall())["schema_version"]
            == "2"
        )
        seen = repr(rows)
        for query in (
            "SELECT payload FROM audit_events",
            "SELECT * FROM audit_events",
            "SELECT payload FROM records",
            "SELECT * FROM records",
            "SELECT display_name FROM users",
            "SELECT body FROM messages",
            "COPY audit_events TO STDOUT",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege) as refused:
                seen += repr(conn.execute(query).fetchall())
            assert refused.value.sqlstate == "42501", query
    assert "permission denied for table audit_events" in pg_server.server_log()
    assert PLAINTEXT not in seen


def test_the_inspector_cannot_change_anything_in_a_tenant_database(
    pg_server: PgServer, acme: Tenant, inspector: Inspector
) -> None:
    with _as_inspector(pg_server, acme, inspector) as conn:
        for statement in (
            "INSERT INTO audit_events"
            " (at, actor, action, datasheet, record_id, key_id, payload_size, payload)"
            " VALUES (now(), 'x', 'x', 'employees', 'x', 'x', 0, '')",
            "UPDATE audit_events SET actor = 'mallory'",
            "DELETE FROM audit_events",
            "UPDATE tenant_meta SET value = '0' WHERE key = 'schema_version'",
            "DELETE FROM users",
            "TRUNCATE login_events",
            "CREATE TABLE loot (x int)",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege) as refused:
                conn.execute(statement)
            assert refused.value.sqlstate == "42501", statement
    with psycopg.connect(pg_server.conninfo(dbname=acme.database)) as admin:
        assert admin.execute("SELECT actor FROM audit_events").fetchall() == [("ann@acme.example",)]


def test_the_inspector_cannot_connect_to_a_tenant_it_was_not_admitted_to(
    pg_server: PgServer, tenants: tuple[Tenant, Tenant], inspector: Inspector
) -> None:
    _, globex = tenants
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        _as_inspector(pg_server, globex, inspector)


def test_granting_the_inspector_again_takes_back_a_table_grant_made_by_hand(
    pg_server: PgServer,
    store: PostgresTenantStore,
    acme: Tenant,
    inspector: Inspector,
) -> None:
    pg_server.psql(f'GRANT SELECT ON audit_events TO "{inspector.role}"', dbname=acme.database)
    with _as_inspector(pg_server, acme, inspector) as conn:
        assert conn.execute("SELECT count(payload) FROM audit_events").fetchone() == (
            1,
        )  # the hand grant works
    store.grant_inspector(acme.name, inspector.role, None)  # no password: the existing one stays
    with _as_inspector(pg_server, acme, inspector) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT payload FROM audit_events")
        assert len(conn.execute(AUDIT_METADATA).fetchall()) == 1


def test_the_inspector_password_reaches_the_server_only_as_a_verifier(
    pg_server: PgServer,
    store: PostgresTenantStore,
    tenants: tuple[Tenant, Tenant],
    inspector: Inspector,
) -> None:
    acme, globex = tenants
    new_password = _password()
    store.grant_inspector(globex.name, inspector.role, new_password)  # resets it cluster-wide
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        _as_inspector(pg_server, acme, inspector)
    inspector.password = new_password
    for tenant in tenants:
        _as_inspector(pg_server, tenant, inspector).close()
    stored = pg_server.psql(
        f"SELECT rolpassword FROM pg_authid WHERE rolname = '{inspector.role}'"
    ).strip()
    assert stored.startswith("SCRAM-SHA-256$4096:")
    log = pg_server.server_log()
    assert "CREATE ROLE" in log and "ALTER ROLE" in log
    assert new_password not in log


def test_an_inspector_created_without_a_password_cannot_log_in(
    pg_server: PgServer,
    store: PostgresTenantStore,
    acme: Tenant,
    inspector: Inspector,
) -> None:
    silent = f"aptien_inspector_{secrets.token_hex(4)}"
    try:
        store.grant_inspector(acme.name, silent, None)
        assert (
            pg_server.psql(f"SELECT rolcanlogin FROM pg_roles WHERE rolname = '{silent}'").strip()
            == "f"
        )
        password = _password()
        store.grant_inspector(acme.name, silent, password)
        _as_inspector(pg_server, acme, Inspector(silent, password)).close()
    finally:
        store.drop_database(acme.name)
        pg_server.psql(f'DROP ROLE IF EXISTS "{silent}"')


def test_a_role_that_could_read_more_than_metadata_is_never_made_an_inspector(
    pg_server: PgServer,
    store: PostgresTenantStore,
    acme: Tenant,
    inspector: Inspector,
) -> None:
    powerful, member = f"insp_super_{secrets.token_hex(4)}", f"insp_member_{secrets.token_hex(4)}"
    pg_server.psql(
        f'CREATE ROLE "{powerful}" SUPERUSER; CREATE ROLE "{member}" IN ROLE "{acme.role}"'
    )
    try:
        with pytest.raises(Conflict, match="superuser"):
            store.grant_inspector(acme.name, powerful, None)
        with pytest.raises(Conflict, match="member"):
            store.grant_inspector(acme.name, member, None)
        with pytest.raises(Conflict):
            store.grant_inspector(acme.name, "postgres", None)  # the cluster admin itself
    finally:
        pg_server.psql(f'DROP ROLE "{powerful}"; DROP ROLE "{member}"')


# ----------------------------------------------------------------------------- suspension


def test_a_suspended_tenants_role_cannot_log_in_and_its_open_session_is_ended(
    pg_server: PgServer,
    store: PostgresTenantStore,
    tenants: tuple[Tenant, Tenant],
    inspector: Inspector,
) -> None:
    acme, globex = tenants
    lingering = _connect(pg_server, acme.database, acme.role, acme.password)
    neighbour = _connect(pg_server, globex.database, globex.role, globex.password)
    try:
        store.set_login(acme.name, False)
        store.set_login(acme.name, False)  # rerun: still refused, not an error
        with pytest.raises(psycopg.OperationalError):
            lingering.execute("SELECT 1")
        with pytest.raises(psycopg.OperationalError, match="not permitted to log in"):
            _connect(pg_server, acme.database, acme.role, acme.password)
        with pytest.raises(Forbidden):
            with store.connect_as_owner(acme.name, acme.password):
                pass
        store.create_owner_role(acme.name, acme.password)  # a password reset does not resume it
        with pytest.raises(psycopg.OperationalError, match="not permitted to log in"):
            _connect(pg_server, acme.database, acme.role, acme.password)
        with store.connect(acme.name) as admin:  # the console keeps its access
            assert admin.execute("SELECT count(*) FROM audit_events").fetchone() == (1,)
        with _as_inspector(pg_server, acme, inspector) as conn:
            assert len(conn.execute(AUDIT_METADATA).fetchall()) == 1
        assert neighbour.execute("SELECT 1").fetchone() == (1,)  # another tenant is untouched

        store.set_login(acme.name, True)
        store.set_login(acme.name, True)
        with store.connect_as_owner(acme.name, acme.password) as conn:
            assert conn.execute("SELECT count(*) FROM records").fetchone() == (1,)
    finally:
        lingering.close()
        neighbour.close()


def test_suspending_a_tenant_that_has_no_role_on_the_cluster_is_not_found(
    store: PostgresTenantStore, tenant_name: str
) -> None:
    with pytest.raises(NotFound):
        store.set_login(tenant_name, False)


def test_a_least_privileged_admin_runs_the_whole_tenant_lifecycle(
    pg_server: PgServer, tenant_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin, admin_password, store = _least_privileged_admin(pg_server, monkeypatch)
    inspector = Inspector(f"aptien_inspector_{secrets.token_hex(4)}", _password())
    tenant = Tenant(tenant_name, _password())
    try:
        store.create_database(tenant.name, tenant.password)
        assert store.apply_schema(tenant.name, 2, region="eu") == 2
        _seed_as_platform(store, tenant)
        store.grant_inspector(tenant.name, inspector.role, inspector.password)
        with _as_inspector(pg_server, tenant, inspector) as conn:
            assert len(conn.execute(AUDIT_METADATA).fetchall()) == 1
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("SELECT payload FROM records")
        lingering = _connect(pg_server, tenant.database, tenant.role, tenant.password)
        store.set_login(tenant.name, False)
        with pytest.raises(psycopg.OperationalError):
            lingering.execute("SELECT 1")
        lingering.close()
        store.set_login(tenant.name, True)
        assert store.size_bytes(tenant.name) > 0
        store.drop_database(tenant.name)
        assert not store.exists(tenant.name)
    finally:
        store.close()
        pg_server.psql(
            f'DROP DATABASE IF EXISTS "{tenant.database}"; DROP ROLE IF EXISTS "{tenant.role}"; '
            f'DROP ROLE IF EXISTS "{inspector.role}"; DROP ROLE "{admin}"'
        )
    assert admin_password not in pg_server.server_log()
