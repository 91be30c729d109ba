"""``billing ingest-webhook`` on the command line: a delivery signed the way Stripe signs it
(``t=<unix time>,v1=<HMAC-SHA256 of "t.body" with the endpoint secret>``, computed here, not
by stripe-python) is verified, and its event applied once through the sync's ``apply_event``;
the same delivery twice changes nothing the second time, an older one after a newer one is
stale; a forged or tampered signature and a replayed old timestamp are exit 7, a body that is
not JSON or not an event exit 2, nothing applied; the ops log has the event's id and type and
never the body. The events are localstripe's own, as its API lists them."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from aptien_ops.composition import open_console
from aptien_ops.domain.billing import LicenceState

import stripe_world
from billing_sync_world import (
    KEY,
    SECRET,
    SECRET_ENV,
    BillingWorld,
    hooked_sandbox,
    rows,
    signed,
)
from cli_runner import Result, run_cli
from sandboxes import BACKENDS
from stripe_server import LocalStripe


@pytest.fixture(params=BACKENDS)
def hooked(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    stripe_server: LocalStripe,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Path, BillingWorld]:
    """acme-gmbh linked to a localstripe customer with an active subscription, on a SQLite
    or PostgreSQL catalog whose [billing] names the endpoint secret."""
    config = hooked_sandbox(request, tmp_path / "sbx", stripe_server.url, monkeypatch)
    console = open_console(config)
    client = stripe_server.client(KEY)
    world = BillingWorld(console, client, stripe_world.plans(client))
    world.customer("acme-gmbh", source=True)
    world.link_all()
    console.close()
    return config, world


def _event(world: BillingWorld, kind: str) -> dict[str, Any]:
    """The newest event of ``kind`` as localstripe's Events API lists it (cards in it)."""
    page = world.client.v1.events.list({"limit": 100})
    found = [e for e in page.data if e["type"] == kind]
    assert found, kind
    return dict(found[0].to_dict())


def _ingest(config: Path, body: str, signature: str, *extra: str, operator: str = "bill") -> Result:
    return run_cli(
        "--json", "billing", "ingest-webhook", "--signature", signature, *extra,
        config=config, operator=operator, input=body,
    )  # fmt: skip


def _entries(config: Path) -> list[tuple[str, str, dict[str, Any]]]:
    console = open_console(config)
    with console.ctx.catalog.read() as tx:
        found = [
            (e.action, e.outcome, json.loads(e.params))
            for e in tx.opslog.entries()
            if e.action == "billing.webhook"
        ]
    console.close()
    return found


def _kept(config: Path) -> LicenceState:
    console = open_console(config)
    try:
        return rows(console)["acme-gmbh"].subscription_status
    finally:
        console.close()


def test_a_delivery_applies_once_and_the_log_keeps_its_id_not_its_body(
    hooked: tuple[Path, BillingWorld],
) -> None:
    config, world = hooked
    event = _event(world, "customer.subscription.created")
    body = json.dumps(event)
    first = _ingest(config, body, signed(body))
    assert first.code == 0, first.stderr
    assert first.json()["outcome"] == "changed"
    assert first.json()["change"]["licence"] == "active"
    assert _kept(config) is LicenceState.ACTIVE
    again = _ingest(config, body, signed(body))  # Stripe delivers it a second time
    assert again.code == 0 and again.json()["outcome"] == "seen"
    entries = _entries(config)
    assert [(a, o) for a, o, _ in entries] == [("billing.webhook", "ok")] * 2
    assert entries[0][2] == {
        "event": event["id"],
        "type": "customer.subscription.created",
        "outcome": "changed",
        "tenant": "acme-gmbh",
    }
    logged = json.dumps(entries)
    for secret in (stripe_world.CARD_NUMBER, *stripe_world.CARD_LAST4, "accounts.payable@"):
        assert secret not in logged and secret not in first.stdout + first.stderr
    assert '"data"' not in logged and SECRET not in logged


