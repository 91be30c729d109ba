"""`backup run | list | due | verify | prune` as cron and operators use them: the command line
(in-process; a real process on a terminal for the progress bar), real stores, a SQLite and
(marked postgres) a PostgreSQL eu cluster."""

from __future__ import annotations

import os
import pty
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from aptien_ops.config import load_settings

from cli_runner import Result, run_cli
from fleet_configs import eu_cluster_kind, eu_fleet_config  # noqa: F401 - the fixtures kind, config
from tenant_seeding import seeded_in


def provision(config: Path, name: str, country: str = "DE", *, events: int = 300) -> str:
    """A tenant with realistic platform activity, provisioned as the platform's first run would."""
    return seeded_in(config, name, country=country, logins=60, events=events, users=8, seed=3)


@pytest.fixture
def tenant(config: Path, tenant_name: str) -> str:
    return provision(config, tenant_name)


def ok(result: Result) -> Result:
    assert result.code == 0, result.stderr
    return result


def without_sweeps(outcomes: list[dict]) -> list[dict]:  # type: ignore[type-arg]
    """The outcomes other than sweeping what a killed run left on the cluster (on the suite's
    shared PostgreSQL server, possibly another test's), which must have gone well."""
    assert all(o["ok"] for o in outcomes if o["action"] == "clean"), outcomes
    return [o for o in outcomes if o["action"] != "clean"]


def backup(config: Path, *names: str) -> list[str]:
    outcomes = ok(run_cli("--json", "backup", "run", *names, config=config)).json()
    backups = without_sweeps(outcomes)
    assert all(o["ok"] and o["action"] == "backup" for o in backups), outcomes
    assert len(backups) == len(names), outcomes
    return [o["backup_id"] for o in backups]


def listing(config: Path, *args: str) -> list[dict]:  # type: ignore[type-arg]
    return ok(run_cli("--json", "backup", "list", *args, config=config)).json()  # type: ignore[no-any-return]


def log_entries(config: Path, limit: int) -> list[dict]:  # type: ignore[type-arg]
    """The newest ``limit`` ops-log entries, newest first."""
    args = ("--json", "ops-log", "list", "--limit", str(limit))
    return ok(run_cli(*args, config=config)).json()  # type: ignore[no-any-return]


def last_log(config: Path) -> dict:  # type: ignore[type-arg]
    return log_entries(config, 1)[0]


def store_dir(config: Path, region: str = "eu") -> Path:
    return load_settings(config).regions[region].backup_store


# ----------------------------------------------------------------------------- the happy path


def test_an_operator_backs_up_a_tenant_and_verifies_it_at_every_level(
    config: Path, tenant: str
) -> None:
    [backup_id] = backup(config, tenant)
    assert (store_dir(config) / tenant / f"{backup_id}.dump.zst.age").is_file()
    entry = log_entries(config, 2)[1]  # the run's last entry is its ops-log checkpoint
    assert (entry["action"], entry["target"], entry["outcome"]) == (
        "backup.run",
        tenant,
        "ok",
    ) and backup_id in entry["params"]
    [row] = listing(config, tenant)
    assert (row["id"], row["status"], row["last_verification"]) == (backup_id, "unverified", None)
    assert row["region"] == "eu" and row["created_at"].endswith("Z") and row["ciphertext_size"] > 0
    for level in ("quick", "full", "restore"):
        result = run_cli(
            "--json",
            "backup",
            "verify",
            backup_id,
            "--level",
            level,
            config=config,
            operator="olga",
        )
        assert result.code == 0, result.stderr
        assert (result.json()["ok"], result.json()["level"], result.json()["operator"]) == (
            True,
            level,
            "olga",
        )
    [row] = listing(config, tenant)
    assert row["status"] == "verified" and row["last_verification"]["level"] == "restore"
    human = ok(run_cli("backup", "list", tenant, config=config)).stdout
    assert backup_id in human and "restore ok" in human


def test_cron_runs_what_is_due_and_then_nothing_is_due(
    config: Path, tenant: str, tenant_name: str
) -> None:
    other = provision(config, f"{tenant_name}-b", "US")
    due = ok(run_cli("--json", "backup", "due", config=config)).json()
    assert {(d["kind"], d["tenant"]) for d in due} == {("backup", tenant), ("backup", other)}
    assert not any(d["overdue"] for d in due)  # provisioned minutes ago: due, not yet late
    outcomes = ok(
        run_cli("--json", "backup", "run", "--due", "--parallel", "2", config=config)
    ).json()
    outcomes = without_sweeps(outcomes)
    assert sorted((o["action"], o["tenant"], o["ok"]) for o in outcomes) == [
        ("backup", tenant, True),
        ("backup", other, True),
        ("verify", tenant, True),
        ("verify", other, True),
    ]
    assert all(o["detail"].startswith("restore:") for o in outcomes if o["action"] == "verify")
    assert ok(run_cli("--json", "backup", "due", config=config)).json() == []
    assert ok(run_cli("backup", "due", config=config)).stdout.strip() == "nothing is due"
    assert ok(run_cli("--json", "backup", "run", "--due", config=config)).json() == []


