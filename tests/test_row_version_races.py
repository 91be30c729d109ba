"""Races between real processes on the suite's PostgreSQL (and threads on SQLite): the second
writer of an operator's roles loses with exit 5 instead of overwriting the first, and a request
approved twice at once runs once.

A raw connection holds the row while the commands start, so both are in flight at once; it
lets go once they wait on the row's lock (``pg_stat_activity``), not after a guessed time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from waiting import until

from aptien_ops.composition import Console, open_console
from aptien_ops.errors import Conflict, PendingApproval
from aptien_ops.sandbox import write_sandbox_config

from sandboxes import sandbox_on_postgresql


@pytest.fixture
def pg_config(tmp_path: Path, pg_server) -> Iterator[tuple[Path, str]]:  # type: ignore[no-untyped-def]
    config, conninfo = sandbox_on_postgresql(tmp_path / "sbx", pg_server, "races")
    open_console(config).close()  # the catalog and its demo operators
    yield config, conninfo


def _cli(config: Path, operator: str | None, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "APTIEN_OPS_OPERATOR"}
    if operator is not None:
        env["APTIEN_OPS_OPERATOR"] = operator
    return subprocess.Popen(
        [sys.executable, "-m", "aptien_ops", "--config", str(config), "--json", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _waiting_on_locks(conninfo: str, count: int, *commands: subprocess.Popen[str]) -> None:
    """Until ``count`` other backends of this database wait on a lock (or every one of
    ``commands`` has ended: one that took no lock, which the test's assertions then catch)."""
    with psycopg.connect(conninfo, autocommit=True) as watch:

        def waiting() -> bool:
            if commands and all(c.poll() is not None for c in commands):
                return True
            row = watch.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock'"
            ).fetchone()
            return row is not None and row[0] >= count

        until(waiting, f"{count} command(s) waiting on the row's lock")


def _roles(conninfo: str, name: str) -> set[str]:
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute("SELECT role FROM operator_roles WHERE operator = %s", (name,))
        return {r[0] for r in rows}


@pytest.mark.postgres
def test_a_grant_racing_another_change_of_the_same_operator_loses_with_exit_5(
    pg_config: tuple[Path, str],
) -> None:
    config, conninfo = pg_config
    with psycopg.connect(conninfo) as carol:  # another operator's grant, not yet committed
        carol.execute(
            "UPDATE operators SET version = version + 1, changed_by = 'carol', changed_at = now()"
            " WHERE name = 'olga'"
        )
        carol.execute("INSERT INTO operator_roles (operator, role) VALUES ('olga', 'billing')")
        grant = _cli(config, "ada", "operator", "grant", "olga", "partner-manager")
        _waiting_on_locks(conninfo, 1)
        carol.commit()
    out, err = grant.communicate(timeout=120)
    assert grant.returncode == 5, (out, err)
    message = json.loads(err.strip().splitlines()[-1])["error"]["message"]
    assert message.startswith("operator olga changed since you read it (version 1, now 2):")
    assert "roles are now billing, operator (by carol at " in message
    assert _roles(conninfo, "olga") == {"operator", "billing"}  # carol's grant stands alone


def _request_security_for_olga(config: Path) -> int:
    ada = open_console(config, env={"APTIEN_OPS_OPERATOR": "ada"})
    try:
        with pytest.raises(PendingApproval) as pending:
            ada.operators.grant("olga", "security")
    finally:
        ada.close()
    return pending.value.approval_id


def _decisions(console: Console, approval_id: int) -> list[str]:
    entries = console.opslog.list(limit=50, grep=f"approval/{approval_id}")
    return [e.outcome for e in entries if e.action == "approval.decide"]


@pytest.mark.postgres
def test_a_request_approved_twice_at_once_by_two_processes_runs_once(
    pg_config: tuple[Path, str],
) -> None:
    config, conninfo = pg_config
    approval_id = _request_security_for_olga(config)
    with psycopg.connect(conninfo) as holder:
        holder.execute("SELECT id FROM approvals WHERE id = %s FOR UPDATE", (approval_id,))
        first = _cli(config, None, "approval", "approve", str(approval_id))
        second = _cli(config, None, "approval", "approve", str(approval_id))
        _waiting_on_locks(conninfo, 2)
        holder.rollback()
    results = [p.communicate(timeout=120) for p in (first, second)]
    codes = sorted(p.returncode for p in (first, second))
    assert codes == [0, 5], results
    procs = (first, second)
    loser = next(err for (_, err), p in zip(results, procs, strict=True) if p.returncode == 5)
    assert f"approval #{approval_id} is approved, not pending" in loser
    assert _roles(conninfo, "olga") == {"operator", "security"}
    me = open_console(config)
    try:
        assert sorted(_decisions(me, approval_id)) == ["failed:conflict", "ok"]
        olga = next(o for o in me.operators.list() if o.name == "olga")
        assert olga.version == 2, "the grant ran once"
    finally:
        me.close()


