"""Suspend, resume, cancel with retention, reinstate within it, and four-eyes purge that
crypto-shreds."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from aptien_ops.composition import Console, open_console
from aptien_ops.domain import TenantState
from aptien_ops.errors import Conflict, Forbidden, InvalidInput, PendingApproval
from aptien_ops.services.provisioning import ProvisionRequest

from cli_runner import run_cli
from fleet_configs import (  # noqa: F401 - the fixtures kind, config and ops
    eu_cluster_kind,
    eu_fleet_config,
    eu_fleet_console,
)


@pytest.fixture
def active(ops: Console, tenant_name: str) -> str:
    ops.provisioning.provision(ProvisionRequest(tenant_name, "DE"))
    return tenant_name


def owner_can_log_in(ops: Console, name: str) -> bool:
    from aptien_ops.services.provisioning import secret_context

    with ops.ctx.catalog.read() as tx:
        tenant = tx.tenants.get(name)
        sealed = tx.secrets.get(name, "owner_password")
    assert tenant is not None and sealed is not None
    password = ops.ctx.sealer("eu").unseal(sealed, secret_context(name, "owner_password")).decode()
    store = ops.ctx.store(tenant.cluster or "")
    if store.kind == "sqlite":
        # SQLite has no roles: the platform honours the suspended flag in tenant_meta.
        with store.connect(name) as conn:
            row = conn.execute("SELECT value FROM tenant_meta WHERE key = 'suspended'").fetchone()
        return row is None or row[0] == "0"
    try:
        with store.connect_as_owner(name, password) as conn:  # type: ignore[attr-defined]
            conn.execute("SELECT 1")
        return True
    except (Forbidden, Conflict):
        return False


def test_a_suspended_tenant_cannot_log_in_but_can_still_be_inspected_and_resumed(
    ops: Console, active: str
) -> None:
    assert owner_can_log_in(ops, active)
    tenant = ops.lifecycle.suspend(active, "unpaid invoices")
    assert (tenant.state, tenant.state_reason) == ("suspended", "unpaid invoices")
    assert not owner_can_log_in(ops, active)
    with ops.ctx.store(tenant.cluster or "").connect(
        active
    ) as conn:  # the console's own access goes on
        conn.execute("SELECT count(*) FROM login_events")
    assert ops.lifecycle.resume(active).state == "active"
    assert owner_can_log_in(ops, active)


def test_suspending_needs_a_reason(ops: Console, active: str) -> None:
    with pytest.raises(InvalidInput, match="reason"):
        ops.lifecycle.suspend(active, "   ")


def test_wrong_state_transitions_say_which_state_is_needed(ops: Console, active: str) -> None:
    with pytest.raises(Conflict) as resume:
        ops.lifecycle.resume(active)
    assert "needs a tenant that is suspended" in resume.value.one_line()
    with pytest.raises(Conflict, match="cannot purge"):
        ops.lifecycle.purge(active)
    ops.lifecycle.cancel(active, 30)
    with pytest.raises(Conflict, match="cannot resume"):
        ops.lifecycle.resume(active)


def test_cancel_keeps_the_tenant_restorable_until_the_retention_end(
    ops: Console, active: str
) -> None:
    tenant = ops.lifecycle.cancel(active)
    assert tenant.state == "cancelled" and tenant.retain_until is not None
    assert (tenant.retain_until - tenant.updated_at).days in (29, 30)
    assert ops.ctx.store(tenant.cluster or "").exists(active)
    assert not owner_can_log_in(ops, active)
    with pytest.raises(Conflict, match="retained until"):
        ops.lifecycle.purge(active)


def test_retention_days_out_of_range_are_refused(ops: Console, active: str) -> None:
    with pytest.raises(InvalidInput):
        ops.lifecycle.cancel(active, -1)


def test_purge_needs_a_second_admin_then_drops_everything_and_keeps_a_tombstone(
    config: Path, ops: Console, active: str, as_operator
) -> None:  # type: ignore[no-untyped-def]
    ops.lifecycle.cancel(active, 0)
    with pytest.raises(PendingApproval) as pending:
        ops.lifecycle.purge(active)
    approval = pending.value.approval_id
    with pytest.raises(Forbidden, match="own request"):
        ops.approvals.approve(approval)
    cluster = ops.tenants.show(active).cluster or ""
    assert ops.ctx.store(cluster).exists(active)
    # Security staff approve breach notices, never a purge.
    as_operator("sam")
    sam = open_console(config)
    try:
        with pytest.raises(Forbidden):
            sam.approvals.approve(approval)
    finally:
        sam.close()
    assert ops.ctx.store(cluster).exists(active)

    as_operator("ada")
    ada = open_console(config)
    try:
        ada.approvals.approve(approval)
    finally:
        ada.close()
    as_operator(None)
    tomb = ops.tenants.detail(active)
    assert tomb.tenant.state == "purged" and tomb.tenant.purged_at
    assert tomb.tenant.contact_email is None
    assert [h.to_state for h in tomb.history][-2:] == ["cancelled", "purged"]
    assert not ops.ctx.store(cluster).exists(active)
    with ops.ctx.catalog.read() as tx:
        assert tx.secrets.get(active, "backup_identity") is None
        assert tx.secrets.get(active, "owner_password") is None


def test_purge_before_the_retention_end_needs_a_stated_reason(ops: Console, active: str) -> None:
    ops.lifecycle.cancel(active, 30)
    with pytest.raises(PendingApproval):
        ops.lifecycle.purge(active, before_retention_end="the client asked for deletion")


def test_cli_refuses_destruction_without_a_terminal_or_yes(config: Path, active: str) -> None:
    result = run_cli("--json", "tenant", "cancel", active, config=config)
    assert result.code == 2 and "--yes" in result.stderr
    result = run_cli(
        "--json", "--yes", "tenant", "cancel", active, "--retain-days", "0", config=config
    )
    assert result.code == 0, result.stderr
    purge = run_cli("--json", "--yes", "tenant", "purge", active, config=config)
    assert purge.code == 8 and purge.error()["approval_id"]


def test_a_viewer_cannot_suspend_and_the_denial_is_logged(config: Path, active: str) -> None:
    result = run_cli(
        "--json", "tenant", "suspend", active, "--reason", "x", config=config, operator="vic"
    )
    assert result.code == 4
    last = run_cli("--json", "ops-log", "list", "--limit", "1", config=config).json()[0]
    assert (last["operator"], last["action"], last["outcome"]) == (
        "vic",
        "tenant.suspend",
        "denied",
    )


# ----------------------------------------------------------------------------- reinstate


def test_a_cancelled_tenant_is_reinstated_within_its_retention_and_logs_in_again(
    config: Path, ops: Console, active: str
) -> None:
    ops.lifecycle.cancel(active, 30)
    assert not owner_can_log_in(ops, active)
    result = run_cli("--json", "tenant", "reinstate", active, config=config, operator="olga")
    assert result.code == 0, result.stderr
    assert (result.json()["state"], result.json()["retain_until"]) == ("active", None)
    assert owner_can_log_in(ops, active)
    history = ops.tenants.detail(active).history
    assert [(h.from_state, h.to_state, h.operator) for h in history[-2:]] == [
        ("active", "cancelled", ops.identity.operator),
        ("cancelled", "active", "olga"),
    ]
    [entry] = [e for e in ops.opslog.list(limit=3) if e.action == "tenant.reinstate"]
    assert (entry.operator, entry.outcome) == ("olga", "ok")
    assert [f for f in ops.fleet.check().findings if f.tenant == active] == []


def test_a_tenant_suspended_before_its_cancel_comes_back_suspended_for_the_same_reason(
    ops: Console, active: str
) -> None:
    ops.lifecycle.suspend(active, "security incident SEC-7")
    ops.lifecycle.cancel(active, 30)
    tenant = ops.lifecycle.reinstate(active)
    assert (tenant.state, tenant.state_reason) == ("suspended", "security incident SEC-7")
    assert not owner_can_log_in(ops, active)  # a cancel does not undo a suspension
    assert ops.lifecycle.resume(active).state == "active"


def test_reinstate_after_the_retention_end_is_refused_and_changes_nothing(
    config: Path, ops: Console, active: str
) -> None:
    ops.lifecycle.cancel(active, 0)  # retained until now: over by the time we ask
    result = run_cli("--json", "tenant", "reinstate", active, config=config)
    assert result.code == 5 and "retention ended" in result.error()["message"]
    assert ops.tenants.show(active).state == "cancelled"
    assert not owner_can_log_in(ops, active)


def test_only_a_cancelled_tenant_is_reinstated_and_never_a_purged_one(
    ops: Console, active: str
) -> None:
    with pytest.raises(Conflict, match="it is active") as refused:
        ops.lifecycle.reinstate(active)
    assert refused.value.hint == "reinstate needs a tenant that is cancelled"
    with ops.ctx.catalog.transaction() as tx:  # its tombstone, as a purge leaves it
        tenant = tx.tenants.get(active, for_update=True)
        assert tenant is not None
        tx.tenants.update(replace(tenant, state=TenantState.PURGED), by="ada")
    with pytest.raises(Conflict, match="cannot reinstate .*: it is purged"):
        ops.lifecycle.reinstate(active)
