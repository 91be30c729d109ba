"""sandbox seed: tenants in both regions with realistic activity; sandbox mode only."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from aptien_ops.composition import Console, open_console
from aptien_ops.domain import Identity
from aptien_ops.errors import Forbidden, InvalidInput
from aptien_ops.inspect_query import LoginFilters
from aptien_ops.sandbox import DEMO_TENANTS
from aptien_ops.sandbox_partners import DEMO_PARTNERS
from aptien_ops.services.provisioning import ProvisionRequest
from aptien_ops.services.sandbox_seed import SeedRequest

from cli_runner import run_cli

REPO = Path(__file__).resolve().parent.parent
#: Four tenants with ten users and 500 audit events each.
SEED_FOUR = ("--json", "sandbox", "seed", "--tenants", "4", "--users", "10", "--events", "500")


def test_seed_fills_tenants_in_both_regions_and_a_rerun_adds_nothing(sandbox_config: Path) -> None:
    first = run_cli(*SEED_FOUR, config=sandbox_config)
    assert first.code == 0, first.stderr
    rows = first.json()
    console = open_console(sandbox_config)
    try:
        assert len(console.partners.list()) == len(DEMO_PARTNERS)
        assigned = {row.assignment.tenant for row in console.partners.assignments()}
    finally:
        console.close()
    assert assigned and assigned <= {r["tenant"] for r in rows}
    assert {r["region"] for r in rows} == {"eu", "us"}
    assert all(r["audit_events"] == 500 and r["logins"] == 100 for r in rows)
    said = run_cli(*SEED_FOUR[1:], config=sandbox_config).stdout
    assert "partners: 0 added, 0 assignments, 0 contact shares" in said
    again = run_cli(*SEED_FOUR, config=sandbox_config)
    assert again.code == 0 and all(r.get("skipped") == "already seeded" for r in again.json())
    keys = sandbox_config.parent / "platform-keys"
    assert sorted(p.stem for p in keys.iterdir()) == sorted(r["tenant"] for r in rows)


def _production(sandbox_config: Path) -> Console:
    """The sandbox's config turned production, opened as the service account would for ada
    (the command line refuses any other account)."""
    text = (
        sandbox_config.read_text()
        .replace('mode = "sandbox"', 'mode = "production"')
        .replace("initial_admins = []", 'initial_admins = ["ada"]')
    )
    sandbox_config.write_text(text)
    (sandbox_config.parent / "keys").mkdir(exist_ok=True)
    return open_console(sandbox_config, identity=Identity("ada", "ada", None, "s"))


def test_seed_is_refused_in_production_mode(sandbox_config: Path) -> None:
    console = _production(sandbox_config)
    try:
        with pytest.raises(InvalidInput, match="sandbox mode"):
            console.seeding.seed(SeedRequest())
        with pytest.raises(InvalidInput, match="sandbox mode"):
            console.seeding.seed_demo()
    finally:
        console.close()


def test_seed_refuses_bad_counts(sandbox_config: Path) -> None:
    for args in (("--tenants", "0"), ("--events", "-1"), ("--users", "0")):
        result = run_cli("--json", "sandbox", "seed", *args, config=sandbox_config)
        assert result.code == 2, args


def _examples(text: str) -> list[list[str]]:
    """The ``aptien-ops inspect …`` command lines of a help text or the README."""
    return [
        shlex.split(line.split("#")[0])[1:]
        for line in text.splitlines()
        if line.strip().startswith("aptien-ops inspect ")
    ]


def test_sandbox_init_gives_the_demo_tenants_activity_that_every_inspect_example_finds(
    tmp_path: Path,
) -> None:
    """The named demo tenants of the README and of ``inspect --help`` have logins and change
    audit, so each example prints rows when run as the sandbox's security colleague."""
    made = run_cli("--json", "sandbox", "init", "--path", tmp_path / "sbx")
    assert made.code == 0, made.stderr
    assert (
        made.json()["demo_tenants_added"] == made.json()["demo_tenants_seeded"] == len(DEMO_TENANTS)
    )
    config = tmp_path / "sbx" / "ops.toml"
    examples = _examples(run_cli("inspect", "--help").stdout)
    examples += _examples((REPO / "README.md").read_text(encoding="utf-8"))
    assert len(examples) >= 8
    for args in examples:
        args = [str(tmp_path / a) if a.endswith(".csv") else a for a in args]
        result = run_cli(*args, config=config, operator="sam")
        assert result.code == 0, (args, result.stderr)
        kind = args[1]
        if kind == "export":
            assert not result.stdout.startswith("exported 0 "), args
        elif kind != "summary":
            assert len(result.stdout.splitlines()) >= 2, (args, result.stdout)  # head + rows
    assert made.json()["demo_partners_added"] == len(DEMO_PARTNERS)
    assert made.json()["demo_assignments_added"] >= 5
    console = open_console(config)
    try:
        assert console.partners.show("nordic-sales").partner.legal_name == "Nordic Sales AB"
        assert console.tenants.show("acme-gmbh").company == "ACME GmbH"
    finally:
        console.close()
    again = run_cli("--json", "sandbox", "init", "--path", tmp_path / "sbx").json()
    assert again["demo_tenants_added"] == again["demo_tenants_seeded"] == 0
    assert again["demo_partners_added"] == again["demo_assignments_added"] == 0


def test_sandbox_init_fills_the_demo_tenants_of_an_older_sandbox(sandbox_config: Path) -> None:
    """Before, init made the demo tenants empty: running it again gives them their activity."""
    console = open_console(sandbox_config)
    try:
        for name, country, contact, email in DEMO_TENANTS[:2]:
            console.provisioning.provision(
                ProvisionRequest(name, country, None, None, contact, email)
            )
    finally:
        console.close()
    result = run_cli("--json", "sandbox", "init", "--path", sandbox_config.parent)
    assert result.code == 0 and result.json()["demo_tenants_seeded"] == len(DEMO_TENANTS)
    assert result.json()["demo_tenants_added"] == len(DEMO_TENANTS) - 2


def test_an_admin_refused_inspection_in_a_sandbox_is_told_to_act_as_sam(
    sandbox_config: Path,
) -> None:
    run_cli("--json", "sandbox", "init", "--path", sandbox_config.parent)
    refused = run_cli("inspect", "logins", "acme-gmbh", config=sandbox_config)
    assert refused.code == 4
    assert refused.stderr.endswith(
        "(needs role security; in this sandbox sam has it:"
        " prefix the command with APTIEN_OPS_OPERATOR=sam)\n"
    )


def test_in_production_a_refusal_names_no_colleague(sandbox_config: Path) -> None:
    console = _production(sandbox_config)
    try:
        with pytest.raises(Forbidden) as refused:
            console.inspection.logins("acme-gmbh", LoginFilters())
    finally:
        console.close()
    assert refused.value.hint == "needs role security"