def test_on_sqlite_two_threads_approving_at_once_run_the_request_once(tmp_path: Path) -> None:
    config, _ = write_sandbox_config(tmp_path / "sbx")
    open_console(config).close()
    approval_id = _request_security_for_olga(config)
    consoles = [open_console(config), open_console(config)]
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def approve(console: Console) -> None:
        start.wait()
        try:
            console.approvals.approve(approval_id)
            outcomes.append("ok")
        except Conflict as refused:
            outcomes.append(refused.message)

    threads = [threading.Thread(target=approve, args=(c,)) for c in consoles]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert sorted(outcomes) == sorted(
            ["ok", f"approval #{approval_id} is approved, not pending"]
        )
        olga = next(o for o in consoles[0].operators.list() if o.name == "olga")
        assert (olga.roles, olga.version) == ({"operator", "security"}, 2)
        assert sorted(_decisions(consoles[0], approval_id)) == ["failed:conflict", "ok"]
    finally:
        for c in consoles:
            c.close()


def _tenant_row(conninfo: str) -> tuple[str, str, int]:
    with psycopg.connect(conninfo) as conn:
        row = conn.execute(
            "SELECT state, contact_name, version FROM tenants WHERE name = 'acme-gmbh'"
        ).fetchone()
    assert row is not None
    return row[0], row[1], row[2]


@pytest.mark.postgres
def test_tenant_changes_racing_another_operators_change_never_overwrite_it(
    pg_config: tuple[Path, str],
) -> None:
    """Bob's contact change is in flight (uncommitted, holding the row): a change that read the
    version before it exits 5; one that did not name a version waits and then works on what
    bob committed — his contact stays."""
    from aptien_ops.services.provisioning import ProvisionRequest

    config, conninfo = pg_config
    olga = open_console(config, env={"APTIEN_OPS_OPERATOR": "olga"})
    try:
        read = olga.provisioning.provision(ProvisionRequest("acme-gmbh", "DE")).version
    finally:
        olga.close()
    with psycopg.connect(conninfo) as bob:
        bob.execute(
            "UPDATE tenants SET contact_name = 'Bob''s contact', version = version + 1,"
            " changed_by = 'bob' WHERE name = 'acme-gmbh'"
        )
        stale = _cli(
            config, "olga", "tenant", "update", "acme-gmbh", "--contact-name", "Olga's",
            "--if-version", str(read),
        )  # fmt: skip
        suspend = _cli(config, "olga", "tenant", "suspend", "acme-gmbh", "--reason", "unpaid")
        _waiting_on_locks(conninfo, 2)
        bob.commit()
    stale_out, stale_err = stale.communicate(timeout=120)
    assert stale.returncode == 5, (stale_out, stale_err)
    message = json.loads(stale_err.strip().splitlines()[-1])["error"]["message"]
    assert f"changed since you read it (version {read}, now " in message
    # whoever committed last before it: bob, or the suspension if it got the lock first
    assert "(by bob at " in message or '"unpaid" (by olga at ' in message, message
    suspend_out, suspend_err = suspend.communicate(timeout=120)
    assert suspend.returncode == 0, (suspend_out, suspend_err)
    assert _tenant_row(conninfo) == ("suspended", "Bob's contact", read + 2)


@pytest.mark.postgres
def test_two_admins_revoking_each_other_at_once_leave_one_admin(
    pg_config: tuple[Path, str],
) -> None:
    """Four-eyes off for revoking admin: ada and the account running the tests revoke each
    other's admin at once. Each counts the admins only once every operator's row is locked, so
    the second finds the first's revocation and is refused as the last admin."""
    config, conninfo = pg_config
    text = config.read_text()
    config.write_text(text.replace('"operator.revoke-admin",', ""))
    me = open_console(config)
    try:
        account = me.ctx.identity.operator
    finally:
        me.close()
    with psycopg.connect(conninfo) as holder:
        holder.execute("SELECT name FROM operators WHERE name = 'vic' FOR UPDATE")
        by_me = _cli(config, None, "operator", "revoke", "ada", "admin")
        by_ada = _cli(config, "ada", "operator", "revoke", account, "admin")
        _waiting_on_locks(conninfo, 2, by_me, by_ada)
        holder.rollback()
    results = {who: p.communicate(timeout=120) for who, p in (("me", by_me), ("ada", by_ada))}
    codes = sorted(p.returncode for p in (by_me, by_ada))
    assert codes == [0, 5], results
    assert any("is the last admin" in err for _, err in results.values()), results
    with psycopg.connect(conninfo) as conn:
        admins = conn.execute("SELECT operator FROM operator_roles WHERE role = 'admin'").fetchall()
    assert len(admins) == 1, admins
