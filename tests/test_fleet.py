"""fleet check finds every kind of drift; fleet migrate brings schemas up to date."""

from __future__ import annotations

from pathlib import Path

import pytest

from aptien_ops.composition import Console, open_console
from aptien_ops.errors import InvalidInput
from aptien_ops.services.provisioning import ProvisionRequest

from cli_runner import run_cli
from fleet_configs import (  # noqa: F401 - the fixtures kind, config and ops
    eu_cluster_kind,
    eu_fleet_config,
    eu_fleet_console,
    sandbox_with_eu_on,
)


def kinds(ops: Console, tenant: str) -> set[str]:
    return {f.kind for f in ops.fleet.check() if f.tenant == tenant}


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
    ) == (1, 2, None)
    assert kinds(ops, tenant_name) == set()
    assert ops.tenants.show(tenant_name).schema_version == 2
    again = {r.tenant: r for r in ops.fleet.migrate(region="eu")}
    assert (again[tenant_name].before, again[tenant_name].after) == (2, 2)


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
