"""``--grep TEXT`` of ``approval list`` and ``backup list`` (``ops-log list``'s is in
test_opslog_pages.py) and the services behind them and the TUI's ``/``: the catalog searches
every row, not the newest page, on a SQLite and a PostgreSQL catalog; computed columns (an
approval's ``expired``, a backup's status) are found as shown."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from aptien_ops.backup_policy import BackupRecord
from aptien_ops.composition import open_console
from aptien_ops.domain import BackupManifest, utcnow
from aptien_ops.domain.free_text import GREP
from aptien_ops.errors import PendingApproval

from cli_runner import run_cli


@pytest.fixture
def config(catalog_config: Path) -> Path:
    return catalog_config


def grep_json(config: Path, *args: str) -> list[dict[str, object]]:
    result = run_cli("--json", *args, config=config)
    assert result.code == 0, result.stderr
    rows: list[dict[str, object]] = result.json()
    return rows


def test_grep_text_is_refused_over_its_limit_and_never_echoed_raw(config: Path) -> None:
    for command in (("ops-log", "list"), ("approval", "list"), ("backup", "list")):
        help_text = run_cli(*command, "--help", config=config).stdout
        assert "--grep TEXT" in help_text and GREP.help in help_text.replace("\n", " ")
        too_long = run_cli("--json", *command, "--grep", "x" * (GREP.limit + 1), config=config)
        assert too_long.code == 2 and "x" * 50 not in too_long.stderr
        hostile = run_cli(*command, "--grep", "\x1b]0;owned\x07 \u202e", config=config)
        assert hostile.code == 0, hostile.stderr
        assert "\x1b" not in hostile.stdout + hostile.stderr and "\u202e" not in hostile.stdout


def test_approvals_are_found_by_requester_target_and_as_expired(config: Path) -> None:
    admin = open_console(config)
    try:
        admin.operators.add("grete", ("viewer",))
        with pytest.raises(PendingApproval):
            admin.operators.grant("grete", "admin")
    finally:
        admin.close()
    [request] = grep_json(config, "approval", "list", "--grep", "GRETE")
    assert request["target"] == "grete" and request["state"] == "pending"
    assert grep_json(config, "approval", "list", "--grep", "nobody-here") == []
    assert grep_json(config, "approval", "list", "--grep", "expired") == []  # not yet
    later = open_console(config, clock=lambda: utcnow() + timedelta(days=30))
    try:
        [late] = later.approvals.list(grep="EXPIR")
        assert late.id == request["id"]
        assert later.approvals.list("approved", grep="expired") == []
    finally:
        later.close()


def index_backups(config: Path, tenants: tuple[str, ...]) -> list[str]:
    """Backups of ``tenants`` in the catalog's index only (the store lacks them: "missing"),
    the first one pruned."""
    console = open_console(config)
    now, ids = utcnow().replace(microsecond=0), []
    try:
        console.backups.repository("eu")  # its signing key, made before it has backups
        with console.ctx.catalog.transaction() as tx:
            for n, tenant in enumerate(tenants):
                at = (now - timedelta(days=n + 1)).isoformat()
                backup_id = f"bk-grep-{n:03d}"
                manifest = BackupManifest(
                    backup_id, tenant, "eu", "eu-1", tenant, "sqlite", "3", "sqlite3", None,
                    at, at, 10, 10, "0" * 64, "1" * 64, "fp", {}, None,
                )  # fmt: skip
                tx.backups.insert(BackupRecord.from_manifest(manifest))
                ids.append(backup_id)
            tx.backups.mark_pruned(ids[0], now)
    finally:
        console.close()
    return ids


def test_backups_are_found_by_their_columns_and_their_computed_status(config: Path) -> None:
    first, second, third = index_backups(config, ("acme_gmbh", "acme-ag", "beta-kg"))

    def ids(*args: str) -> list[object]:
        return [row["id"] for row in grep_json(config, "backup", "list", *args)]

    assert ids("--grep", "ACME") == [second]  # the pruned one only with --all
    assert sorted(ids("--all", "--grep", "acme")) == sorted([first, second])
    assert ids("--all", "--grep", "acme_") == [first]
    assert ids("--all", "--grep", "prun") == [first]  # a status: computed, not stored
    assert sorted(ids("--all", "--grep", "MISSING")) == sorted([second, third])
    assert ids("--grep", "%") == []
    table = run_cli("backup", "list", "--grep", "beta", config=config)
    assert table.code == 0 and "beta-kg" in table.stdout and "acme" not in table.stdout