def test_a_region_is_backed_up_in_parallel_and_only_that_region(
    config: Path, tenant: str, tenant_name: str
) -> None:
    second = provision(config, f"{tenant_name}-b", "FR")
    far = provision(config, f"{tenant_name}-c", "JP")
    outcomes = ok(
        run_cli("--json", "backup", "run", "--region", "eu", "--parallel", "2", config=config)
    ).json()
    assert sorted(o["tenant"] for o in without_sweeps(outcomes)) == sorted([tenant, second])
    assert listing(config, far) == []


def test_backup_run_draws_a_progress_bar_on_a_terminal_only(config: Path, tenant: str) -> None:
    assert "[" not in run_cli("backup", "run", tenant, config=config).stderr
    controller, terminal = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "APTIEN_OPS_OPERATOR"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "aptien_ops", "--config", str(config), "backup", "run", tenant],
        stdout=subprocess.PIPE,
        stderr=terminal,
        env=env,
    )
    os.close(terminal)
    seen = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # EIO: the process closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    assert proc.wait(timeout=120) == 0
    os.close(controller)
    assert b"backup [" in seen and b"#" in seen


# ----------------------------------------------------------------------------- failures


def test_a_flipped_bit_in_a_backup_fails_verification_with_exit_7_and_makes_the_tenant_due(
    config: Path, tenant: str
) -> None:
    [backup_id] = backup(config, tenant)
    data = store_dir(config) / tenant / f"{backup_id}.dump.zst.age"
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    data.write_bytes(bytes(raw))
    result = run_cli("--json", "backup", "verify", backup_id, "--level", "quick", config=config)
    assert result.code == 7 and result.stdout == ""
    assert "hash" in result.error()["message"] and result.error()["code"] == "integrity"
    assert listing(config, tenant)[0]["status"] == "failed"
    assert last_log(config)["outcome"] == "failed:integrity"
    due = ok(run_cli("--json", "backup", "due", config=config)).json()
    assert {"kind": "backup", "tenant": tenant, "overdue": True}.items() <= due[0].items()
    assert "failed verification" in due[0]["reason"]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("verify", "bk-20250101T000000Z-abcdef"), 3),
        (("verify", "bk-nope"), 3),
        (("verify", "bk; rm -rf /"), 2),
        (("verify", "bk-20250101T000000Z-abcdef", "--level", "paranoid"), 2),
        (("run", "--parallel", "0", "--region", "eu"), 2),
        (("run",), 2),
        (("run", "no-such-tenant"), 3),
        (("run", "Bad Name"), 2),
        (("run", "--region", "apac"), 2),
        (("list", "no-such-tenant"), 3),
    ],
)
def test_bad_input_gets_the_documented_exit_code_and_one_line(
    config: Path, args: tuple[str, ...], code: int
) -> None:
    result = run_cli("--json", "backup", *args, config=config)
    assert result.code == code, result.stderr
    assert result.stdout == "" and len(result.error()["message"]) < 200


def test_a_purged_tenant_cannot_be_backed_up_and_its_old_backups_no_longer_decrypt(
    config: Path, tenant: str
) -> None:
    [backup_id] = backup(config, tenant)
    ok(run_cli("--json", "--yes", "tenant", "cancel", tenant, "--retain-days", "0", config=config))
    approval = run_cli("--json", "--yes", "tenant", "purge", tenant, config=config).error()[
        "approval_id"
    ]
    ok(run_cli("--json", "approval", "approve", str(approval), config=config, operator="ada"))
    result = run_cli("--json", "backup", "run", tenant, config=config)
    assert result.code == 5 and "purged" in result.error()["message"]
    assert ok(
        run_cli("--json", "backup", "verify", backup_id, "--level", "quick", config=config)
    ).json()["ok"]
    full = run_cli("--json", "backup", "verify", backup_id, "--level", "full", config=config)
    assert full.code == 7 and "destroyed" in full.error()["message"]


def test_a_viewer_cannot_run_a_backup_and_the_denial_is_logged(config: Path, tenant: str) -> None:
    result = run_cli("--json", "backup", "run", tenant, config=config, operator="vic")
    assert result.code == 4 and result.error()["code"] == "forbidden"
    entry = last_log(config)
    assert (entry["operator"], entry["action"], entry["outcome"]) == ("vic", "backup.run", "denied")
    assert not (store_dir(config) / tenant).exists()
    assert (
        ok(run_cli("--json", "backup", "list", tenant, config=config, operator="vic")).json() == []
    )  # viewers may look


# ----------------------------------------------------------------------- the store is the truth


