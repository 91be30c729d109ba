"""fleet check finds every kind of drift; fleet migrate brings schemas up to date."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from aptien_ops.composition import Console, open_console
from aptien_ops.config import load_settings
from aptien_ops.errors import InvalidInput
from aptien_ops.services.provisioning import ProvisionRequest
from aptien_ops.tenant_schema import TENANT_SCHEMA_VERSION as LATEST

from cli_runner import run_cli
from fleet_configs import (  # noqa: F401 - the fixtures kind, config and ops
    eu_cluster_kind,
    eu_fleet_config,
    eu_fleet_console,
    eu_unreachable,
    sandbox_with_eu_on,
)


def kinds(ops: Console, tenant: str) -> set[str]:
    return {f.kind for f in ops.fleet.check().findings if f.tenant == tenant}


def test_an_orphan_database_is_found(ops: Console, tenant_name: str) -> None:
    cluster = ops.settings.regions["eu"].clusters[0].name
    ops.ctx.store(cluster).create_database(tenant_name, "pw-of-an-orphan-0123456789")
    assert kinds(ops, tenant_name) == {"orphan-database"}


def test_a_missing_database_is_found(ops: Console, tenant_name: str) -> None:
    tenant = ops.provisioning.provision(ProvisionRequest(tenant_name, "DE"))
    ops.ctx.store(tenant.cluster or "").drop_database(tenant_name)
    assert kinds(ops, tenant_name) == {"missing-database"}


def test_a_schema_behind_is_found_and_fleet_migrate_brings_it_up(
    ops: Console, tenant_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import aptien_ops.services.provisioning as provisioning

    with monkeypatch.context() as patch:
        patch.setattr(provisioning, "TENANT_SCHEMA_VERSION", 1)
        tenant = ops.provisioning.provision(ProvisionRequest(tenant_name, "DE"))
    assert tenant.schema_version == 1
    assert kinds(ops, tenant_name) == {"schema-behind"}
    results = {r.tenant: r for r in ops.fleet.migrate(region="eu", parallel=2)}
    assert (
        results[tenant_name].before,
        results[tenant_name].after,
        results[tenant_name].error,
    ) == (1, LATEST, None)
    assert kinds(ops, tenant_name) == set()
    assert ops.tenants.show(tenant_name).schema_version == LATEST
    again = {r.tenant: r for r in ops.fleet.migrate(region="eu")}
    assert (again[tenant_name].before, again[tenant_name].after) == (LATEST, LATEST)


def test_a_tenant_past_retention_is_reported_awaiting_purge(ops: Console, tenant_name: str) -> None:
    ops.provisioning.provision(ProvisionRequest(tenant_name, "DE"))
    ops.lifecycle.cancel(tenant_name, 0)
    assert kinds(ops, tenant_name) == {"past-retention"}


def test_a_cluster_over_capacity_is_reported(tmp_path: Path, tenant_name: str) -> None:
    config = sandbox_with_eu_on("sqlite", tmp_path / "cap", capacity=5)
    console = open_console(config)
    for suffix in "ab":
        console.provisioning.provision(ProvisionRequest(tenant_name + suffix, "DE"))
    console.close()
    config.write_text(config.read_text().replace("capacity = 5", "capacity = 1", 1))
    result = run_cli("--json", "fleet", "check", config=config)
    assert result.code == 7
    assert [f["kind"] for f in result.json()] == ["over-capacity"]
    assert result.error()["code"] == "integrity"


def test_a_clean_fleet_exits_0(tmp_path: Path) -> None:
    config = sandbox_with_eu_on("sqlite", tmp_path / "clean")
    assert run_cli("sandbox", "init", "--path", config.parent).code == 0
    result = run_cli("--json", "fleet", "check", config=config)
    assert result.code == 0 and result.json() == []


def test_fleet_migrate_refuses_bad_arguments(ops: Console) -> None:
    with pytest.raises(InvalidInput):
        ops.fleet.migrate(parallel=0)
    with pytest.raises(InvalidInput):
        ops.fleet.migrate(region="apac")


# ----------------------------------------------------------------------------- per cluster


def provisioned(ops: Console, name: str) -> str:
    """The tenant's cluster, once provisioned for DE (region eu: SQLite, then PostgreSQL)."""
    return ops.provisioning.provision(ProvisionRequest(name, "DE")).cluster or ""


def findings_of(ops: Console, tenant: str, *, deep: bool = False) -> dict[str, str]:
    return {f.kind: f.detail for f in ops.fleet.check(deep=deep).findings if f.tenant == tenant}


def test_a_suspended_tenant_whose_role_can_log_in_is_drift(ops: Console, tenant_name: str) -> None:
    cluster = provisioned(ops, tenant_name)
    ops.lifecycle.suspend(tenant_name, "security incident")
    assert findings_of(ops, tenant_name) == {}
    ops.ctx.store(cluster).set_login(tenant_name, True)  # behind the catalog's back
    assert findings_of(ops, tenant_name) == {
        "login-drift": "suspended in the catalog, but the cluster lets its users log in"
    }


def test_an_active_tenant_that_cannot_log_in_is_drift(ops: Console, tenant_name: str) -> None:
    cluster = provisioned(ops, tenant_name)
    ops.ctx.store(cluster).set_login(tenant_name, False)
    assert findings_of(ops, tenant_name) == {
        "login-drift": "active in the catalog, but the cluster refuses its users' logins"
    }


