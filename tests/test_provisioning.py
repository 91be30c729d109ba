"""Provisioning as resumable steps: the operator's story on SQLite and on real PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from aptien_ops.composition import Console, open_console
from aptien_ops.domain import TenantState
from aptien_ops.errors import Conflict, ExitCode, Forbidden, InvalidInput, OpsError, Unavailable
from aptien_ops.services.provisioning import STEPS, ProvisionRequest, secret_context
from aptien_ops.tenant_schema import TENANT_SCHEMA_VERSION

from cli_runner import run_cli, run_cli_process
from fleet_configs import (  # noqa: F401 - the fixtures kind, config and ops
    eu_cluster_kind,
    eu_fleet_config,
    eu_fleet_console,
    eu_unreachable,
    sandbox_with_eu_on,
)


def drift(console: Console, tenant: str) -> list[object]:
    """Fleet findings about one tenant (the suite's PostgreSQL is shared with other tests)."""
    return [
        f
        for f in console.fleet.check().findings
        if f.tenant == tenant or f.tenant is None and f.kind != "cluster-unreachable"
    ]


def cli_drift(config: Path, tenant: str) -> list[dict[str, object]]:
    check = run_cli("--json", "fleet", "check", config=config)
    assert check.code in (0, 7), check.stderr
    return [f for f in check.json() if f["tenant"] == tenant]


def provision(console: Console, name: str, country: str = "DE", **kw: str) -> object:
    return console.provisioning.provision(ProvisionRequest(name, country, **kw))


def test_a_german_client_gets_its_own_database_in_eu_with_every_step_recorded(
    ops: Console, tenant_name: str
) -> None:
    seen: list[tuple[str, str]] = []
    tenant = ops.provisioning.provision(
        ProvisionRequest(tenant_name, "de"), progress=lambda s, st: seen.append((s, st))
    )
    assert (tenant.state, tenant.region, tenant.schema_version) == (
        "active",
        "eu",
        TENANT_SCHEMA_VERSION,
    )
    assert tenant.backup_recipient and tenant.backup_recipient.startswith("age1")
    assert [s for s, st in seen if st == "done"] == list(STEPS[1:])
    detail = ops.tenants.detail(tenant_name)
    assert [s.step for s in detail.steps] == list(STEPS)
    assert [h.to_state for h in detail.history] == ["provisioning", "active"]
    assert ops.ctx.store(tenant.cluster).exists(tenant_name)
    assert drift(ops, tenant_name) == []


def test_a_japanese_client_lands_in_us(ops: Console, tenant_name: str) -> None:
    assert provision(ops, tenant_name, "JP").region == "us"  # type: ignore[attr-defined]


@pytest.mark.parametrize("failing_step", STEPS[1:-1])
def test_a_crash_after_any_step_then_a_rerun_converges_to_one_active_tenant(
    ops: Console, tenant_name: str, failing_step: str
) -> None:
    class Crash(OpsError):
        pass

    def crash(step: str, status: str) -> None:
        if step == failing_step and status == "done":
            raise Crash(f"injected failure after {step}")

    with pytest.raises(Crash):
        ops.provisioning.provision(ProvisionRequest(tenant_name, "DE"), progress=crash)
    assert ops.tenants.show(tenant_name).state == "provisioning"
    tenant = provision(ops, tenant_name)
    assert tenant.state == "active"  # type: ignore[attr-defined]
    steps = [s.step for s in ops.tenants.detail(tenant_name).steps]
    assert steps == list(STEPS)
    assert drift(ops, tenant_name) == []


def test_kill_9_mid_provision_then_rerun_converges(
    config: Path, tenant_name: str, kind: str
) -> None:
    script = textwrap.dedent(f"""
        import os, signal
        from aptien_ops.composition import open_console
        from aptien_ops.services.provisioning import ProvisionRequest
        console = open_console({str(config)!r})
        def die(step, status):
            if step == "database" and status == "done":
                os.kill(os.getpid(), signal.SIGKILL)
        console.provisioning.provision(ProvisionRequest({tenant_name!r}, "DE"), progress=die)
    """)
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=120,
    )
    assert proc.returncode == -9, proc.stderr
    result = run_cli_process(
        "--json", "tenant", "provision", tenant_name, "--country", "DE", config=config
    )
    assert result.code == 0, result.stderr
    assert result.json()["state"] == "active"
    assert cli_drift(config, tenant_name) == []


def test_two_provisions_of_the_same_name_at_once_converge_on_one_tenant(
    config: Path, tenant_name: str
) -> None:
    with ThreadPoolExecutor(2) as pool:
        results = list(
            pool.map(
                lambda _: run_cli_process(  # two processes: run_cli is one process at a time
                    "--json", "tenant", "provision", tenant_name, "--country", "FR", config=config
                ),
                range(2),
            )
        )
    # The loser either finds the winner at work (exit 5) or, once it finished, reports the
    # tenant as it is (exit 0): never a second tenant, never a half-made one.
    codes = sorted(r.code for r in results)
    assert codes in ([0, 0], [0, 5]), [r.stderr for r in results]
    if codes == [0, 5]:
        assert "being provisioned right now" in max(results, key=lambda r: r.code).stderr
    assert {r.json()["name"] for r in results if r.code == 0} == {tenant_name}
    assert cli_drift(config, tenant_name) == []


