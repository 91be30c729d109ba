"""An operator revoked while their command is still running: the audited path reads the
operator again for every attempt, so the next action of that command is refused (exit 4,
logged as ``denied`` under their name), and nothing more is read or written for them. The
real program, held between two tenants of a backup run until the test has revoked the role
(a FIFO the test opens: no sleeping); on SQLite and PostgreSQL. The TUI's side:
tests/tui/test_revoked_in_session.py."""

from __future__ import annotations

import os
from pathlib import Path

from aptien_ops.composition import open_console
from aptien_ops.services.provisioning import ProvisionRequest

from cli_runner import run_cli
from signalled_child import started

#: The second tenant of the run waits, before anything is read for it, until the first
#: tenant's backup is recorded (the main thread authorises that again: a revoke before it
#: would refuse the first too, which a tenant on another cluster's thread, or a loaded
#: machine, made happen), then until the test opens the FIFO named by APTIEN_TEST_GO.
HOLD_THE_SECOND_TENANT = """\
import threading
from aptien_ops.services.backups.running import BackupRunner
one, record = BackupRunner._backup_one, BackupRunner._record
seen, first_recorded, guard = [], threading.Event(), threading.Lock()

def held(self, tenant, *args, **kwargs):
    with guard:
        seen.append(tenant.name)
        second = len(seen) == 2
    if second:
        first_recorded.wait()
        tell("holding " + tenant.name)
        with open(os.environ["APTIEN_TEST_GO"]) as go:
            go.read()
    return one(self, tenant, *args, **kwargs)

def recorded(self, tenant, result):
    try:
        return record(self, tenant, result)
    finally:
        if tenant.name == seen[0]:
            first_recorded.set()

BackupRunner._backup_one = held
BackupRunner._record = recorded
"""


def test_a_backup_run_stops_backing_up_once_its_operator_is_revoked(
    catalog_config: Path, tmp_path: Path
) -> None:
    admin = open_console(catalog_config)
    try:
        for name in ("first-one", "second-one"):
            admin.provisioning.provision(ProvisionRequest(name, "DE"))
        go = tmp_path / "go"
        os.mkfifo(go)
        args = ["--config", str(catalog_config), "backup", "run", "first-one", "second-one"]
        env = {"APTIEN_OPS_OPERATOR": "olga", "APTIEN_TEST_GO": str(go)}
        with started(args, HOLD_THE_SECOND_TENANT, env=env) as (cmd, told):
            held = next(told).removeprefix("holding ")
            admin.operators.revoke("olga", "operator")  # olga holds no role from here on
            with open(go, "w") as release:
                release.write("go")
            out, err = cmd.communicate(timeout=120)
        assert cmd.returncode == 4, err
        assert f"{held}: olga may not backup.run" in err, err
    finally:
        admin.close()
    # The stores are the truth: reconciling would index a backup the run stored unindexed.
    assert run_cli("backup", "reconcile", config=catalog_config).code == 0
    backups = run_cli("--json", "backup", "list", config=catalog_config).json()
    done = "first-one" if held == "second-one" else "second-one"
    assert [b["tenant"] for b in backups] == [done]  # nothing of the held tenant was stored
    entries = run_cli("--json", "ops-log", "list", "--limit", "10", config=catalog_config).json()
    runs = [
        (e["target"], e["operator"], e["outcome"]) for e in entries if e["action"] == "backup.run"
    ]
    assert runs == [(held, "olga", "denied"), (done, "olga", "ok")], runs