def test_a_database_others_may_reach_is_access_drift(
    ops: Console, tenant_name: str, request: pytest.FixtureRequest
) -> None:
    cluster = provisioned(ops, tenant_name)
    store = ops.ctx.store(cluster)
    if store.kind == "postgresql":
        server = request.getfixturevalue("pg_server")
        server.psql(f'GRANT CONNECT ON DATABASE "tenant_{tenant_name}" TO PUBLIC')
    else:
        store.path(tenant_name).chmod(0o640)  # type: ignore[attr-defined]
    found = findings_of(ops, tenant_name)
    assert set(found) == {"access-drift"}
    assert "PUBLIC" in found["access-drift"] or "mode 0640" in found["access-drift"]


def _record_schema(ops: Console, cluster: str, tenant: str, version: int | None, pg: Any) -> None:
    """Write (None: remove) the schema version the cluster records, as no code of ours does."""
    store = ops.ctx.store(cluster)
    if store.kind == "postgresql":
        text = "NULL" if version is None else f"'aptien-ops tenant schema {version}'"
        pg.psql(f'COMMENT ON DATABASE "tenant_{tenant}" IS {text}')
    else:
        with store.connect(tenant) as conn:
            conn.execute(f"PRAGMA user_version = {version or 0}")


def test_a_schema_version_the_cluster_does_not_record_is_recorded_by_fleet_migrate(
    ops: Console, tenant_name: str, request: pytest.FixtureRequest
) -> None:
    cluster = provisioned(ops, tenant_name)
    pg = request.getfixturevalue("pg_server") if "pg" in cluster else None
    _record_schema(ops, cluster, tenant_name, None, pg)  # a tenant from before the record
    assert set(findings_of(ops, tenant_name)) == {"schema-unrecorded"}
    [result] = [r for r in ops.fleet.migrate(region="eu") if r.tenant == tenant_name]
    assert (result.before, result.after, result.error) == (LATEST, LATEST, None)
    assert findings_of(ops, tenant_name) == {}


def test_deep_reads_each_database_and_finds_a_record_that_is_not_the_truth(
    ops: Console, tenant_name: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    import aptien_ops.services.provisioning as provisioning

    with monkeypatch.context() as patch:
        patch.setattr(provisioning, "TENANT_SCHEMA_VERSION", 1)
        cluster = provisioned(ops, tenant_name)
    pg = request.getfixturevalue("pg_server") if "pg" in cluster else None
    _record_schema(ops, cluster, tenant_name, LATEST, pg)  # says the latest; tenant_meta 1
    sessions = f"database=tenant_{tenant_name} "
    before = pg.server_log().count(sessions) if pg else 0
    assert findings_of(ops, tenant_name) == {}  # the cluster's record is all a check reads
    if pg is not None:
        assert pg.server_log().count(sessions) == before  # no session in the database
    deep = findings_of(ops, tenant_name, deep=True)
    assert deep == {
        "schema-behind": f"schema version 1 < {LATEST}; run fleet migrate",
        "schema-unrecorded": f"the cluster records schema version {LATEST}, the database holds 1;"
        " run fleet migrate",
    }
    if pg is not None:
        assert pg.server_log().count(sessions) > before
    ops.fleet.migrate(region="eu")
    assert findings_of(ops, tenant_name, deep=True) == {}


def test_an_unreachable_cluster_is_exit_6_with_a_hint_and_the_rest_still_checked(
    config: Path, ops: Console, tenant_name: str, tmp_path: Path
) -> None:
    us = ops.provisioning.provision(ProvisionRequest(tenant_name, "US")).cluster or ""
    ops.ctx.store(us).drop_database(tenant_name)  # drift on the cluster that is up
    eu = ops.settings.regions["eu"].clusters[0].name
    eu_unreachable(config, tmp_path / "nowhere")
    result = run_cli("--json", "fleet", "check", config=config)
    assert result.code == 6, result.stderr
    assert {(f["kind"], f["cluster"]) for f in result.json()} >= {
        ("cluster-unreachable", eu),
        ("missing-database", us),
    }
    error = result.error()
    assert error["code"] == "unavailable" and eu in error["message"]
    assert "reachable from this host" in error["hint"]
    plain = run_cli("fleet", "check", config=config)
    assert plain.code == 6 and "drift" not in plain.stderr
    assert not any(f["kind"] == "cluster-unreachable" for f in result.json() if f["cluster"] == us)


# ----------------------------------------------------------------------------- backups


def test_fleet_check_reconciles_backups_for_an_operator_and_lists_them_for_a_viewer(
    config: Path, ops: Console, tenant_name: str
) -> None:
    provisioned(ops, tenant_name)
    runs = [o for o in ops.backups.run([tenant_name]) + ops.backups.run([tenant_name])]
    first, second = [o.backup_id for o in runs if o.action == "backup"]
    catalog = load_settings(config).data_dir / "catalog.db"
    with sqlite3.connect(catalog) as db:  # as if the catalog were restored from before it
        db.execute("DELETE FROM backups WHERE id = ?", (first,))
    store = load_settings(config).regions["eu"].backup_store / tenant_name
    (store / f"{second}.manifest.json").unlink()

    viewer = run_cli("--json", "fleet", "check", config=config, operator="vic")
    assert viewer.code == 7
    mine = {
        (f["kind"], f["detail"].split()[1]) for f in viewer.json() if f["tenant"] == tenant_name
    }
    assert mine == {("backup-unindexed", first), ("backup-missing", second)}

    operator = run_cli("fleet", "check", config=config, operator="olga")
    assert operator.code == 7 and "backup reconcile indexed 1 backup(s)" in operator.stderr
    again = run_cli("--json", "fleet", "check", config=config, operator="olga")
    mine = {(f["kind"], f["detail"].split()[1]) for f in again.json() if f["tenant"] == tenant_name}
    assert mine == {("backup-missing", second)}  # the unindexed one is indexed now
    newest = [e for e in ops.opslog.list(limit=4) if e.action == "backup.reconcile"]
    assert [e.operator for e in newest] == ["olga"] * 4  # each check, each region, as olga's
