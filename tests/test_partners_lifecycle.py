"""Tenants and partners together: the contact record (tenant update, provision), cancel ending
assignments, purge keeping only the history, and the card checked by a canary through the
command line, the ops log and the event log."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from partner_world import share_card

from aptien_ops.config import load_settings
from aptien_ops.services.partner_results import ContactCard

from cli_runner import run_cli

CANARY = "CANARY-b41d-never-on-a-card"


@pytest.fixture
def sandbox(catalog_config: Path) -> Path:
    config = catalog_config
    for args, who in (
        (
            (
                "tenant",
                "provision",
                "acme-gmbh",
                "--country",
                "DE",
                "--company",
                "ACME GmbH",
                "--contact-name",
                "Anna Adler",
                "--contact-email",
                "anna@acme.example",
                "--contact-phone",
                "+49 30 1234567",
            ),
            "olga",
        ),
        (
            (
                "partner",
                "add",
                "nordic-sales",
                "--legal-name",
                "Nordic AB",
                "--kind",
                "sales",
                "--coverage",
                "eu",
            ),
            "pat",
        ),
        (
            (
                "partner",
                "agreement",
                "add",
                "nordic-sales",
                "PA-1",
                "--signed-on",
                "2020-01-01",
                "--effective-from",
                "2020-01-01",
            ),
            "pat",
        ),
        (
            (
                "partner",
                "assign",
                "nordic-sales",
                "acme-gmbh",
                "--as",
                "sales",
                "--reason",
                "new client",
            ),
            "pat",
        ),
    ):
        result = run_cli(*args, config=config, operator=who)
        assert result.code == 0, (args, result.stderr)
    return config


def _json(config: Path, *args: str, who: str | None = None) -> object:
    result = run_cli("--json", *args, config=config, operator=who)
    assert result.code == 0, result.stderr
    return result.json()


def test_the_card_has_four_fields_and_a_canary_elsewhere_never_leaks(sandbox: Path) -> None:
    assert [f.name for f in dataclasses.fields(ContactCard)] == [
        "company",
        "name",
        "email",
        "phone",
    ]
    suspended = run_cli(
        "tenant", "suspend", "acme-gmbh", "--reason", CANARY, config=sandbox, operator="olga"
    )
    assert suspended.code == 0, suspended.stderr
    said = ""
    for flag in ((), ("--json",)):
        shared = share_card(sandbox, *flag, reason="intro")
        assert shared.code == 0, shared.stderr
        said += shared.stdout + shared.stderr
    assert "anna@acme.example" in said and "ACME GmbH" in said and "+49 30 1234567" in said
    assert CANARY not in said
    again = share_card(sandbox, "--json", reason="again")
    assert again.code == 0, again.stderr
    card = again.json()
    assert card == {
        "company": "ACME GmbH",
        "name": "Anna Adler",
        "email": "anna@acme.example",
        "phone": "+49 30 1234567",
    }
    entries = _json(sandbox, "ops-log", "list", "--limit", "1000", who="ada")
    assert isinstance(entries, list)
    shares = [e for e in entries if e["action"] == "partner.share"]
    assert len(shares) == 3
    logged = json.dumps(shares) + json.dumps(_json(sandbox, "partner", "shares"))
    event_log = load_settings(sandbox).logging.file.read_text(encoding="utf-8")
    share_lines = "\n".join(line for line in event_log.splitlines() if "partner.share" in line)
    for secret in ("anna@acme", "Anna Adler", "+49 30 1234567", "ACME GmbH", CANARY):
        assert secret not in logged and secret not in share_lines, secret


def test_tenant_update_changes_the_card_and_logs_only_which_fields(sandbox: Path) -> None:
    updated = _json(
        sandbox,
        "tenant",
        "update",
        "acme-gmbh",
        "--contact-phone",
        "+49 89 555",
        "--company",
        "ACME AG",
        who="olga",
    )
    assert isinstance(updated, dict)
    assert (updated["contact_phone"], updated["company"]) == ("+49 89 555", "ACME AG")
    [entry] = [
        e for e in _json(sandbox, "ops-log", "list", who="ada") if e["action"] == "tenant.update"
    ]
    # Whole values only: a short run of digits can occur by chance in the entry's hashes.
    assert "+49 89 555" not in json.dumps(entry) and "ACME AG" not in json.dumps(entry)
    refused = run_cli(
        "tenant", "update", "acme-gmbh", "--company", "X", config=sandbox, operator="vic"
    )
    assert refused.code == 4
    bad = run_cli(
        "tenant",
        "update",
        "acme-gmbh",
        "--contact-phone",
        "call me",
        config=sandbox,
        operator="olga",
    )
    assert bad.code == 2


def test_cancel_ends_assignments_and_purge_keeps_only_the_history(sandbox: Path) -> None:
    shared = share_card(sandbox, reason="intro")
    assert shared.code == 0
    cancel = run_cli(
        "--yes",
        "tenant",
        "cancel",
        "acme-gmbh",
        "--retain-days",
        "0",
        config=sandbox,
        operator="olga",
    )
    assert cancel.code == 0, cancel.stderr
    [row] = _json(sandbox, "partner", "assignments", "--tenant", "acme-gmbh", "--all")
    assert (row["state"], row["end_reason"], row["ended_by"]) == (
        "ended",
        "tenant cancelled",
        "olga",
    )
    refused = share_card(sandbox, reason="x")
    assert refused.code == 5
    purge = run_cli("--json", "--yes", "tenant", "purge", "acme-gmbh", config=sandbox)
    assert purge.code == 8, purge.stderr  # four-eyes: another admin approves
    approval = str(purge.error()["approval_id"])
    done = run_cli("--yes", "approval", "approve", approval, config=sandbox, operator="ada")
    assert done.code == 0, done.stderr
    tenant = _json(sandbox, "tenant", "show", "acme-gmbh")
    assert isinstance(tenant, dict) and tenant["state"] == "purged"
    assert [tenant[k] for k in ("contact_name", "contact_email", "contact_phone", "company")] == [
        None
    ] * 4
    [share] = _json(sandbox, "partner", "shares", "acme-gmbh")
    assert (share["partner"], share["shared_by"], share["reason"]) == (
        "nordic-sales",
        "pat",
        "intro",
    )
    history = _json(sandbox, "partner", "assignments", "--tenant", "acme-gmbh", "--all")
    assert isinstance(history, list) and len(history) == 1
