"""``aptien-ops partner …`` as scripts use it: exit codes (3 unknown, 4 refused, 5 the rule
that failed, 7 out of policy), the document's digest, the contact card and nothing else, and
hostile partner text that never reaches the terminal raw."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from partner_world import cli_partner, cli_tenant, pat, share_card

from cli_runner import run_cli
from hostile_data import SIGNATURES, hostile


@pytest.fixture
def sandbox(catalog_config: Path) -> Path:
    return catalog_config


def test_a_partner_from_registration_to_shared_contacts(sandbox: Path, tmp_path: Path) -> None:
    cli_tenant(sandbox)
    pat(
        sandbox,
        "add",
        "nordic-sales",
        "--legal-name",
        "Nordic Sales AB",
        "--kind",
        "sales",
        "--coverage",
        "DE,AT",
        "--contact-email",
        "sales@nordic.example",
    )
    signed = tmp_path / "signed.pdf"
    signed.write_bytes(b"%PDF-1.7 signed by both parties")
    added = pat(
        sandbox,
        "agreement",
        "add",
        "nordic-sales",
        "PA-2020-01",
        "--signed-on",
        "2020-01-01",
        "--effective-from",
        "2020-01-02",
        "--document",
        signed,
    )
    assert isinstance(added, dict)
    assert added["document_sha256"] == hashlib.sha256(signed.read_bytes()).hexdigest()
    [row] = pat(sandbox, "list")  # type: ignore[misc]
    assert (row["name"], row["eligible"]) == ("nordic-sales", True)

    refused = run_cli(
        "partner",
        "assign",
        "nordic-sales",
        "acme-gmbh",
        "--as",
        "expert",
        "--reason",
        "x",
        config=sandbox,
        operator="pat",
    )
    assert refused.code == 5 and "rule: kind" in refused.stderr
    pat(sandbox, "assign", "nordic-sales", "acme-gmbh", "--as", "sales", "--reason", "new")

    card = share_card(sandbox, reason="intro")
    assert card.code == 0, card.stderr
    assert [line.split()[0] for line in card.stdout.splitlines()] == [
        "company",
        "name",
        "email",
        "phone",
    ]
    assert "anna@acme.example" in card.stdout
    shares = pat(sandbox, "shares", "acme-gmbh")
    assert isinstance(shares, list) and shares[0]["reason"] == "intro"
    assert "anna" not in json.dumps(shares)

    assert run_cli("partner", "check", config=sandbox).code == 0
    pat(sandbox, "agreement", "end", "nordic-sales", "PA-2020-01", "--reason", "terminated")
    check = run_cli("--json", "partner", "check", config=sandbox)
    assert check.code == 7
    assert [x["rule"] for x in check.json()["lapsed"]] == ["agreement"]
    again = share_card(sandbox, reason="intro")
    assert again.code == 5 and again.stdout == ""


def test_unknown_names_are_3_and_other_roles_are_refused_4(sandbox: Path) -> None:
    cli_tenant(sandbox)
    cli_partner(sandbox)
    for args in (
        ("show", "no-such-partner"),
        ("assignments", "--tenant", "no-such-tenant"),
    ):
        assert run_cli("partner", *args, config=sandbox).code == 3, args
    unknown = run_cli(
        "partner",
        "assign",
        "no-such-partner",
        "acme-gmbh",
        "--as",
        "sales",
        "--reason",
        "x",
        config=sandbox,
        operator="pat",
    )
    assert unknown.code == 3
    for who in ("vic", "olga", "ada"):
        for args in (
            ("assign", "nordic-sales", "acme-gmbh", "--as", "sales", "--reason", "x"),
            ("share-contacts", "acme-gmbh", "--partner", "nordic-sales", "--reason", "x"),
        ):
            result = run_cli("partner", *args, config=sandbox, operator=who)
            assert result.code == 4, (who, args, result.stderr)
            assert result.stdout == ""


def test_hostile_partner_text_never_reaches_the_terminal_raw(sandbox: Path) -> None:
    legal = hostile("legal") + ' "quoted" =cmd|calc ' + "y" * 40
    pat(
        sandbox,
        "add",
        "evil-partner",
        "--legal-name",
        legal,
        "--kind",
        "sales",
        "--coverage",
        "eu",
        "--contact-name",
        hostile("contact"),
    )
    for args in (
        ("list",),
        ("show", "evil-partner"),
        ("--json", "list"),
        ("--json", "show", "evil-partner"),
    ):
        result = run_cli("partner", *args, config=sandbox)
        assert result.code == 0, result.stderr
        raw = (result.stdout + result.stderr).encode()
        assert not any(sig in raw for sig in SIGNATURES), args


def test_publish_lists_only_eligible_partners_everything_escaped(
    sandbox: Path, tmp_path: Path
) -> None:
    pat(
        sandbox,
        "add",
        "script-co",
        "--legal-name",
        "<script>alert(1)</script> & Co",
        "--kind",
        "sales,expert",
        "--coverage",
        "DE,eu",
    )
    pat(
        sandbox,
        "agreement",
        "add",
        "script-co",
        "PA-1",
        "--signed-on",
        "2020-01-01",
        "--effective-from",
        "2020-01-01",
    )
    pat(
        sandbox,
        "add",
        "paper-only",
        "--legal-name",
        "Paper Only",
        "--kind",
        "sales",
        "--coverage",
        "DE",
    )
    page = tmp_path / "partners.html"
    done = pat(sandbox, "publish", "--format", "html", "--output", page)
    assert isinstance(done, dict) and done["partners"] == 1
    text = page.read_text(encoding="utf-8")
    assert "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in text
    assert "Paper Only" not in text and "eu, DE" in text
    listing = tmp_path / "partners.json"
    pat(sandbox, "publish", "--format", "json", "--output", listing)
    [entry] = json.loads(listing.read_text(encoding="utf-8"))["partners"]
    assert entry == {
        "name": "script-co",
        "legal_name": "<script>alert(1)</script> & Co",
        "kinds": ["sales", "expert"],
        "countries": ["DE"],
        "regions": ["eu"],
    }
    refused = run_cli(
        "partner", "publish", "--format", "html", "--output", page, config=sandbox, operator="ada"
    )
    assert refused.code == 4
