"""Contract of the catalog adapter (backends.sql_catalog) against real SQLite and PostgreSQL.

Every test that takes ``catalog_url`` runs twice: on a SQLite file under tmp_path and on a
fresh database of the session's PostgreSQL server (``pg_server`` from tests/pg_fixtures.py).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import secrets
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, insert, inspect, text

from aptien_ops.backends import catalog_schema
from aptien_ops.backends.sql_catalog import SqlCatalog
from aptien_ops.config import CatalogSettings, SecretRef
from aptien_ops.domain import (
    ApprovalState,
    ClusterLoad,
    Operator,
    OpsLogEntry,
    OpsLogHead,
    StateChange,
    StepRecord,
    Tenant,
    TenantCount,
    TenantState,
)
from aptien_ops.errors import (
    Conflict,
    ExitCode,
    IntegrityFailure,
    InternalError,
    InvalidInput,
    NotFound,
    Unavailable,
)

REPO = Path(__file__).resolve().parents[1]
T0 = datetime(2024, 3, 1, 9, 30, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/catalog/catalog.db"
    server = request.getfixturevalue("pg_server")
    return server.url(server.fresh_database("catalog"))


@pytest.fixture
def catalog(catalog_url: str):
    cat = SqlCatalog(CatalogSettings(url=catalog_url))
    cat.ensure_schema()
    yield cat
    cat.dispose()


def tenant(name: str, **changes: object) -> Tenant:
    values: dict[str, object] = dict(
        name=name,
        country="DE",
        region="eu",
        cluster="eu-1",
        state=TenantState.ACTIVE,
        contact_name="Ada Admin",
        contact_email="ada@example.com",
        created_at=T0,
        updated_at=T0,
    )
    values.update(changes)
    return Tenant(**values)  # type: ignore[arg-type]


def entry(seq: int, prev_hash: str, hmac: str, operator: str = "alice") -> OpsLogEntry:
    return OpsLogEntry(
        seq=seq,
        at=f"2024-03-01T09:30:00.{seq:06d}Z",
        operator=operator,
        os_account=operator,
        ssh_origin="10.0.0.1 50000 10.0.0.2 22",
        session_id="s-1",
        action="tenant.suspend",
        target=f"t-{seq}",
        params='{"reason":"unpaid"}',
        outcome="ok",
        approval_id=None,
        prev_hash=prev_hash,
        hmac=hmac,
    )


def append_one(cat: SqlCatalog, operator: str) -> int:
    """What the ops log service does: lock the head, chain onto it, move it."""
    with cat.transaction() as tx:
        head = tx.opslog.head(for_update=True)
        assert head is not None
        seq = head.seq + 1
        prev = head.hmac if head.seq else "genesis"
        mac = hashlib.sha256(f"{prev}|{seq}|{operator}".encode()).hexdigest()
        tx.opslog.append(entry(seq, prev, mac, operator), OpsLogHead(seq, mac, f"sig-{seq}"))
        return seq


# ----------------------------------------------------------------------------- subprocess workers


#: In each process of :func:`_pool`: where the two meet before they race.
_START: Any = None


def _meet_at(barrier: Any) -> None:
    global _START
    _START = barrier


def _start_together() -> None:
    """Return once the other process is here too (the timeout is a safety net only)."""
    _START.wait(timeout=120)


def _append_many(url: str, operator: str, count: int) -> int:
    cat = SqlCatalog(CatalogSettings(url=url))
    try:
        _start_together()
        for _ in range(count):
            append_one(cat, operator)
        return count
    finally:
        cat.dispose()


def _ensure(url: str) -> bool:
    cat = SqlCatalog(CatalogSettings(url=url))
    try:
        _start_together()
        return cat.ensure_schema().created
    finally:
        cat.dispose()


def _pool() -> ProcessPoolExecutor:
    """Two processes whose tasks start together (see :func:`_start_together`)."""
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(
        max_workers=2, mp_context=context, initializer=_meet_at, initargs=(context.Barrier(2),)
    )


# ----------------------------------------------------------------------------- schema


def test_schema_head_constant_is_the_alembic_script_head() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(REPO / "backends" / "catalog_migrations"))
    assert ScriptDirectory.from_config(config).get_heads() == [catalog_schema.SCHEMA_HEAD]


def test_new_catalog_is_created_on_first_use_and_found_current_the_second_time(
    catalog_url: str,
) -> None:
    cat = SqlCatalog(CatalogSettings(url=catalog_url))
    try:
        first = cat.ensure_schema()
        second = cat.ensure_schema()
    finally:
        cat.dispose()
    assert (first.schema_revision, first.created) == (catalog_schema.SCHEMA_HEAD, True)
    assert (second.schema_revision, second.created) == (catalog_schema.SCHEMA_HEAD, False)


def test_migrated_schema_matches_the_models_the_adapter_queries(
    catalog: SqlCatalog, catalog_url: str
) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = create_engine(catalog_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, catalog_schema.metadata) == []
    finally:
        engine.dispose()


def test_migrated_constraints_carry_the_names_the_models_give_them(
    catalog: SqlCatalog, catalog_url: str
) -> None:
    # compare_metadata skips CHECK constraints and names; a later migration must find these.
    def named(items: list[Any]) -> set[str]:
        return {item["name"] for item in items if item.get("name")}

    engine = create_engine(catalog_url)
    try:
        db = inspect(engine)
        for table in catalog_schema.metadata.sorted_tables:
            expected = {str(c.name) for c in table.constraints if c.name} | {
                str(i.name) for i in table.indexes
            }
            found = named(db.get_check_constraints(table.name)) | named(
                db.get_foreign_keys(table.name)
            )
            found |= named(db.get_indexes(table.name)) | named([db.get_pk_constraint(table.name)])
            if engine.dialect.name == "sqlite":
                expected.discard(f"pk_{table.name}")  # SQLite does not keep primary key names
                found.discard(f"pk_{table.name}")
            assert found == expected, table.name
    finally:
        engine.dispose()


def test_current_catalog_opens_without_importing_alembic(
    catalog: SqlCatalog, catalog_url: str
) -> None:
    script = (
        "import sys\n"
        "from aptien_ops.config import CatalogSettings\n"
        "from backends.sql_catalog import SqlCatalog\n"
        f"info = SqlCatalog(CatalogSettings(url={catalog_url!r})).ensure_schema()\n"
        "print(info.created, 'alembic' in sys.modules, 'sqlalchemy.orm' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "False", "False"]


def test_two_operators_opening_a_fresh_catalog_at_once_both_succeed(catalog_url: str) -> None:
    with _pool() as pool:
        created = sorted(pool.map(_ensure, [catalog_url, catalog_url]))
    assert created == [False, True]


def test_catalog_written_by_a_newer_aptien_ops_is_refused(
    catalog: SqlCatalog, catalog_url: str
) -> None:
    with catalog.transaction() as tx:
        tx.conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    newer = SqlCatalog(CatalogSettings(url=catalog_url))
    try:
        with pytest.raises(Conflict) as caught:
            newer.ensure_schema()
        with newer.read() as tx:
            assert (
                tx.conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "9999"
            )
    finally:
        newer.dispose()
    assert caught.value.exit_code == ExitCode.CONFLICT
    newer_than_this = (
        "the catalog schema (revision 9999) is newer than this aptien-ops "
        f"(revision {catalog_schema.SCHEMA_HEAD})"
    )
    assert caught.value.message == newer_than_this
    assert caught.value.hint == "upgrade aptien-ops before using this catalog"


def test_sqlite_catalog_is_private_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "catalog.db"
    cat = SqlCatalog(CatalogSettings(url=f"sqlite:///{path}"))
    try:
        cat.ensure_schema()
        with cat.read() as tx:
            assert tx.conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert tx.conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        cat.dispose()
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert path.stat().st_mode & 0o777 == 0o600


# ----------------------------------------------------------------------------- unreachable


def test_sqlite_catalog_in_a_directory_that_cannot_be_created_is_unavailable(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the catalog directory should be")
    cat = SqlCatalog(CatalogSettings(url=f"sqlite:///{blocker}/ops/catalog.db"))
    with pytest.raises(Unavailable) as on_schema:
        cat.ensure_schema()
    with pytest.raises(Unavailable) as on_read, cat.read() as tx:
        tx.tenants.all()
    assert on_schema.value.exit_code == ExitCode.UNAVAILABLE
    assert on_schema.value.message.startswith(
        f"cannot reach the catalog at sqlite:///{blocker}/ops/catalog.db: "
    )
    assert on_read.value.message.startswith("cannot reach the catalog at ")


def test_unreachable_postgresql_catalog_is_unavailable_and_never_shows_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = "Known-Pw-" + secrets.token_hex(8)
    monkeypatch.setenv("APTIEN_TEST_CATALOG_PW", password)
    settings = CatalogSettings(
        url=f"postgresql+psycopg://ops@/aptien_ops?host={tmp_path}/no-socket-here&port=5999",
        password=SecretRef(env="APTIEN_TEST_CATALOG_PW"),
    )
    cat = SqlCatalog(settings)
    try:
        with pytest.raises(Unavailable) as caught:
            cat.ensure_schema()
    finally:
        cat.dispose()
    shown = json.dumps(caught.value.as_json()) + caught.value.one_line() + str(caught.value)
    assert caught.value.exit_code == ExitCode.UNAVAILABLE
    assert caught.value.message.startswith(
        "cannot reach the catalog at postgresql+psycopg://ops:***@/aptien_ops"
    )
    assert password not in shown
    assert password not in cat.url_for_display


@pytest.mark.postgres
def test_catalog_role_connects_with_its_password_and_a_wrong_one_is_unavailable(
    pg_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    role = f"catalog_{secrets.token_hex(4)}"
    # URL-special characters prove the password is set on the URL object, not pasted in.
    right, wrong = "Right/@:%?&#-" + secrets.token_hex(8), "Wrong/@:%-" + secrets.token_hex(8)
    database = pg_server.fresh_database("catalog_role")
    pg_server.psql(
        f"CREATE ROLE {role} LOGIN PASSWORD '{right}'; ALTER DATABASE {database} OWNER TO {role};"
    )
    pg_server.psql(f"ALTER SCHEMA public OWNER TO {role};", dbname=database)
    url = pg_server.url(database, user=role)
    monkeypatch.setenv("APTIEN_TEST_CATALOG_PW", right)
    good = SqlCatalog(CatalogSettings(url=url, password=SecretRef(env="APTIEN_TEST_CATALOG_PW")))
    try:
        assert good.ensure_schema().created is True
    finally:
        good.dispose()
    monkeypatch.setenv("APTIEN_TEST_CATALOG_PW", wrong)
    bad = SqlCatalog(CatalogSettings(url=url, password=SecretRef(env="APTIEN_TEST_CATALOG_PW")))
    try:
        with pytest.raises(Unavailable) as caught:
            bad.ensure_schema()
    finally:
        bad.dispose()
    assert "password authentication failed" in caught.value.message
    shown = caught.value.one_line()
    for secret in (right, wrong, quote(right, safe=""), quote(wrong, safe="")):
        assert secret not in shown


def test_catalog_without_a_schema_reports_an_ops_error_not_a_driver_error(tmp_path: Path) -> None:
    cat = SqlCatalog(CatalogSettings(url=f"sqlite:///{tmp_path}/empty.db"))
    try:
        with pytest.raises(InternalError), cat.read() as tx:
            tx.tenants.all()
    finally:
        cat.dispose()


# ----------------------------------------------------------------------------- tenants


def test_operator_provisions_lists_and_updates_tenants(catalog: SqlCatalog) -> None:
    with catalog.transaction() as tx:
        tx.tenants.insert(tenant("acme"))
        tx.tenants.insert(tenant("globex", region="us", cluster="us-1", country="US"))
        tx.tenants.insert(tenant("initech", state=TenantState.SUSPENDED))
        tx.tenants.insert(tenant("gone", state=TenantState.PURGED))
    with catalog.transaction() as tx:
        acme = tx.tenants.get("acme", for_update=True)
        assert acme is not None
        tx.tenants.update(
            replace(
                acme,
                state=TenantState.SUSPENDED,
                contact_name="Bob",
                updated_at=T0 + timedelta(days=1),
            ),
            by="bob",
        )
    with catalog.read() as tx:
        acme = tx.tenants.get("acme")
        assert tx.tenants.get("nobody") is None
        assert [t.name for t in tx.tenants.all()] == ["acme", "globex", "gone", "initech"]
        assert [t.name for t in tx.tenants.all(region="eu", state=TenantState.SUSPENDED)] == [
            "acme",
            "initech",
        ]
        counts = tx.tenants.counts()
        loads = tx.tenants.cluster_loads()
    assert acme == tenant(
        "acme",
        state=TenantState.SUSPENDED,
        contact_name="Bob",
        updated_at=T0 + timedelta(days=1),
        version=2,
        changed_by="bob",
    )
    assert counts == [
        TenantCount("eu", TenantState.PURGED, 1),
        TenantCount("eu", TenantState.SUSPENDED, 2),
        TenantCount("us", TenantState.ACTIVE, 1),
    ]
    assert loads == [ClusterLoad("eu", "eu-1", 2), ClusterLoad("us", "us-1", 1)]


def test_an_update_stores_every_field_as_given(catalog: SqlCatalog) -> None:
    changed = tenant(
        "acme",
        cluster="eu-2",
        state=TenantState.CANCELLED,
        state_reason="retain 30 days",
        retain_until=T0 + timedelta(days=30),
        updated_at=T0 + timedelta(hours=1),
        schema_version=2,
        backup_recipient="age1xyz",
    )
    with catalog.transaction() as tx:
        tx.tenants.insert(tenant("acme"))
        stored = tx.tenants.update(changed, by="bob")
        assert stored == replace(changed, version=2, changed_by="bob")
        assert tx.tenants.get("acme") == stored
    with catalog.transaction() as tx:
        # back, None included: nothing is left as it was
        tx.tenants.update(tenant("acme", version=2), by="carol")
    with catalog.read() as tx:
        assert tx.tenants.get("acme") == tenant("acme", version=3, changed_by="carol")


def test_registered_cluster_without_tenants_shows_zero_load(catalog: SqlCatalog) -> None:
    with catalog.transaction() as tx:
        tx.conn.execute(
            insert(catalog_schema.clusters).values(
                name="eu-2", region="eu", kind="sqlite", capacity=10
            )
        )
        tx.tenants.insert(tenant("acme"))
        assert tx.tenants.cluster_loads() == [
            ClusterLoad("eu", "eu-1", 1),
            ClusterLoad("eu", "eu-2", 0),
        ]


def test_provisioning_a_taken_tenant_name_is_a_conflict(catalog: SqlCatalog) -> None:
    with catalog.transaction() as tx:
        tx.tenants.insert(tenant("acme"))
    with pytest.raises(Conflict, match="tenant 'acme' exists already"), catalog.transaction() as tx:
        tx.tenants.insert(tenant("acme", country="FR"))
    with catalog.read() as tx:
        assert [t.country for t in tx.tenants.all()] == ["DE"]


def test_updating_a_missing_tenant_is_not_found(catalog: SqlCatalog) -> None:
    with (
        pytest.raises(NotFound, match="tenant 'ghost' does not exist"),
        catalog.transaction() as tx,
    ):
        tx.tenants.update(tenant("ghost"), by="bob")


def test_provisioning_run_holds_a_lease_on_the_tenant_row(catalog: SqlCatalog) -> None:
    lease_until = T0 + timedelta(minutes=10)
    with catalog.transaction() as tx:
        tx.tenants.insert(
            tenant(
                "acme",
                state=TenantState.PROVISIONING,
                lease_owner="bastion:42:s-1",
                lease_until=lease_until,
            )
        )
    with catalog.transaction() as tx:
        locked = tx.tenants.get("acme", for_update=True)
        assert locked is not None and (locked.lease_owner, locked.lease_until) == (
            "bastion:42:s-1",
            lease_until,
        )
        tx.tenants.update(
            replace(
                locked,
                state=TenantState.ACTIVE,
                schema_version=2,
                backup_recipient="age1xyz",
                lease_owner=None,
                lease_until=None,
            ),
            by="bastion",
        )
    with catalog.read() as tx:
        done = tx.tenants.get("acme")
    assert done is not None
    assert (
        done.state,
        done.schema_version,
        done.backup_recipient,
        done.lease_owner,
        done.lease_until,
    ) == (
        TenantState.ACTIVE,
        2,
        "age1xyz",
        None,
        None,
    )


def test_provisioning_steps_are_recorded_once_each(catalog: SqlCatalog) -> None:
    with catalog.transaction() as tx:
        tx.tenants.insert(tenant("acme", state=TenantState.PROVISIONING))
        tx.tenant_history.mark_step("acme", "reserve", T0, "cluster eu-1")
        tx.tenant_history.mark_step("acme", "owner-role", T0 + timedelta(seconds=1))
    with catalog.transaction() as tx:
        tx.tenant_history.mark_step(
            "acme", "reserve", T0 + timedelta(hours=1), "rerun"
        )  # a rerun keeps the first record
        tx.tenant_history.mark_step("acme", "database", T0 + timedelta(seconds=2), None)
    with catalog.read() as tx:
        assert tx.tenant_history.steps("acme") == [
            StepRecord("reserve", T0, "cluster eu-1"),
            StepRecord("owner-role", T0 + timedelta(seconds=1)),
            StepRecord("database", T0 + timedelta(seconds=2)),
        ]
        assert tx.tenant_history.steps("nobody") == []


def test_tenant_history_keeps_every_state_change_in_order(catalog: SqlCatalog) -> None:
    changes = [
        StateChange(T0, None, "provisioning", "alice", "residency override: FR to us"),
        StateChange(T0 + timedelta(minutes=1), "provisioning", "active", "alice"),
        StateChange(T0 + timedelta(days=3), "active", "suspended", "bob", "unpaid"),
    ]
    with catalog.transaction() as tx:
        tx.tenants.insert(tenant("acme"))
        for change in changes:
            tx.tenant_history.add_state_change("acme", change)
    with catalog.read() as tx:
        assert tx.tenant_history.state_changes("acme") == changes


def test_tenant_history_says_when_each_tenant_last_entered_a_state_in_one_read(
    catalog: SqlCatalog,
) -> None:
    with catalog.transaction() as tx:
        for name in ("acme", "globex", "initech"):
            tx.tenants.insert(tenant(name))
        for name, days in (("acme", 1), ("acme", 5), ("globex", 2)):
            at = T0 + timedelta(days=days)
            tx.tenant_history.add_state_change(name, StateChange(at, "active", "cancelled", "al"))
            tx.tenant_history.add_state_change(name, StateChange(at, "cancelled", "active", "al"))
        tx.tenant_history.add_state_change("initech", StateChange(T0, None, "active", "al"))
    with catalog.read() as tx:
        assert tx.tenant_history.last_entered("cancelled") == {
            "acme": T0 + timedelta(days=5),
            "globex": T0 + timedelta(days=2),
        }
        assert tx.tenant_history.last_entered("purged") == {}


def test_sealed_tenant_secrets_are_stored_replaced_and_destroyed(catalog: SqlCatalog) -> None:
    with catalog.transaction() as tx:
        tx.tenants.insert(tenant("acme"))
        tx.secrets.put("acme", "owner_password", "sealed-pw-1")
        tx.secrets.put("acme", "backup_identity", "sealed-id-1")
    with catalog.transaction() as tx:
        tx.secrets.put("acme", "owner_password", "sealed-pw-2")
        tx.secrets.destroy("acme", "backup_identity")
        tx.secrets.destroy("acme", "never-set")
    with catalog.read() as tx:
        assert tx.secrets.get("acme", "owner_password") == "sealed-pw-2"
        assert tx.secrets.get("acme", "backup_identity") is None
        assert tx.secrets.get("ghost", "owner_password") is None


def _catalog_files(catalog: SqlCatalog, request: pytest.FixtureRequest) -> list[Path]:
    if catalog.sqlite_path is not None:
        return [
            p
            for p in catalog.sqlite_path.parent.iterdir()
            if p.name.startswith(catalog.sqlite_path.name)
        ]
    server = request.getfixturevalue("pg_server")
    server.psql("CHECKPOINT")  # dirty pages reach the files only at a checkpoint
    with catalog.read() as tx:
        relation = tx.conn.execute(text("SELECT pg_relation_filepath('tenant_secrets')")).scalar()
    return [p for p in server.data_dir.glob(f"{relation}*")]


def test_purge_leaves_no_copy_of_the_destroyed_backup_identity_in_the_catalog_files(
    catalog: SqlCatalog, request: pytest.FixtureRequest
) -> None:
    marker = "AGE-SECRET-SEALED-" + secrets.token_hex(16)
    with catalog.transaction() as tx:
        tx.tenants.insert(tenant("acme"))
        tx.secrets.put("acme", "backup_identity", marker)
    assert any(
        marker.encode() in p.read_bytes() for p in _catalog_files(catalog, request)
    )  # it was on disk
    with catalog.transaction() as tx:
        tx.secrets.destroy("acme", "backup_identity")
    files = _catalog_files(catalog, request)
    assert files
    assert not any(marker.encode() in p.read_bytes() for p in files)


def test_failed_command_leaves_the_catalog_unchanged(catalog: SqlCatalog) -> None:
    with pytest.raises(InvalidInput), catalog.transaction() as tx:
        tx.tenants.insert(tenant("acme"))
        raise InvalidInput("the operator's later step failed")
    with catalog.read() as tx:
        assert tx.tenants.all() == []


def test_the_tenants_json_written_by_the_database_is_their_as_json(catalog: SqlCatalog) -> None:
    with catalog.transaction() as tx:
        tx.tenants.insert(
            tenant(
                "acme",
                schema_version=3,
                backup_recipient="age1qqq",
                lease_owner="h:1:s",
                lease_until=T0,
                state_reason="unpaid",
                retain_until=T0 + timedelta(days=30),
                purged_at=T0 + timedelta(days=31, microseconds=5),
            )
        )
        tx.tenants.insert(
            tenant(
                "beta",
                cluster=None,
                contact_name=None,
                contact_email=None,
                created_at=T0 + timedelta(microseconds=1),
                updated_at=T0 + timedelta(microseconds=120),
            )
        )
        tx.tenants.insert(
            tenant(
                "gamma",
                region="us",
                state=TenantState.CANCELLED,
                created_at=datetime(2024, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
            )
        )
    with catalog.read() as tx:
        rows = json.loads(tx.tenants.rows_json())
        eu_rows = json.loads(tx.tenants.rows_json(region="eu"))
        cancelled = json.loads(tx.tenants.rows_json(state=TenantState.CANCELLED))
        expected = [t.as_json() for t in tx.tenants.all()]
    assert rows == expected
    assert [list(row) for row in rows] == [list(e) for e in expected]  # same key order as as_json()
    assert json.loads(json.dumps(rows)) == expected
    assert (rows[0]["retain_until"], rows[0]["purged_at"]) == (
        "2024-03-31T09:30:00Z",
        "2024-04-01T09:30:00.000005Z",
    )
    assert [r["created_at"] for r in rows] == [
        "2024-03-01T09:30:00Z",
        "2024-03-01T09:30:00.000001Z",
        "2024-12-31T23:59:59.999999Z",
    ]
    assert [r["name"] for r in eu_rows] == ["acme", "beta"]
    assert [r["name"] for r in cancelled] == ["gamma"]


def test_the_tenants_json_is_in_name_and_key_order_and_ascii_only(
    catalog: SqlCatalog,
) -> None:
    with catalog.read() as tx:
        assert json.loads(tx.tenants.rows_json()) == []
    with catalog.transaction() as tx:
        # Inserted out of name order; one contact with non-ASCII letters, a quote, a backslash
        # and a control character; one with nothing but NULLs where it can.
        tx.tenants.insert(
            tenant(
                "zeta",
                contact_name='Zoë "Z" Müller\\\x07',
                schema_version=2,
                retain_until=T0 + timedelta(days=30, microseconds=7),
            )
        )
        tx.tenants.insert(
            tenant("alpha", cluster=None, contact_name=None, contact_email=None, region="us")
        )
        tx.tenants.insert(tenant("mid", state=TenantState.CANCELLED, backup_recipient="age1qqq"))
    with catalog.read() as tx:
        text, rows = tx.tenants.rows_json(), [t.as_json() for t in tx.tenants.all()]
        eu_text = tx.tenants.rows_json(region="eu")
        eu_rows = [t.as_json() for t in tx.tenants.all(region="eu")]
        cancelled = tx.tenants.rows_json(state=TenantState.CANCELLED)
        plain_text = tx.tenants.rows_json(region="us")  # all ASCII
        plain_rows = [t.as_json() for t in tx.tenants.all(region="us")]
    assert json.loads(plain_text, object_pairs_hook=lambda pairs: pairs) == [
        list(r.items()) for r in plain_rows
    ]
    assert text.isascii() and "\\u00eb" in text.lower()  # ë escaped, as emit_json does
    parsed = json.loads(text, object_pairs_hook=lambda pairs: pairs)  # keeps key order
    assert [dict(obj) for obj in parsed] == rows
    assert [[key for key, _ in obj] for obj in parsed] == [list(row) for row in rows]
    assert [row["name"] for row in rows] == ["alpha", "mid", "zeta"]
    assert rows[2]["contact_name"] == 'Zoë "Z" Müller\\\x07' and rows[2]["schema_version"] == 2
    assert json.loads(eu_text) == eu_rows and [r["name"] for r in eu_rows] == ["mid", "zeta"]
    assert [r["name"] for r in json.loads(cancelled)] == ["mid"]


def test_timestamps_come_back_as_aware_utc(catalog: SqlCatalog) -> None:
    ist = timezone(timedelta(hours=5, minutes=30))
    local = datetime(2024, 6, 1, 12, 0, 0, 123456, tzinfo=ist)
    with catalog.transaction() as tx:
        tx.tenants.insert(
            tenant(
                "acme",
                created_at=local,
                updated_at=local,
                retain_until=local,
                purged_at=local,
                lease_until=local,
            )
        )
        tx.operators.insert(Operator("alice", frozenset({"admin"}), None, local))
        approval_id = tx.approvals.insert("tenant.purge", "acme", {}, "alice", local)
        pending = tx.approvals.get(approval_id)
        assert pending is not None
        tx.approvals.decide(pending, ApprovalState.REJECTED, "bob", local, "no")
        tx.tenant_history.mark_step("acme", "reserve", local)
        tx.tenant_history.add_state_change(
            "acme", StateChange(local, None, "provisioning", "alice")
        )
    with catalog.read() as tx:
        acme = tx.tenants.get("acme")
        assert acme is not None
        stamps = [
            acme.created_at,
            acme.updated_at,
            acme.retain_until,
            acme.purged_at,
            acme.lease_until,
        ]
        stamps += [tx.operators.get("alice").added_at]  # type: ignore[union-attr]
        approval = tx.approvals.get(approval_id)
        assert approval is not None
        stamps += [approval.requested_at, approval.decided_at]
        stamps += [
            tx.tenant_history.steps("acme")[0].done_at,
            tx.tenant_history.state_changes("acme")[0].at,
        ]
    for stamp in stamps:
        assert stamp == local
        assert stamp.tzinfo is UTC
        assert stamp.hour == 6 and stamp.minute == 30 and stamp.microsecond == 123456


# ----------------------------------------------------------------------------- operators, approvals


def test_admin_adds_operators_and_changes_their_roles(catalog: SqlCatalog) -> None:
    with catalog.transaction() as tx:
        tx.operators.insert(Operator("alice", frozenset({"admin", "operator"}), None, T0))
        tx.operators.insert(Operator("bob", frozenset(), "alice", T0, active=False))
    later = T0 + timedelta(hours=1)
    with catalog.transaction() as tx:
        for name, roles in (("bob", {"viewer", "security"}), ("alice", set())):
            read = tx.operators.get(name)
            assert read is not None
            tx.operators.set_roles(read, frozenset(roles), by="alice", at=later)
    bob = Operator("bob", frozenset({"security", "viewer"}), "alice", T0, False, 2, "alice", later)
    with catalog.read() as tx:
        assert tx.operators.get("carol") is None
        assert tx.operators.all() == [
            Operator("alice", frozenset(), None, T0, True, 2, "alice", later),
            bob,
        ]
        assert tx.operators.get("bob") == bob


def test_adding_an_existing_operator_is_a_conflict_and_roles_of_a_stranger_not_found(
    catalog: SqlCatalog,
) -> None:
    with catalog.transaction() as tx:
        tx.operators.insert(Operator("alice", frozenset({"admin"}), None, T0))
    with (
        pytest.raises(Conflict, match="operator 'alice' exists already"),
        catalog.transaction() as tx,
    ):
        tx.operators.insert(Operator("alice", frozenset({"viewer"}), None, T0))
    with (
        pytest.raises(NotFound, match="operator 'mallory' does not exist"),
        catalog.transaction() as tx,
    ):
        mallory = Operator("mallory", frozenset(), None, T0)
        tx.operators.set_roles(mallory, frozenset({"admin"}), by="alice", at=T0)


def test_four_eyes_request_is_recorded_and_decided(catalog: SqlCatalog) -> None:
    params = {"tenant": "acme", "retain_days": 30, "nested": {"b": [1, 2], "a": None}}
    with catalog.transaction() as tx:
        first = tx.approvals.insert("tenant.purge", "acme", params, "alice", T0)
        second = tx.approvals.insert("operator.grant-admin", "bob", {}, "alice", T0)
    with catalog.transaction() as tx:
        locked = tx.approvals.get(first, for_update=True)
        assert locked is not None and locked.state == ApprovalState.PENDING
        tx.approvals.decide(locked, ApprovalState.APPROVED, "bob", T0 + timedelta(minutes=5), None)
    with catalog.read() as tx:
        decided = tx.approvals.get(first)
        pending = tx.approvals.all(ApprovalState.PENDING)
        everything = tx.approvals.all()
        assert tx.approvals.get(9999) is None
    assert second > first
    assert decided is not None
    assert (decided.params, decided.state, decided.decided_by) == (
        params,
        ApprovalState.APPROVED,
        "bob",
    )
    assert decided.decided_at == T0 + timedelta(minutes=5)
    assert [a.id for a in pending] == [second]
    assert [a.id for a in everything] == [first, second]
    ghost = replace(decided, id=9999)
    with pytest.raises(NotFound, match="approval 9999 does not exist"), catalog.transaction() as tx:
        tx.approvals.decide(ghost, ApprovalState.REJECTED, "bob", T0, "no")


# ----------------------------------------------------------------------------- ops log


def test_ops_log_entries_and_signed_head_round_trip(catalog: SqlCatalog) -> None:
    with catalog.read() as tx:
        assert tx.opslog.head() == OpsLogHead(0, "", "")  # created by the migration, unsigned
        assert tx.opslog.entries() == []
    for _ in range(3):
        append_one(catalog, "alice")
    with catalog.read() as tx:
        head = tx.opslog.head()
        entries = tx.opslog.entries()
        newest = tx.opslog.entries(limit=2, newest_first=True)
        streamed = list(tx.opslog.stream())
    assert (
        head is not None
        and head.seq == 3
        and head.hmac == entries[-1].hmac
        and head.signature == "sig-3"
    )
    assert [e.seq for e in entries] == [1, 2, 3]
    assert entries[0] == entry(1, "genesis", entries[0].hmac)
    assert [e.prev_hash for e in entries[1:]] == [e.hmac for e in entries[:-1]]
    assert [e.seq for e in newest] == [3, 2]
    assert streamed == entries


def test_appending_on_a_stale_head_is_a_lost_race(catalog: SqlCatalog) -> None:
    append_one(catalog, "alice")
    with (
        pytest.raises(Conflict, match="lost a race with another operator"),
        catalog.transaction() as tx,
    ):
        tx.opslog.append(entry(1, "genesis", "forged"), OpsLogHead(1, "forged", "sig"))
    with catalog.read() as tx:
        assert [e.hmac for e in tx.opslog.entries()] != ["forged"]


def test_appending_with_the_head_row_gone_is_an_integrity_failure_not_a_race(
    catalog: SqlCatalog,
) -> None:
    append_one(catalog, "alice")
    with catalog.transaction() as tx:
        if tx.pg:  # past the append-only trigger, as the owner could
            tx.conn.execute(text("SET LOCAL aptien_ops.migrating = 'on'"))
        tx.conn.execute(text("DELETE FROM opslog_head"))
    with (
        pytest.raises(IntegrityFailure, match="head checkpoint row is missing"),
        catalog.transaction() as tx,
    ):
        tx.opslog.append(entry(2, "h1", "h2"), OpsLogHead(2, "h2", "sig-2"))
    with catalog.read() as tx:
        assert [e.seq for e in tx.opslog.entries()] == [1]


@pytest.mark.postgres
def test_postgresql_keeps_the_ops_log_append_only_outside_migrations(pg_server) -> None:
    url = pg_server.url(pg_server.fresh_database("catalog"))
    cat = SqlCatalog(CatalogSettings(url=url))
    try:
        cat.ensure_schema()
        append_one(cat, "alice")
        for statement in ("UPDATE opslog SET target = 'x'", "DELETE FROM opslog"):
            with (
                pytest.raises(IntegrityFailure, match="opslog is append-only"),
                cat.transaction() as tx,
            ):
                tx.conn.execute(text(statement))
        with cat.transaction() as tx:  # what a migration may do
            tx.conn.execute(text("SET LOCAL aptien_ops.migrating = 'on'"))
            tx.conn.execute(text("UPDATE opslog SET target = 'migrated'"))
        with cat.read() as tx:
            assert [e.target for e in tx.opslog.entries()] == ["migrated"]
    finally:
        cat.dispose()


def test_ops_log_streams_more_entries_than_one_batch(catalog: SqlCatalog) -> None:
    with catalog.transaction() as tx:
        prev = "genesis"
        for seq in range(1, 1101):
            tx.opslog.append(entry(seq, prev, f"h{seq}"), OpsLogHead(seq, f"h{seq}", "s"))
            prev = f"h{seq}"
    with catalog.read() as tx:
        seqs = [e.seq for e in tx.opslog.stream()]
    assert seqs == list(range(1, 1101))


def test_two_operators_appending_at_once_keep_one_unbroken_chain(
    catalog: SqlCatalog, catalog_url: str
) -> None:
    per_worker = 25
    with _pool() as pool:
        done = list(pool.map(_append_many, [catalog_url] * 2, ["alice", "bob"], [per_worker] * 2))
    assert done == [per_worker, per_worker]
    with catalog.read() as tx:
        entries = tx.opslog.entries()
        head = tx.opslog.head()
    assert [e.seq for e in entries] == list(range(1, 2 * per_worker + 1))
    assert entries[0].prev_hash == "genesis"
    assert [e.prev_hash for e in entries[1:]] == [e.hmac for e in entries[:-1]]
    assert sorted(e.operator for e in entries) == ["alice"] * per_worker + ["bob"] * per_worker
    assert head == OpsLogHead(2 * per_worker, entries[-1].hmac, f"sig-{2 * per_worker}")


@pytest.mark.postgres
def test_connection_settings_in_the_catalog_url_win_over_the_consoles_defaults(
    pg_server,
) -> None:
    """``application_name`` (and ``connect_timeout``) from the URL reach the server; without
    them the console's defaults do."""
    database = pg_server.fresh_database("catalog_url")
    for suffix, name in (("&application_name=ops-dr-drill", "ops-dr-drill"), ("", "aptien-ops")):
        url = pg_server.url(database) + suffix
        catalog = SqlCatalog(CatalogSettings(url=url))
        try:
            catalog.ensure_schema()  # its pool keeps the connection open
            seen = pg_server.psql(
                f"SELECT application_name FROM pg_stat_activity WHERE datname = '{database}'"
            )
            assert name in seen.split()
        finally:
            catalog.dispose()
