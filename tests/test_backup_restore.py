"""`backup restore ID --to NAME` as operators use it: into a new tenant of the backup's region,
or over the tenant's own data once a second operator approves; swapped in only when every row
count matches, and a failure at any step (a truncated backup, a killed run, a database in use)
leaves the live database as it was. The command line in-process, real stores, a SQLite and
(marked postgres) a PostgreSQL eu cluster."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from test_backups_cli import backup, ok, provision, store_dir
from waiting import until

from aptien_ops.backends.pg_scratch import admin_connect, is_scratch_of
from aptien_ops.composition import open_console
from aptien_ops.config import load_settings
from aptien_ops.inspect_query import LoginFilters

from cli_runner import Result, run_cli
from fleet_configs import (  # noqa: F401 - the fixtures kind and config
    eu_cluster_kind,
    eu_fleet_config,
    sandbox_with_eu_on,
)
from pg_fixtures import PgServer

TABLES = (
    "audit_events",
    "login_events",
    "messages",
    "records",
    "tenant_meta",
    "user_messages",
    "users",
)


@pytest.fixture
def tenant(config: Path, tenant_name: str) -> str:
    return provision(config, tenant_name)


def counts(config: Path, name: str) -> dict[str, int]:
    console = open_console(config)
    try:
        tenant = console.tenants.show(name)
        with console.ctx.store(tenant.cluster or "").connect(name) as conn:
            return {
                t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608
                for t in TABLES
            }
    finally:
        console.close()


def fingerprint(config: Path, name: str) -> str:
    """A digest of every row of the tenant's database, to tell "as it was" from "changed"."""
    console = open_console(config)
    digest = hashlib.sha256()
    try:
        tenant = console.tenants.show(name)
        with console.ctx.store(tenant.cluster or "").connect(name) as conn:
            for table in TABLES:
                rows = conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()  # noqa: S608
                digest.update(repr((table, [tuple(map(str, r)) for r in rows])).encode())
    finally:
        console.close()
    return digest.hexdigest()


def meta(config: Path, name: str) -> dict[str, str]:
    console = open_console(config)
    try:
        tenant = console.tenants.show(name)
        with console.ctx.store(tenant.cluster or "").connect(name) as conn:
            return dict(conn.execute("SELECT key, value FROM tenant_meta").fetchall())
    finally:
        console.close()


def more_activity(config: Path, name: str) -> None:
    """The platform writes after the backup: what replacing the data must take back."""
    console = open_console(config)
    try:
        tenant = console.tenants.show(name)
        with console.ctx.store(tenant.cluster or "").connect(name) as conn:
            conn.execute(
                "DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events LIMIT 7)"
            )
            conn.execute("UPDATE users SET display_name = 'changed since the backup'")
    finally:
        console.close()


def leftovers(config: Path, name: str) -> list[str]:
    """Scratch or staging copies of ``name`` left on its cluster (databases or files)."""
    console = open_console(config)
    try:
        tenant = console.tenants.show(name)
        cluster = console.ctx.cluster_settings(tenant.cluster or "")
        if cluster.kind == "sqlite":
            directory = Path(cluster.url.removeprefix("sqlite:///")) / "scratch"
            found = [p.name.removesuffix(".db") for p in directory.glob("*.db")]
        else:
            with admin_connect(cluster) as conn:
                found = [r[0] for r in conn.execute("SELECT datname FROM pg_database")]
        return sorted(n for n in found if is_scratch_of(n, name))
    finally:
        console.close()


def restore(
    config: Path, backup_id: str, to: str, *extra: str, operator: str | None = None
) -> Result:
    return run_cli(
        "--json",
        *extra,
        "backup",
        "restore",
        backup_id,
        "--to",
        to,
        config=config,
        operator=operator,
    )


def approve(config: Path, approval: int) -> Result:
    return run_cli("--json", "approval", "approve", str(approval), config=config, operator="ada")


