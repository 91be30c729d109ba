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

#: The second tenant of the run waits, before anything is read for it, until the test opens
#: the FIFO named by APTIEN_TEST_GO for writing.
HOLD_THE_SECOND_TENANT = """\
from aptien_ops.services.backups.running import BackupRunner
one = BackupRunner._backup_one
seen = []

def held(self, tenant, *args, **kwargs):
    seen.append(tenant.name)
    if len(seen) == 2:
        tell("holding " + tenant.name)
        with open(os.environ["APTIEN_TEST_GO"]) as go:
            go.read()
    return one(self, tenant, *args, **kwargs)

BackupRunner._backup_one = held
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
