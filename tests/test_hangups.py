"""The SSH connection lost (SIGHUP) or SIGTERM in the middle of an action: the real program
stops with 128 + the signal and one line, the step under way is either finished and recorded
or rolled back, nothing is left "in progress" in the catalog (no live provisioning lease, no
approval half-decided, no backup unindexed), the attempt is one ``failed:interrupted`` entry
in the ops log, and running the same command again converges. On a SQLite and a PostgreSQL
catalog. The signal comes once the process says it reached the point under test
(tests/signalled_child.py): no sleeping. The breach notice campaign's hang-up is in
tests/test_notify_kill_cli.py, an operational notice's (``notice send``) in
tests/test_op_notice_hangup.py (its SIGKILL runs in tests/test_op_notice_send.py).
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aptien_ops.composition import Console, open_console
from aptien_ops.domain import TenantState
from aptien_ops.errors import PendingApproval
from aptien_ops.services.provisioning import ProvisionRequest

from cli_runner import run_cli
from signalled_child import started

SIGNALS = [
    pytest.param(signal.SIGHUP, "hung up", id="sighup"),
    pytest.param(signal.SIGTERM, "terminated", id="sigterm"),
]


@pytest.fixture
def ops(catalog_config: Path) -> Iterator[Console]:
    console = open_console(catalog_config)
    try:
        yield console
    finally:
        console.close()


def stopped_by(command: subprocess.Popen[str], signum: int, said: str) -> None:
    """Send ``signum``; the process exits 128 + it with the one line and nothing on stdout."""
    command.send_signal(signum)
    out, err = command.communicate(timeout=120)
    assert (command.returncode, out) == (128 + signum, ""), err
    assert [line for line in err.splitlines() if line][-1] == f"aptien-ops: {said}", err
    assert "Traceback" not in err and "Exception ignored" not in err, err


def last_entry(config: Path, action: str) -> dict[str, Any]:
    """The newest ops-log entry of ``action``."""
    listed = run_cli("--json", "ops-log", "list", "--limit", "50", config=config)
    assert listed.code == 0, listed.stderr
    entries = [e for e in listed.json() if e["action"] == action]
    assert entries, listed.stdout
    return dict(max(entries, key=lambda e: e["seq"]))


#: The database is made on the cluster; the process is signalled before its step is recorded.
SIGNAL_AFTER_CREATE_DATABASE = """\
from aptien_ops.backends.sqlite_tenants import SqliteTenantStore
create = SqliteTenantStore.create_database

def create_database(self, tenant, owner_password):
    create(self, tenant, owner_password)
    told_then_signalled("created " + tenant)

SqliteTenantStore.create_database = create_database
"""


@pytest.mark.parametrize(("signum", "said"), SIGNALS)
def test_provisioning_stopped_mid_step_gives_up_its_lease_and_a_rerun_finishes(
    catalog_config: Path, ops: Console, signum: int, said: str
) -> None:
    args = ["--config", str(catalog_config), "tenant", "provision", "dropped", "--country", "DE"]
    with started(args, SIGNAL_AFTER_CREATE_DATABASE) as (cmd, told):
        assert next(told) == "created dropped"
        stopped_by(cmd, signum, said)
    tenant = ops.tenants.show("dropped")
    assert tenant.state == TenantState.PROVISIONING
    assert (tenant.lease_owner, tenant.lease_until) == (None, None)  # nobody is working on it
    with ops.ctx.catalog.read() as tx:
        done = [s.step for s in tx.tenant_history.steps("dropped")]
    assert done == ["reserve", "owner-role"]  # the database step rolled back, unrecorded
    entry = last_entry(catalog_config, "tenant.provision")
    assert (entry["target"], entry["outcome"]) == ("dropped", "failed:interrupted")
    again = run_cli(
        "--json", "tenant", "provision", "dropped", "--country", "DE", config=catalog_config
    )
    assert again.code == 0, again.stderr
    assert ops.tenants.show("dropped").state == TenantState.ACTIVE
    assert last_entry(catalog_config, "tenant.provision")["outcome"] == "ok"


#: Each dump says which tenant it is; the first goes on only once the signal is noted.
HOLD_THE_FIRST_DUMP = """\
import threading
from aptien_ops.cli import interrupts
from aptien_ops.backends.backup_repository import FsBackupRepository
create = FsBackupRepository.create
first = threading.Lock()