def truncate(config: Path, tenant: str, backup_id: str) -> None:
    data = store_dir(config) / tenant / f"{backup_id}.dump.zst.age"
    data.write_bytes(data.read_bytes()[: data.stat().st_size * 2 // 3])


# ----------------------------------------------------------------------------- a new tenant


def test_a_backup_is_restored_into_a_new_tenant_of_its_region_with_every_row(
    config: Path, tenant: str
) -> None:
    [backup_id] = backup(config, tenant)
    before = counts(config, tenant)
    copy = f"{tenant}-copy"

    result = ok(restore(config, backup_id, copy, operator="olga"))

    done = result.json()
    assert (done["tenant"], done["source"], done["replaced"]) == (copy, tenant, False)
    assert (done["tables"], done["rows"]) == (len(TABLES), sum(before.values()))
    shown = ok(run_cli("--json", "tenant", "show", copy, config=config)).json()
    assert (shown["state"], shown["region"], shown["country"]) == ("active", "eu", "DE")
    assert counts(config, copy) == before
    assert meta(config, copy)["tenant"] == copy  # the copy is itself, not its source
    assert (
        shown["backup_recipient"]
        != ok(run_cli("--json", "tenant", "show", tenant, config=config)).json()["backup_recipient"]
    )  # its own backup key
    entry = ok(run_cli("--json", "ops-log", "list", "--limit", "1", config=config)).json()[0]
    assert (entry["action"], entry["target"], entry["outcome"]) == ("backup.restore", copy, "ok")
    assert backup_id in entry["params"]
    assert leftovers(config, copy) == []
    # Security reads the copy's metadata as it reads any tenant's (the inspector's grants).
    console = open_console(config, env={"APTIEN_OPS_OPERATOR": "sam"})
    try:
        assert console.inspection.logins(copy, LoginFilters()).rows
    finally:
        console.close()
    # The copy backs up and verifies like any tenant.
    [again] = backup(config, copy)
    verified = run_cli("--json", "backup", "verify", again, "--level", "restore", config=config)
    assert verified.code == 0, verified.stderr


def test_rerunning_a_finished_restore_reports_it_and_another_tenants_name_is_refused(
    config: Path, tenant: str, tenant_name: str
) -> None:
    [backup_id] = backup(config, tenant)
    copy = f"{tenant}-copy"
    ok(restore(config, backup_id, copy))
    fingerprinted = fingerprint(config, copy)

    again = ok(restore(config, backup_id, copy))
    assert again.json()["detail"] == "restored already"
    assert fingerprint(config, copy) == fingerprinted

    other = provision(config, f"{tenant_name}-other")
    refused = restore(config, backup_id, other)
    assert refused.code == 5 and "exists already" in refused.error()["message"]
    bad = restore(config, backup_id, "Not A Name")
    assert bad.code == 2
    missing = restore(config, "bk-20250101T000000Z-abcdef", copy)
    assert missing.code == 3


def test_a_truncated_backup_fails_the_restore_and_the_new_tenant_waits_for_a_good_one(
    config: Path, tenant: str
) -> None:
    first, second = backup(config, tenant)[0], backup(config, tenant)[0]
    truncate(config, tenant, second)
    copy = f"{tenant}-copy"

    failed = restore(config, second, copy)

    assert failed.code == 7, failed.stderr
    assert "does not restore faithfully" in failed.error()["message"]
    shown = ok(run_cli("--json", "tenant", "show", copy, config=config)).json()
    assert shown["state"] == "provisioning"  # never active with an empty database
    assert leftovers(config, copy) == []
    provisioned = run_cli("--json", "tenant", "provision", copy, "--country", "DE", config=config)
    assert provisioned.code == 5 and "restore a backup into it" in provisioned.error()["message"]
    # The same command with a good backup resumes it.
    ok(restore(config, first, copy))
    assert ok(run_cli("--json", "tenant", "show", copy, config=config)).json()["state"] == "active"
    assert counts(config, copy) == counts(config, tenant)


# ----------------------------------------------------------------------------- over its own data


def test_replacing_a_tenants_data_asks_is_four_eyes_and_approving_runs_it(
    config: Path, tenant: str
) -> None:
    [backup_id] = backup(config, tenant)
    backed_up = counts(config, tenant)
    more_activity(config, tenant)
    changed = fingerprint(config, tenant)

    unasked = run_cli("backup", "restore", backup_id, "--to", tenant, config=config)
    assert unasked.code == 2 and "pass --yes" in unasked.stderr
    requested = restore(config, backup_id, tenant, "--yes", operator="olga")
    assert requested.code == 8, requested.stderr
    assert fingerprint(config, tenant) == changed  # a request changes nothing
    approval = requested.error()["approval_id"]
    own = run_cli("--json", "approval", "approve", str(approval), config=config, operator="olga")
    assert own.code == 4

    decided = ok(approve(config, approval)).json()

    assert decided["action"] == "backup.replace" and decided["result"]["replaced"] is True
    assert counts(config, tenant) == backed_up
    assert fingerprint(config, tenant) != changed
    history = ok(run_cli("--json", "tenant", "show", tenant, config=config)).json()
    reasons = json.dumps(history)
    assert f"data replaced from backup {backup_id} (approval #{approval})" in reasons
    assert leftovers(config, tenant) == []
    assert meta(config, tenant)["tenant"] == tenant


def test_a_truncated_backup_leaves_the_live_database_as_it_was_and_the_request_pending(
    config: Path, tenant: str
) -> None:
    [backup_id] = backup(config, tenant)
    more_activity(config, tenant)
    live = fingerprint(config, tenant)
    truncate(config, tenant, backup_id)
    approval = restore(config, backup_id, tenant, "--yes").error()["approval_id"]

    failed = approve(config, approval)

    assert failed.code == 7, failed.stderr
    assert "was not touched" in failed.error()["message"]
    assert fingerprint(config, tenant) == live
    assert leftovers(config, tenant) == []
    pending = ok(run_cli("--json", "approval", "list", config=config)).json()
    assert [a["state"] for a in pending if a["id"] == approval] == ["pending"]
    # The tenant still works as before: backed up and verified like any day.
    [fresh] = backup(config, tenant)
    assert ok(run_cli("--json", "backup", "verify", fresh, "--level", "restore", config=config))


def test_a_swap_that_fails_leaves_the_old_database_untouched(
    config: Path, tenant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    [backup_id] = backup(config, tenant)
    more_activity(config, tenant)
    live = fingerprint(config, tenant)
    no_four_eyes(config)
    kind = load_settings(config).regions["eu"].clusters[0].kind
    if kind == "sqlite":

        def refuse_rename(*args: object) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(os, "rename", refuse_rename)
    else:
        from aptien_ops.backends import pg_swap

        real = pg_swap.swap_databases

        def rename_then_fail(conn, cluster, live_db, staged, aside):  # type: ignore[no-untyped-def]
            # The first rename happens inside the swap's transaction, then the second fails:
            # the transaction takes both back.
            real(conn, cluster, live_db, "no_such_database", aside)

        monkeypatch.setattr(pg_swap, "swap_databases", rename_then_fail)

    failed = restore(config, backup_id, tenant, "--yes")

    assert failed.code != 0, failed.stderr
    monkeypatch.undo()
    assert fingerprint(config, tenant) == live
    assert leftovers(config, tenant) == []
    assert ok(run_cli("--json", "backup", "run", tenant, config=config))


def no_four_eyes(config: Path) -> None:
    """This sandbox's policy lets one operator replace a tenant's data (after confirming)."""
    text = config.read_text()
    config.write_text(text.replace(', "backup.replace",', ","))
    assert "backup.replace" not in config.read_text()


def test_without_four_eyes_replacing_runs_at_once_after_confirmation(
    config: Path, tenant: str
) -> None:
    [backup_id] = backup(config, tenant)
    backed_up = counts(config, tenant)
    more_activity(config, tenant)
    no_four_eyes(config)

    done = ok(restore(config, backup_id, tenant, "--yes", operator="olga")).json()

    assert done["replaced"] is True and counts(config, tenant) == backed_up
    entry = ok(run_cli("--json", "ops-log", "list", "--limit", "1", config=config)).json()[0]
    assert (entry["action"], entry["outcome"]) == ("backup.replace", "ok")


# ----------------------------------------------------------------------------- a killed restore

_RESTORE_CHILD = """
import sys
from aptien_ops.backends.pg_scratch import admin_connect, is_scratch_of
from aptien_ops.composition import open_console
console = open_console(sys.argv[1])
console.backups.restore(sys.argv[2], sys.argv[3])
"""


@pytest.mark.postgres
def test_a_restore_killed_mid_way_leaves_the_old_database_and_rerunning_converges(
    pg_server: PgServer, tmp_path: Path, tenant_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APTIEN_TEST_INSPECTOR_PW", "inspector-pw-for-tests")
    config = sandbox_with_eu_on("postgresql", tmp_path / "sbx", pg_server)
    tenant = provision(config, tenant_name, events=60_000)
    [backup_id] = backup(config, tenant)
    backed_up = counts(config, tenant)
    more_activity(config, tenant)
    live = fingerprint(config, tenant)
    no_four_eyes(config)
    child = subprocess.Popen(
        [sys.executable, "-c", _RESTORE_CHILD, str(config), backup_id, tenant],
        stderr=subprocess.PIPE,
    )
    try:
        until(
            lambda: restoring(config, tenant),
            "pg_restore restoring into a staging database",
            meanwhile=lambda: _running(child),
        )
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL
    assert fingerprint(config, tenant) == live
    assert len(leftovers(config, tenant)) == 1  # kill -9 runs no clean-up: staging stays

    done = ok(restore(config, backup_id, tenant, "--yes")).json()

    assert done["replaced"] is True and counts(config, tenant) == backed_up
    assert leftovers(config, tenant) == []


def _running(child: subprocess.Popen[bytes]) -> None:
    assert child.poll() is None, child.stderr.read() if child.stderr else ""


def restoring(config: Path, tenant: str) -> bool:
    """Whether pg_restore is connected to a staging database of ``tenant``."""
    cluster = load_settings(config).regions["eu"].clusters[0]
    with admin_connect(cluster) as conn:
        names = [r[0] for r in conn.execute("SELECT datname FROM pg_stat_activity")]
    return any(n and is_scratch_of(n, tenant) for n in names)


def test_a_restore_shows_its_steps_and_progress_as_plain_lines_without_a_terminal(
    config: Path, tenant: str
) -> None:
    """What the operator reads while it runs: the new tenant's steps, the bytes restored of
    the backup's total, then the restore's own step, one plain line each (no terminal)."""
    [backup_id] = backup(config, tenant)
    copy = f"{tenant}-copy"
    result = ok(run_cli("backup", "restore", backup_id, "--to", copy, config=config))
    said = result.stderr  # progress goes to stderr, the result to stdout
    assert "\r" not in said + result.stdout
    lines = said.splitlines()
    assert lines[0] == f"restoring {backup_id} into {copy}:"
    bar = [line for line in lines if line.startswith("restoring ") and line.endswith(copy)]
    assert bar, said
    done, total = bar[-1].split()[1].split("/")
    assert done == total and int(total) > 0  # every byte of the backup, said once at the end
    steps = [line.split()[0] for line in lines if line.startswith("  ")]
    assert steps.index("backup-identity") < steps.index("restore") < steps.index("active")
    assert result.stdout.startswith(f"{copy}: restored from {backup_id}")