def test_an_older_delivery_after_a_newer_one_is_stale(hooked: tuple[Path, BillingWorld]) -> None:
    config, world = hooked
    created = _event(world, "customer.subscription.created")
    newer = {**created, "id": "evt_newerPastDue1", "created": created["created"] + 60}
    newer["data"] = {"object": {**created["data"]["object"], "status": "past_due"}}
    older = {**created, "id": "evt_olderActive1", "created": created["created"] + 30}
    for event in (newer, older):
        body = json.dumps(event)
        assert _ingest(config, body, signed(body)).code == 0
    outcomes = [params["outcome"] for _, _, params in _entries(config)]
    assert outcomes == ["changed", "stale"]
    assert _kept(config) is LicenceState.PAST_DUE


@pytest.mark.parametrize(
    "fault",
    ["another secret", "tampered body", "replayed old timestamp", "no v1 signature"],
)
def test_a_forged_or_replayed_delivery_is_refused_with_exit_7(
    hooked: tuple[Path, BillingWorld], fault: str
) -> None:
    config, world = hooked
    event = _event(world, "customer.subscription.created")
    event["data"]["object"]["status"] = "canceled"
    body = json.dumps(event)
    header = {
        "another secret": signed(body, secret="whsec_someoneElse"),
        "tampered body": signed(body.replace("canceled", "active")),
        "replayed old timestamp": signed(body, at=int(time.time()) - 600),
        "no v1 signature": signed(body).split(",")[0],
    }[fault]
    refused = _ingest(config, body, header)
    assert refused.code == 7, refused.stderr
    assert "Stripe-Signature does not verify" in refused.error()["message"]
    assert _kept(config) is LicenceState.NONE  # linked, never synced: nothing applied
    assert [(a, o) for a, o, _ in _entries(config)] == [("billing.webhook", "failed:integrity")]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{not json", "not JSON"),
        ('{"object": "customer", "id": "cus_1"}', "not a Stripe event"),
        ('["evt_1"]', "not a Stripe event"),
        ('{"object": "event", "id": "evt_1"}', "not a Stripe event"),
    ],
)
def test_a_body_that_is_no_event_is_refused_with_exit_2(
    hooked: tuple[Path, BillingWorld], body: str, message: str
) -> None:
    config, _ = hooked
    refused = _ingest(config, body, signed(body))
    assert refused.code == 2, refused.stderr
    assert message in refused.error()["message"]
    assert _kept(config) is LicenceState.NONE


def test_the_body_from_a_file_and_the_input_refused_before_anything(
    hooked: tuple[Path, BillingWorld], tmp_path: Path
) -> None:
    config, world = hooked
    body = json.dumps(_event(world, "customer.subscription.created"))
    (tmp_path / "body.json").write_bytes(body.encode())
    from_file = _ingest(config, "", signed(body), "--file", str(tmp_path / "body.json"))
    assert from_file.code == 0 and from_file.json()["outcome"] == "changed"
    assert _ingest(config, body, signed(body), "--file", str(tmp_path / "nope")).code == 3
    assert _ingest(config, body, " ").code == 2  # no signature
    assert _ingest(config, "", signed("")).code == 2  # no body
    assert len(_entries(config)) == 1  # refused input is not an attempt


def test_only_billing_and_admins_ingest(hooked: tuple[Path, BillingWorld]) -> None:
    config, world = hooked
    body = json.dumps(_event(world, "customer.subscription.created"))
    refused = _ingest(config, body, signed(body), operator="olga")
    assert refused.code == 4
    assert _kept(config) is LicenceState.NONE
    assert _ingest(config, body, signed(body), operator="ada").code == 0
    assert [o for _, o, _ in _entries(config)] == ["denied", "ok"]


def test_without_a_secret_or_without_billing_nothing_is_applied(
    hooked: tuple[Path, BillingWorld], tmp_path: Path
) -> None:
    config, world = hooked
    body = json.dumps(_event(world, "customer.subscription.created"))
    text = config.read_text()
    config.write_text(text.replace(f'webhook_secret_env = "{SECRET_ENV}"\n', ""))
    no_secret = _ingest(config, body, signed(body))
    assert no_secret.code == 2 and "webhook_secret_file" in no_secret.error()["hint"]
    config.write_text(text[: text.index("\n[billing]")])
    not_connected = _ingest(config, body, signed(body))
    assert not_connected.code == 6 and "not connected" in not_connected.error()["message"]
    config.write_text(text)
    assert _kept(config) is LicenceState.NONE
