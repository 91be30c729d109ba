"""sandbox seed: tenants in both regions with realistic activity; sandbox mode only."""

from __future__ import annotations

from pathlib import Path

import pytest

from aptien_ops.composition import open_console
from aptien_ops.domain import Identity
from aptien_ops.errors import InvalidInput
from aptien_ops.services.sandbox_seed import SeedRequest

from cli_runner import run_cli

#: Four tenants with ten users and 500 audit events each.
SEED_FOUR = ("--json", "sandbox", "seed", "--tenants", "4", "--users", "10", "--events", "500")


def test_seed_fills_tenants_in_both_regions_and_a_rerun_adds_nothing(sandbox_config: Path) -> None:
    first = run_cli(*SEED_FOUR, config=sandbox_config)
    assert first.code == 0, first.stderr
    rows = first.json()
    assert {r["region"] for r in rows} == {"eu", "us"}
    assert all(r["audit_events"] == 500 and r["logins"] == 100 for r in rows)
    again = run_cli(*SEED_FOUR, config=sandbox_config)
    assert again.code == 0 and all(r.get("skipped") == "already seeded" for r in again.json())
    keys = sandbox_config.parent / "platform-keys"
    assert sorted(p.stem for p in keys.iterdir()) == sorted(r["tenant"] for r in rows)


def test_seed_is_refused_in_production_mode(sandbox_config: Path) -> None:
    text = (
        sandbox_config.read_text()
        .replace('mode = "sandbox"', 'mode = "production"')
        .replace("initial_admins = []", 'initial_admins = ["ada"]')
    )
    sandbox_config.write_text(text)
    (sandbox_config.parent / "keys").mkdir(exist_ok=True)
    # As the service account would run it for ada (the command line refuses any other account).
    console = open_console(sandbox_config, identity=Identity("ada", "ada", None, "s"))
    try:
        with pytest.raises(InvalidInput, match="sandbox mode"):
            console.seeding.seed(SeedRequest())
    finally:
        console.close()


def test_seed_refuses_bad_counts(sandbox_config: Path) -> None:
    for args in (("--tenants", "0"), ("--events", "-1"), ("--users", "0")):
        result = run_cli("--json", "sandbox", "seed", *args, config=sandbox_config)
        assert result.code == 2, args