def held_create(self, tenant, *args, **kwargs):
    tell("dumping " + tenant)
    if first.acquire(blocking=False):
        interrupts._noted.wait()  # the handler has noted the signal (private: a test's view)
    return create(self, tenant, *args, **kwargs)

FsBackupRepository.create = held_create
"""


@pytest.mark.parametrize(("signum", "said"), SIGNALS)
def test_a_backup_run_finishes_and_records_the_dump_under_way_and_starts_no_other(
    catalog_config: Path, ops: Console, signum: int, said: str
) -> None:
    for name in ("bk-one", "bk-two"):
        ops.provisioning.provision(ProvisionRequest(name, "DE"))
    args = ["--config", str(catalog_config), "backup", "run", "bk-one", "bk-two"]
    with started(args, HOLD_THE_FIRST_DUMP) as (cmd, told):
        first = next(told).removeprefix("dumping ")
        stopped_by(cmd, signum, said)
        dumped = {first, *(line.removeprefix("dumping ") for line in told)}
    listed = run_cli("--json", "backup", "list", config=catalog_config)
    assert listed.code == 0, listed.stderr
    indexed = [b["tenant"] for b in listed.json()]
    assert sorted(indexed) == sorted(dumped)  # every dump that began is indexed, no other
    entry = last_entry(catalog_config, "backup.run")
    assert (entry["target"], entry["outcome"]) == (first, "ok")
    again = run_cli("--json", "backup", "run", "bk-one", "bk-two", config=catalog_config)
    assert again.code == 0, again.stderr
    listed = run_cli("--json", "backup", "list", config=catalog_config).json()
    assert sorted(b["tenant"] for b in listed) == sorted([*dumped, "bk-one", "bk-two"])
    clean = run_cli("--json", "backup", "reconcile", config=catalog_config)
    assert clean.code == 0, clean.stderr
    assert "partial" not in clean.stdout, clean.stdout  # no stale partial file was left


#: The approval is read and checked inside its transaction; the signal comes before it runs.
SIGNAL_WHILE_DECIDING = """\
from aptien_ops.services.approvals import ApprovalService
check = ApprovalService._check_runnable

def checked(self, tx, approval):
    check(self, tx, approval)
    told_then_signalled(f"deciding #{approval.id}")

ApprovalService._check_runnable = checked
"""


@pytest.mark.parametrize(("signum", "said"), SIGNALS)
def test_an_approval_stopped_while_deciding_stays_pending_and_runs_once_when_approved_again(
    catalog_config: Path, ops: Console, signum: int, said: str
) -> None:
    ops.provisioning.provision(ProvisionRequest("gone-soon", "DE"))
    ops.lifecycle.cancel("gone-soon", 0)
    with pytest.raises(PendingApproval) as requested:
        ops.lifecycle.purge("gone-soon")
    approval = requested.value.approval_id
    args = ["--config", str(catalog_config), "approval", "approve", str(approval)]
    with started(args, SIGNAL_WHILE_DECIDING, env={"APTIEN_OPS_OPERATOR": "ada"}) as (cmd, told):
        assert next(told) == f"deciding #{approval}"
        stopped_by(cmd, signum, said)
    assert ops.approvals.show(approval).state == "pending"
    assert ops.tenants.show("gone-soon").state == TenantState.CANCELLED
    entry = last_entry(catalog_config, "approval.decide")
    assert (entry["target"], entry["outcome"]) == (f"approval/{approval}", "failed:interrupted")
    ada = open_console(catalog_config, env={"APTIEN_OPS_OPERATOR": "ada"})
    try:
        ada.approvals.approve(approval)
    finally:
        ada.close()
    assert ops.approvals.show(approval).state == "approved"
    assert ops.tenants.show("gone-soon").state == TenantState.PURGED
    decisions = [
        e["outcome"]
        for e in run_cli("--json", "ops-log", "list", config=catalog_config).json()
        if e["target"] == f"approval/{approval}"
    ]
    assert sorted(decisions) == ["failed:interrupted", "ok"], decisions  # it ran once
