"""Two operators changing the same tenant, operator or request never overwrite each other:
each row carries a version every change bumps; a change that read another version is refused
with exit 5, saying what the row is now and who changed it, and changes nothing.

The catalog-level tests use two catalogs on the same database (two real connections); on
PostgreSQL they also interleave two open transactions. The races between processes are in
tests/test_row_version_races.py."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aptien_ops.backends.sql_catalog import SqlCatalog
from aptien_ops.composition import Console, open_console
from aptien_ops.config import CatalogSettings
from aptien_ops.domain import ApprovalState, Operator, Tenant, TenantState
from aptien_ops.errors import Conflict, PendingApproval, Stale
from aptien_ops.services.provisioning import ProvisionRequest

from cli_runner import run_cli
from sandboxes import sandbox_on

T0 = datetime(2026, 12, 4, 22, 0, tzinfo=UTC)
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _tenant(name: str = "acme") -> Tenant:
    return Tenant(name, "DE", "eu", "eu-1", TenantState.ACTIVE, "Ada", "ada@acme.example", T0, T0)


@pytest.fixture(params=BACKENDS)
def two(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[SqlCatalog, SqlCatalog]]:
    """Two catalogs (two operators' connections) on one database, holding tenant acme,
    operator bob (viewer) and a pending request."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/catalog/catalog.db"
    else:
        server = request.getfixturevalue("pg_server")
        url = server.url(server.fresh_database("versions"))
    first, second = SqlCatalog(CatalogSettings(url=url)), SqlCatalog(CatalogSettings(url=url))
    first.ensure_schema()
    with first.transaction() as tx:
        tx.tenants.insert(_tenant())
        tx.operators.insert(Operator("bob", frozenset({"viewer"}), "ada", T0))
        tx.approvals.insert("tenant.purge", "acme", {}, "ada", T0)
    yield first, second
    first.dispose()
    second.dispose()


def _read_tenant(catalog: SqlCatalog) -> Tenant:
    with catalog.read() as tx:
        found = tx.tenants.get("acme")
    assert found is not None
    return found


def test_a_tenant_change_that_read_an_older_version_is_refused_and_overwrites_nothing(
    two: tuple[SqlCatalog, SqlCatalog],
) -> None:
    alice, bob = two
    read_by_alice = _read_tenant(alice)
    assert read_by_alice.version == 1
    with bob.transaction() as tx:  # bob suspends it meanwhile
        current = tx.tenants.get("acme", for_update=True)
        assert current is not None
        stored = tx.tenants.update(
            replace(current, state=TenantState.SUSPENDED, state_reason="unpaid"), by="bob"
        )
    assert (stored.version, stored.changed_by) == (2, "bob")
    with pytest.raises(Stale) as lost, alice.transaction() as tx:
        tx.tenants.update(replace(read_by_alice, contact_name="Alice's edit"), by="alice")
    assert lost.value.exit_code == 5
    assert lost.value.message.startswith(
        'tenant acme changed since you read it (version 1, now 2): state is now suspended "unpaid"'
        " (by bob at 2026-12-04 22:00:00 UTC)"
    )
    assert "--if-version 2" in (lost.value.hint or "")
    now = _read_tenant(alice)
    assert (now.state, now.contact_name, now.version, now.changed_by) == (
        TenantState.SUSPENDED,
        "Ada",
        2,
        "bob",
    )


def test_operator_roles_and_a_decision_that_read_an_older_version_are_refused(
    two: tuple[SqlCatalog, SqlCatalog],
) -> None:
    alice, carol = two
    with alice.read() as tx:
        bob_read = tx.operators.get("bob")
        request_read = tx.approvals.get(1)
    assert bob_read is not None and request_read is not None
    with carol.transaction() as tx:
        tx.operators.set_roles(bob_read, frozenset({"viewer", "billing"}), by="carol", at=T0)
        tx.approvals.decide(request_read, ApprovalState.REJECTED, "carol", T0, "no")
    with pytest.raises(Stale, match=r"operator bob changed since you read it \(version 1, now 2"):
        with alice.transaction() as tx:
            tx.operators.set_roles(bob_read, frozenset({"viewer", "security"}), by="alice", at=T0)
    with pytest.raises(Stale, match="approval #1 changed since .*: it is now rejected .by carol"):
        with alice.transaction() as tx:
            tx.approvals.decide(request_read, ApprovalState.APPROVED, "alice", T0, None)
    with alice.read() as tx:
        bob, request = tx.operators.get("bob"), tx.approvals.get(1)
    assert bob is not None and request is not None
    assert (bob.roles, bob.version, bob.changed_by) == ({"viewer", "billing"}, 2, "carol")
    assert (request.state, request.decided_by, request.version) == ("rejected", "carol", 2)


@pytest.mark.postgres
@pytest.mark.parametrize("two", ["postgresql"], indirect=True)
def test_on_postgresql_a_write_waiting_on_a_concurrent_commit_is_refused(
    two: tuple[SqlCatalog, SqlCatalog],
) -> None:
    """Both transactions open at once: alice read (without a lock), bob changed and committed,
    then alice's ``UPDATE … WHERE version = 1`` finds no row at that version."""
    alice, bob = two
    with pytest.raises(Stale, match="state is now cancelled"), alice.transaction() as tx_a:
        read = tx_a.tenants.get("acme")
        assert read is not None
        with bob.transaction() as tx_b:
            current = tx_b.tenants.get("acme", for_update=True)
            assert current is not None
            tx_b.tenants.update(replace(current, state=TenantState.CANCELLED), by="bob")
        tx_a.tenants.update(replace(read, contact_email="alice@acme.example"), by="alice")
    now = _read_tenant(alice)
    assert (now.state, now.contact_email, now.version) == ("cancelled", "ada@acme.example", 2)


# -- through the services and the command line ---------------------------------------------


@pytest.fixture(params=BACKENDS)
def config(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A sandbox (SQLite or PostgreSQL catalog) with tenant acme-gmbh, provisioned by olga."""
    path = sandbox_on(request.param, tmp_path / "sbx", request)
    olga = _as(path, "olga")
    olga.provisioning.provision(ProvisionRequest("acme-gmbh", "DE", contact_name="Ann"))
    olga.close()
    return path


def _as(config: Path, operator: str) -> Console:
    return open_console(config, env={"APTIEN_OPS_OPERATOR": operator})


def test_the_cli_loser_exits_5_saying_what_changed_and_nothing_is_overwritten(
    config: Path,
) -> None:
    shown = run_cli("--json", "tenant", "show", "acme-gmbh", config=config, operator="olga")
    assert shown.code == 0, shown.stderr
    seen = shown.json()["version"]
    suspended = run_cli(
        "--json", "tenant", "suspend", "acme-gmbh", "--reason", "unpaid",
        "--if-version", str(seen), config=config, operator="ada",
    )  # fmt: skip
    assert suspended.code == 0, suspended.stderr
    assert suspended.json()["version"] == seen + 1
    lost = run_cli(
        "--json", "tenant", "update", "acme-gmbh", "--contact-name", "Bea",
        "--if-version", str(seen), config=config, operator="olga",
    )  # fmt: skip
    assert lost.code == 5, lost.stderr
    error = lost.error()
    assert error["code"] == "conflict"
    assert error["message"].startswith(
        f"tenant acme-gmbh changed since you read it (version {seen}, now {seen + 1}):"
        ' state is now suspended "unpaid" (by ada at '
    )
    again = run_cli("--json", "tenant", "show", "acme-gmbh", config=config, operator="olga")
    assert (again.json()["contact_name"], again.json()["state"]) == ("Ann", "suspended")
    # the loser's refusal is in the ops log, as every failed attempt
    ops = _as(config, "ada")
    try:
        entry = ops.opslog.list(limit=1)[0]
    finally:
        ops.close()
    assert (entry.action, entry.outcome, entry.operator) == (
        "tenant.update",
        "failed:conflict",
        "olga",
    )


def test_a_lifecycle_change_checks_the_version_before_touching_the_cluster(config: Path) -> None:
    olga, ada = _as(config, "olga"), _as(config, "ada")
    try:
        seen = olga.tenants.show("acme-gmbh")
        ada.tenants.update_contact("acme-gmbh", contact_email="it@acme.example")
        with pytest.raises(Stale, match="state is now active .by ada at"):
            olga.lifecycle.suspend("acme-gmbh", "audit", seen=seen.version)
        now = olga.tenants.show("acme-gmbh")
        assert (now.state, now.contact_email) == ("active", "it@acme.example")
        store = olga.ctx.store(now.cluster or "")
        with store.connect("acme-gmbh") as conn:  # the login flag was never touched
            row = conn.execute("SELECT value FROM tenant_meta WHERE key = 'suspended'").fetchone()
        assert row is None or row[0] == "0"
        assert olga.lifecycle.suspend("acme-gmbh", "audit", seen=now.version).version == (
            now.version + 1
        )
    finally:
        olga.close()
        ada.close()


def test_roles_and_decisions_carry_the_version_read(config: Path) -> None:
    ada, me = _as(config, "ada"), open_console(config)
    try:
        olga = next(o for o in ada.operators.list() if o.name == "olga")
        ada.operators.grant("olga", "billing", seen=olga.version)
        with pytest.raises(Stale, match="roles are now billing, operator .by ada at"):
            me.operators.grant("olga", "partner-manager", seen=olga.version)
        with pytest.raises(PendingApproval) as pending:
            ada.operators.grant("olga", "security")
        request = ada.approvals.show(pending.value.approval_id)
        ada.approvals.reject(request.id, "asked by mistake", seen=request.version)
        with pytest.raises(Stale, match=f"approval #{request.id} .*: it is now rejected .by ada"):
            me.approvals.approve(request.id, seen=request.version)
        with pytest.raises(Conflict, match="is rejected, not pending"):
            me.approvals.approve(request.id)
        roles = next(o for o in me.operators.list() if o.name == "olga").roles
        assert roles == {"billing", "operator"}
    finally:
        ada.close()
        me.close()


def test_the_cli_refuses_an_if_version_that_is_no_version(config: Path) -> None:
    refused = run_cli(
        "tenant", "resume", "acme-gmbh", "--if-version", "0", config=config, operator="ada"
    )
    assert refused.code == 2
    assert "--if-version" in refused.stderr