def test_rerunning_a_finished_provision_reports_the_tenant_as_it_is(
    config: Path, ops: Console, tenant_name: str
) -> None:
    first = run_cli("--json", "tenant", "provision", tenant_name, "--country", "DE", config=config)
    assert first.code == 0, first.stderr
    ops.lifecycle.suspend(tenant_name, "unpaid")
    again = run_cli("tenant", "provision", tenant_name, "--country", "de", config=config)
    assert again.code == 0, again.stderr
    assert f"{tenant_name}: provisioned already" in again.stdout
    assert "nothing changed (suspended)" in again.stdout
    assert again.stderr.count("done earlier") == len(STEPS) - 1
    tenant = ops.tenants.show(tenant_name)
    assert (tenant.state, tenant.state_reason) == ("suspended", "unpaid")  # left as it was
    newest, *earlier = [e for e in ops.opslog.list(limit=9) if e.action == "tenant.provision"]
    assert (newest.outcome, json.loads(newest.params).get("already")) == ("ok", "suspended")
    assert earlier and all("already" not in json.loads(e.params) for e in earlier)


@pytest.mark.parametrize(
    ("country", "extra", "differs"),
    [
        ("FR", {}, "country DE, not FR"),
        ("DE", {"contact_email": "someone@else.example"}, "contact e-mail (none), not someone"),
    ],
)
def test_a_different_request_for_a_provisioned_name_is_still_a_conflict(
    config: Path,
    ops: Console,
    tenant_name: str,
    country: str,
    extra: dict[str, str],
    differs: str,
) -> None:
    provision(ops, tenant_name)
    with pytest.raises(Conflict, match="exists already") as conflict:
        provision(ops, tenant_name, country, **extra)
    assert differs in conflict.value.message
    cli = run_cli("--json", "tenant", "provision", tenant_name, "--country", "FR", config=config)
    assert cli.code == ExitCode.CONFLICT and cli.error()["code"] == "conflict"


def test_a_purged_name_is_not_provisioned_again(ops: Console, tenant_name: str) -> None:
    provision(ops, tenant_name)
    with ops.ctx.catalog.transaction() as tx:  # its tombstone, as a purge leaves it
        tenant = tx.tenants.get(tenant_name, for_update=True)
        assert tenant is not None
        tx.tenants.update(replace(tenant, state=TenantState.PURGED), by="ada")
    with pytest.raises(Conflict, match="was purged"):
        provision(ops, tenant_name)


def test_a_region_that_contradicts_the_country_is_refused(ops: Console, tenant_name: str) -> None:
    with pytest.raises(InvalidInput, match="contradicts"):
        provision(ops, tenant_name, "DE", region="us")
    with pytest.raises(Exception, match="no tenant"):
        ops.tenants.show(tenant_name)


def test_a_residency_override_needs_an_admin_and_is_logged(
    config: Path, tenant_name: str, as_operator
) -> None:  # type: ignore[no-untyped-def]
    as_operator("olga")
    console = open_console(config)
    try:
        with pytest.raises(Forbidden):
            provision(
                console, tenant_name, "DE", region="us", residency_override="client's US subsidiary"
            )
    finally:
        console.close()
    as_operator(None)
    console = open_console(config)
    try:
        tenant = provision(
            console, tenant_name, "DE", region="us", residency_override="client's US subsidiary"
        )
        assert tenant.region == "us"  # type: ignore[attr-defined]
        entries = [e for e in console.opslog.list(50) if e.target == tenant_name]
        assert any("residency_override" in e.params for e in entries)
    finally:
        console.close()


@pytest.mark.parametrize(
    "name", ["acme; DROP DATABASE x", "Acme", "аcme", "postgres", "template1", "x" * 10_000]
)
def test_hostile_names_are_refused_and_nothing_is_made(ops: Console, name: str) -> None:
    before = len(ops.opslog.list(1000))
    with pytest.raises(InvalidInput):
        provision(ops, name)
    assert len(ops.opslog.list(1000)) == before


@pytest.mark.parametrize("country", ["XX", "ZZ", "EU", "", "DEU", "1"])
def test_invalid_countries_are_refused(ops: Console, tenant_name: str, country: str) -> None:
    with pytest.raises(InvalidInput):
        provision(ops, tenant_name, country)