def test_list_only_reads_and_reconcile_indexes_what_the_store_holds(
    config: Path, tenant: str
) -> None:
    first, second = backup(config, tenant), backup(config, tenant)
    catalog = load_settings(config).data_dir / "catalog.db"
    with sqlite3.connect(catalog) as db:  # as if the catalog were restored from before the backup
        db.execute("DELETE FROM backups WHERE id = ?", (first[0],))
    (store_dir(config) / tenant / f"{second[0]}.manifest.json").unlink()

    def catalog_rows() -> tuple[int, int]:
        with sqlite3.connect(catalog) as db:
            backups = db.execute("SELECT count(*) FROM backups").fetchone()[0]
            entries = db.execute("SELECT count(*) FROM opslog").fetchone()[0]
        return backups, entries

    before = catalog_rows()
    result = ok(run_cli("--json", "backup", "list", tenant, config=config, operator="vic"))
    assert {r["id"]: r["status"] for r in result.json()} == {second[0]: "missing"}
    assert f"not in the catalog's index but in the store: 1 backup, {first[0]}" in result.stderr
    assert "backup reconcile" in result.stderr and "missing from the store" in result.stderr
    assert catalog_rows() == before, "listing writes nothing, not even the ops log"

    denied = run_cli("--json", "backup", "reconcile", config=config, operator="vic")
    assert denied.code == 4 and catalog_rows()[0] == before[0]
    report = ok(run_cli("--json", "backup", "reconcile", config=config, operator="olga")).json()
    assert (report["indexed"], report["missing"]) == ([first[0]], [second[0]])
    again = ok(run_cli("--json", "backup", "reconcile", config=config, operator="olga")).json()
    assert again["indexed"] == []
    listed = ok(run_cli("--json", "backup", "list", tenant, config=config)).json()
    assert {r["id"]: r["status"] for r in listed} == {first[0]: "unverified", second[0]: "missing"}
    gone = run_cli("--json", "backup", "verify", second[0], config=config)
    assert gone.code == 7 and "missing" in gone.error()["message"]


# ----------------------------------------------------------------------------- retention


def test_prune_keeps_the_newest_backup_of_the_day_and_asks_first(config: Path, tenant: str) -> None:
    ids = backup(config, tenant) + backup(config, tenant) + backup(config, tenant)
    plan = ok(
        run_cli("--json", "backup", "prune", "--dry-run", config=config, operator="vic")
    ).json()
    assert {p["backup_id"]: p["action"] for p in plan} == {
        ids[0]: "prune",
        ids[1]: "prune",
        ids[2]: "keep",
    }
    refused = run_cli("--json", "backup", "prune", config=config)  # no terminal, no --yes
    assert refused.code == 2 and "--yes" in refused.stderr
    assert len(listing(config, tenant)) == 3
    denied = run_cli("--json", "--yes", "backup", "prune", config=config, operator="vic")
    assert denied.code == 4
    ok(run_cli("--json", "--yes", "backup", "prune", config=config, operator="olga"))
    assert [r["id"] for r in listing(config, tenant)] == [ids[2]]
    assert {r["id"]: r["status"] for r in listing(config, tenant, "--all")}[ids[0]] == "pruned"
    assert sorted(p.name for p in (store_dir(config) / tenant).iterdir()) == sorted(
        [f"{ids[2]}.dump.zst.age", f"{ids[2]}.manifest.json"]
    )
    pruned = run_cli("--json", "backup", "verify", ids[0], config=config)
    assert pruned.code == 3 and "pruned" in pruned.error()["message"]
    assert (
        ok(run_cli("--json", "--yes", "backup", "prune", config=config)).json()[0]["action"]
        == "keep"
    )


def test_a_legal_hold_keeps_every_backup_from_prune(config: Path, tenant: str) -> None:
    config.write_text(
        config.read_text().replace("legal_holds = []", f'legal_holds = ["{tenant}"]', 1)
    )
    backup(config, tenant)
    backup(config, tenant)
    plan = ok(run_cli("--json", "--yes", "backup", "prune", config=config)).json()
    assert [p["reasons"] for p in plan] == [["legal hold"], ["legal hold"]]
    assert len(listing(config, tenant)) == 2


# ----------------------------------------------------------------------------- residency


def snapshot(*roots: Path) -> set[str]:
    return {str(p) for root in roots if root.exists() for p in root.rglob("*")}


def test_an_eu_backup_and_its_restore_touch_nothing_of_the_us_region(
    config: Path, tenant: str, request: pytest.FixtureRequest
) -> None:
    settings = load_settings(config)
    us = settings.regions["us"]
    us_places = [us.backup_store, *(Path(c.url.removeprefix("sqlite:///")) for c in us.clusters)]
    pg = (
        request.getfixturevalue("pg_server")
        if settings.regions["eu"].clusters[0].kind == "postgresql"
        else None
    )
    databases = "SELECT datname FROM pg_database ORDER BY 1"
    before, pg_before = snapshot(*us_places), pg.psql(databases) if pg else ""
    [backup_id] = backup(config, tenant)
    ok(run_cli("--json", "backup", "verify", backup_id, "--level", "restore", config=config))
    assert snapshot(*us_places) == before
    assert pg is None or pg.psql(databases) == pg_before  # the scratch database is gone again
    assert sorted(
        p.name for p in (settings.regions["eu"].backup_store / tenant).iterdir()
    ) == sorted([f"{backup_id}.dump.zst.age", f"{backup_id}.manifest.json"])
