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


def _waiting_on_locks(conninfo: str, count: int) -> None:
    """Until ``count`` other backends of this database wait on a lock."""
    with psycopg.connect(conninfo, autocommit=True) as watch:

        def waiting() -> bool:
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