@pytest.mark.parametrize(
    ("typed", "listed"),
    [
        ("korea", "'korea' matches 2 countries: KP Democratic People's Republic of Korea, KR"),
        ("uk", "UK is reserved in ISO 3166-1 for the United Kingdom"),  # not Ukraine either
        ("germ", "'germ' matches 1 country: DE Germany"),
        ("United", "'United' matches 6 countries: AE United Arab Emirates,"),
        ("atlantis", "no country matches 'atlantis'"),
    ],
)
def test_a_country_that_is_not_a_code_or_an_exact_name_is_refused_with_its_candidates(
    config: Path, tenant_name: str, typed: str, listed: str
) -> None:
    result = run_cli("tenant", "provision", tenant_name, "--country", typed, config=config)
    assert result.code == ExitCode.INVALID == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and listed in result.stderr
    assert run_cli("--json", "tenant", "list", config=config).json() == []


@pytest.mark.parametrize(
    ("typed", "country", "region"),
    [("Ireland", "IE", "eu"), ("ie", "IE", "eu"), ("United States", "US", "us")],
)
def test_a_country_given_by_its_exact_name_or_code_is_that_country(
    config: Path, tenant_name: str, typed: str, country: str, region: str
) -> None:
    result = run_cli(
        "--json", "tenant", "provision", tenant_name, "--country", typed, config=config
    )
    assert result.code == 0, result.stderr
    assert (result.json()["country"], result.json()["region"]) == (country, region)


def test_a_full_region_is_a_conflict_and_never_spills_into_another(
    tmp_path: Path, tenant_name: str
) -> None:
    config = sandbox_with_eu_on("sqlite", tmp_path / "full", capacity=1)
    console = open_console(config)
    try:
        provision(console, tenant_name + "a")
        with pytest.raises(Conflict, match="full"):
            provision(console, tenant_name + "b")
        assert [t.region for t in console.tenants.list()] == ["eu"]
    finally:
        console.close()


def provision_entries(ops: Console, tenant: str) -> list[tuple[str, str]]:
    """The ops log's ``tenant.provision`` entries for ``tenant``, oldest first: (operator,
    outcome)."""
    entries = [e for e in ops.opslog.list(limit=1000) if e.target == tenant]
    return [(e.operator, e.outcome) for e in reversed(entries) if e.action == "tenant.provision"]


def test_one_provision_is_one_ok_entry_in_the_ops_log(
    config: Path, ops: Console, tenant_name: str
) -> None:
    result = run_cli("--json", "tenant", "provision", tenant_name, "--country", "DE", config=config)
    assert result.code == 0, result.stderr
    assert provision_entries(ops, tenant_name) == [(ops.identity.operator, "ok")]


def test_an_unreachable_region_is_unavailable_logged_once_and_nothing_is_reserved(
    config: Path, ops: Console, tenant_name: str, tmp_path: Path
) -> None:
    eu_unreachable(config, tmp_path / "nowhere")
    result = run_cli("--json", "tenant", "provision", tenant_name, "--country", "DE", config=config)
    assert result.code == ExitCode.UNAVAILABLE, result.stderr
    assert "no cluster of region eu is reachable" in result.error()["message"]
    assert run_cli("--json", "tenant", "show", tenant_name, config=config).code == 3
    me = ops.identity.operator
    assert provision_entries(ops, tenant_name) == [(me, "failed:unavailable")]


def test_a_cluster_down_mid_provision_exits_6_and_a_rerun_finishes(
    ops: Console, tenant_name: str
) -> None:
    real_store = ops.ctx.store

    class DownStore:
        def __getattr__(self, name: str) -> object:
            def down(*a: object, **k: object) -> None:
                raise Unavailable("cluster went away")

            return down

    def flaky(step: str, status: str) -> None:
        if step == "database" and status == "done":
            down = DownStore()
            ops.ctx.store = lambda cluster: down

    with pytest.raises(Unavailable):
        ops.provisioning.provision(ProvisionRequest(tenant_name, "DE"), progress=flaky)
    ops.ctx.store = real_store  # type: ignore[method-assign]
    assert provision(ops, tenant_name).state == "active"  # type: ignore[attr-defined]
    me = ops.identity.operator
    assert provision_entries(ops, tenant_name) == [(me, "failed:unavailable"), (me, "ok")]


def test_the_owner_password_never_appears_in_output_or_logs(config: Path, tenant_name: str) -> None:
    result = run_cli("--json", "tenant", "provision", tenant_name, "--country", "DE", config=config)
    assert result.code == 0, result.stderr
    show = run_cli("--json", "tenant", "show", tenant_name, config=config)
    console = open_console(config)
    try:
        with console.ctx.catalog.read() as tx:
            sealed = tx.secrets.get(tenant_name, "owner_password")
        assert sealed is not None
        password = (
            console.ctx.sealer("eu")
            .unseal(sealed, secret_context(tenant_name, "owner_password"))
            .decode()
        )
    finally:
        console.close()
    log = (config.parent / "logs" / "aptien-ops.jsonl").read_text()
    for text in (result.stdout, result.stderr, show.stdout, log, json.dumps(show.json())):
        assert password not in text
