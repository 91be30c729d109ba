"""``billing sync`` on the command line against localstripe: its summary, ``--json``, exit 6
for a wrong key (never printed) and for billing not connected; and never a card: customers
whose cards and addresses Stripe holds are synced, then the catalog's file, the event log and
every output are scanned for them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from aptien_ops.composition import open_console
from aptien_ops.config import load_settings

import stripe_world
from billing_sync_world import KEY, KEY_ENV, BillingWorld, billing_sandbox, rows
from cli_runner import run_cli
from stripe_server import LocalStripe

#: What must never be kept, logged or printed: card numbers, a card's last four digits and
#: expiry year standing alone, the card's field names, the billing address, the e-mail Stripe
#: holds for the customer.
NEVER = [
    re.compile(re.escape(stripe_world.CARD_NUMBER)),
    re.compile(re.escape(stripe_world.SOURCE_CARD_NUMBER)),
    # standing alone: not inside a hex digest or an id (an HMAC may hold "a4242b")
    *(
        re.compile(rf"(?<![0-9A-Za-z]){digits}(?![0-9A-Za-z])")
        for digits in stripe_world.CARD_LAST4
    ),
    *(re.compile(rf"(?<![0-9A-Za-z]){year}(?![0-9A-Za-z])") for year in stripe_world.CARD_EXPIRY),
    re.compile(r"last4|fingerprint|exp_month|exp_year|cvc|\bbrand\b", re.IGNORECASE),
    *(re.compile(rf"(?<!\d){re.escape(s)}(?!\d)") for s in stripe_world.ADDRESS_STRINGS),
    re.compile(r"accounts\.payable@"),
]


def _found(text: str) -> list[str]:
    return [p.pattern for p in NEVER if p.search(text)]


@pytest.fixture
def connected(
    tmp_path: Path, stripe_server: LocalStripe, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, BillingWorld]:
    monkeypatch.setenv(KEY_ENV, KEY)
    config = billing_sandbox(tmp_path / "sbx", stripe_server.url)
    console = open_console(config)
    client = stripe_server.client(KEY)
    world = BillingWorld(console, client, stripe_world.plans(client))
    world.customer("acme-gmbh", source=True)
    world.customer("globex", status="canceled", source=True)
    world.customer("initech", status="none")
    world.link_all()
    console.close()
    return config, world


def test_never_a_card_in_the_catalog_the_log_or_any_output(
    connected: tuple[Path, BillingWorld],
) -> None:
    config, world = connected
    outputs = []
    for args in (
        ("billing", "sync", "--full"),
        ("--json", "billing", "sync", "--full"),
        ("billing", "sync"),
        ("--verbose", "billing", "sync"),
        ("--json", "billing", "sync"),
        ("ops-log", "list", "--limit", "20"),
    ):
        result = run_cli(*args, config=config, operator="ada" if args[0] == "ops-log" else "bill")
        assert result.code == 0, result.stderr
        outputs.append(result.stdout + result.stderr)
        if args == ("--json", "billing", "sync", "--full"):
            # Events for the next sync: a card added, a subscription for initech.
            initech = world.customers["initech"]
            stripe_world.customer(world.client, world.plans, "another", source=True)
            world.client.v1.subscriptions.create(
                {"customer": initech, "items": [{"plan": world.plans.plan}]}
            )
    assert "acme-gmbh" in outputs[0] and "none -> active" in outputs[0]
    assert "initech  none -> active" in outputs[2]
    settings = load_settings(config)
    stored = Path(settings.catalog.url.removeprefix("sqlite:///"))
    files = [p for p in stored.parent.glob(stored.name + "*") if p.is_file()]
    files += [p for p in settings.logging.file.parent.glob("*") if p.is_file()]
    assert any(p.name.startswith("catalog.db") for p in files)
    assert any(p.suffix == ".jsonl" for p in files)
    for path in files:
        assert _found(path.read_bytes().decode("latin-1")) == [], path
    for text in outputs:
        assert _found(text) == [], text
    # The scan would see them: Stripe holds every one of them.
    held = str(world.client.v1.customers.retrieve(world.customers["acme-gmbh"]))
    held += str(
        world.client.v1.payment_methods.list(
            {"customer": world.customers["acme-gmbh"], "type": "card"}
        )
    )
    assert len(_found(held)) >= 5


def test_a_sync_summarises_and_json_lists_every_change(
    connected: tuple[Path, BillingWorld],
) -> None:
    config, _ = connected
    result = run_cli("--json", "billing", "sync", "--full", config=config, operator="bill")
    assert result.code == 0, result.stderr
    body = result.json()
    assert body["full"] is True and body["linked"] == 3
    assert {c["tenant"]: c["licence"] for c in body["changed"]} == {
        "acme-gmbh": "active",
        "globex": "canceled",
    }
    assert body["cursor"].startswith("evt_")
    again = run_cli("billing", "sync", config=config, operator="bill")
    assert again.code == 0, again.stderr
    assert "0 events since the last sync" in again.stdout
    assert "cursor: evt_" in again.stdout


def test_a_wrong_key_is_exit_6_and_never_printed(
    connected: tuple[Path, BillingWorld],
) -> None:
    config, _ = connected
    wrong = "rk_wrong_NeverShowThis123"
    for args in (("billing", "sync", "--full"), ("--json", "billing", "sync")):
        result = run_cli(*args, config=config, operator="bill", env={KEY_ENV: wrong})
        assert result.code == 6, result.stderr
        assert "API key" in result.stderr
        assert wrong not in result.stdout + result.stderr and "NeverShow" not in result.stderr
    log = load_settings(config).logging.file.read_text()
    assert "NeverShow" not in log and "billing.sync" in log
    assert rows(open_console(config)).keys() == {"acme-gmbh", "globex", "initech"}


def test_not_connected_and_not_allowed(sandbox_config: Path) -> None:
    result = run_cli("billing", "sync", config=sandbox_config)
    assert result.code == 6
    assert "not connected" in result.stderr and "[billing]" in result.stderr
    refused = run_cli("--json", "billing", "sync", config=sandbox_config, operator="olga")
    assert refused.code == 4 and refused.error()["code"] == "forbidden"
