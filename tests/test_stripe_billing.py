"""The Stripe adapter against localstripe (a real Stripe-compatible server on loopback): what
it hands over is the console's records only, it pages, it retries 429/5xx/network errors with
backoff (the waits recorded, not slept) then says exit 6, a refused key is never quoted, and a
webhook is verified with stripe-python's own signature check and tolerance."""

from __future__ import annotations

import json
import time
import traceback
from pathlib import Path

import pytest
import stripe

from aptien_ops.backends.stripe_billing import StripeBilling
from aptien_ops.config import BillingSettings, SecretRef
from aptien_ops.domain.billing import (
    BillingEvent,
    CustomerFacts,
    InvoiceFacts,
    LicenceState,
    SubscriptionFacts,
)
from aptien_ops.errors import ConfigError, IntegrityFailure, InvalidInput, NotFound, Unavailable

import stripe_world
from stripe_server import LocalStripe, fault_proxy, free_port

KEY = "sk_test_aptienBillingKey4711"
WHSEC = "whsec_testSecret0815"


def source(
    tmp_path: Path, api_base: str, *, key: str = KEY, attempts: int = 4
) -> tuple[StripeBilling, list[float]]:
    (tmp_path / "stripe.key").write_text(key + "\n")
    (tmp_path / "whsec").write_text(WHSEC)
    settings = BillingSettings(
        api_key=SecretRef(file=tmp_path / "stripe.key"),
        webhook_secret=SecretRef(file=tmp_path / "whsec"),
        api_base=api_base,
        max_attempts=attempts,
        webhook_tolerance_seconds=300,
    )
    slept: list[float] = []
    return StripeBilling(settings, sleep=slept.append), slept


def test_reads_only_the_records_the_console_keeps(
    tmp_path: Path, stripe_server: LocalStripe
) -> None:
    client = stripe_server.client()
    plans = stripe_world.plans(client)
    active = stripe_world.customer(client, plans, "acme-gmbh", source=True)
    cancelled = stripe_world.customer(client, plans, "old-co", status="canceled")
    trial = stripe_world.customer(client, plans, "new-co", status="trial")
    billing, _ = source(tmp_path, stripe_server.url)

    subs = {s.customer_id: s for s in billing.subscriptions()}
    assert all(type(s) is SubscriptionFacts for s in subs.values())
    assert subs[active].status is LicenceState.ACTIVE
    assert subs[cancelled].status is LicenceState.CANCELED
    assert subs[trial].status is LicenceState.INCOMPLETE  # localstripe's word for a trial
    assert subs[active].current_period_end is not None
    assert subs[active].current_period_end.tzinfo is not None
    invoices = list(billing.invoices())
    assert invoices and all(type(i) is InvoiceFacts for i in invoices)
    assert {i.customer_id for i in invoices} >= {active}
    assert [i.amount_due for i in invoices if i.customer_id == active] == [4900]
    assert billing.customer(active) == CustomerFacts(active, "acme-gmbh")
    events = list(billing.events_after(None))
    assert events and all(type(e) is BillingEvent for e in events)
    assert [e.created for e in events] == sorted(e.created for e in events)
    assert billing.latest_event_id() == events[-1].event_id
    text = repr([subs, invoices, events])
    for secret in (stripe_world.CARD_NUMBER, *stripe_world.ADDRESS_STRINGS, "accounts.payable@"):
        assert secret not in text


def test_events_after_a_cursor_are_the_newer_ones_oldest_first(
    tmp_path: Path, stripe_server: LocalStripe
) -> None:
    client = stripe_server.client()
    billing, _ = source(tmp_path, stripe_server.url)
    first = client.v1.customers.create({"metadata": {"tenant": "a-co"}})
    cursor = billing.latest_event_id()
    second = client.v1.customers.create({"metadata": {"tenant": "b-co"}})
    client.v1.customers.update(second.id, {"metadata": {"tenant": "c-co"}})
    after = list(billing.events_after(cursor))
    assert [e.type for e in after] == ["customer.created", "customer.updated"]
    assert [e.subject for e in after] == [
        CustomerFacts(second.id, "b-co"),
        CustomerFacts(second.id, "c-co"),
    ]
    assert cursor not in {e.event_id for e in after} and first.id != second.id
    assert list(billing.events_after(after[-1].event_id)) == []
    with pytest.raises(NotFound) as gone:
        billing.events_after("evt_gone0000")
    assert "--full" in (gone.value.hint or "")


def test_lists_are_read_page_by_page(tmp_path: Path, stripe_server: LocalStripe) -> None:
    client = stripe_server.client()
    for n in range(5):
        client.v1.customers.create({"metadata": {"tenant": f"t{n}"}})
    with fault_proxy(stripe_server) as proxy:
        billing, _ = source(tmp_path, proxy.url)
        billing_page = 2
        import aptien_ops.backends.stripe_billing as module

        module_page, module.PAGE = module.PAGE, billing_page
        try:
            events = list(billing.events_after(None))
        finally:
            module.PAGE = module_page
    assert len(events) == 5
    assert [p.split("?")[0] for p in proxy.faults.paths] == ["GET /v1/events"] * 3


@pytest.mark.parametrize("status", [429, 500, 503])
def test_rate_limits_and_server_errors_are_retried_with_backoff(
    tmp_path: Path, stripe_server: LocalStripe, status: int
) -> None:
    client = stripe_server.client()
    client.v1.customers.create({"metadata": {"tenant": "a-co"}})
    with fault_proxy(stripe_server) as proxy:
        billing, slept = source(tmp_path, proxy.url, attempts=4)
        proxy.faults.status, proxy.faults.fail_from, proxy.faults.fail_times = status, 1, 2
        assert billing.latest_event_id() is not None  # the third attempt gets through
        assert slept == [0.5, 1.0]
        proxy.faults.reset()
        proxy.faults.status, proxy.faults.fail_from = status, 1
        slept.clear()
        with pytest.raises(Unavailable, match="4 attempts") as failed:
            billing.latest_event_id()
        assert slept == [0.5, 1.0, 2.0] and proxy.faults.requests == 4
    assert failed.value.exit_code == 6


def test_no_answer_is_retried_then_unavailable(tmp_path: Path) -> None:
    billing, slept = source(tmp_path, f"http://127.0.0.1:{free_port()}", attempts=3)
    with pytest.raises(Unavailable, match="network"):
        list(billing.invoices())
    assert slept == [0.5, 1.0]


def test_a_refused_key_is_never_quoted(tmp_path: Path, stripe_server: LocalStripe) -> None:
    # localstripe itself refuses a key that is not a secret key (401), as Stripe does.
    wrong = "rk_wrong_Key8877665544"
    billing, slept = source(tmp_path, stripe_server.url, key=wrong)
    with pytest.raises(Unavailable) as refused:
        billing.latest_event_id()
    assert "API key" in refused.value.message and slept == []
    # Stripe's own 401 quotes the key; a revoked key behind the proxy is not quoted either.
    with fault_proxy(stripe_server) as proxy:
        proxy.faults.refused_keys.add(KEY)
        billing, _ = source(tmp_path, proxy.url)
        with pytest.raises(Unavailable) as revoked:
            list(billing.subscriptions())
    for error, key in ((refused.value, wrong), (revoked.value, KEY)):
        shown = "".join(traceback.format_exception(error)) + repr(error) + str(error.as_json())
        assert key not in shown and key[-6:] not in shown
        assert "Invalid API Key" not in shown
    assert KEY not in repr(billing)


def test_a_missing_key_file_is_a_config_error(tmp_path: Path) -> None:
    settings = BillingSettings(api_key=SecretRef(file=tmp_path / "nope"))
    with pytest.raises(ConfigError, match="cannot read secret file"):
        StripeBilling(settings)


def _delivery(
    event: dict[str, object], *, at: int | None = None, secret: str = WHSEC
) -> tuple[bytes, str]:
    body = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=at)
    return body.encode(), header


SUBSCRIPTION_EVENT = {
    "id": "evt_1",
    "object": "event",
    "type": "customer.subscription.updated",
    "created": 1_800_000_000,
    "data": {
        "object": {
            "id": "sub_1",
            "object": "subscription",
            "customer": "cus_1",
            "status": "past_due",
            "cancel_at_period_end": False,
            "created": 1_790_000_000,
            "items": {"data": [{"current_period_end": 1_802_000_000}]},
            "default_payment_method": {"card": {"last4": "4242"}},
        }
    },
}


def test_a_signed_webhook_is_verified_and_reduced(tmp_path: Path) -> None:
    billing, _ = source(tmp_path, "http://127.0.0.1:9")
    event = billing.webhook_event(*_delivery(SUBSCRIPTION_EVENT))
    assert event.event_id == "evt_1" and event.type == "customer.subscription.updated"
    assert isinstance(event.subject, SubscriptionFacts)
    assert event.subject.status is LicenceState.PAST_DUE
    assert event.subject.current_period_end is not None
    assert event.subject.current_period_end.timestamp() == 1_802_000_000
    assert "4242" not in repr(event)


def test_forged_replayed_and_malformed_webhooks_are_refused(tmp_path: Path) -> None:
    billing, _ = source(tmp_path, "http://127.0.0.1:9")
    body, _ = _delivery(SUBSCRIPTION_EVENT)
    _, forged = _delivery(SUBSCRIPTION_EVENT, secret="whsec_someoneElse")
    with pytest.raises(IntegrityFailure) as bad:
        billing.webhook_event(body, forged)
    assert bad.value.exit_code == 7
    old = _delivery(SUBSCRIPTION_EVENT, at=int(time.time()) - 301)
    with pytest.raises(IntegrityFailure):
        billing.webhook_event(*old)
    with pytest.raises(IntegrityFailure):
        billing.webhook_event(body, "not a signature header")
    with pytest.raises(IntegrityFailure):  # the body was changed after signing
        billing.webhook_event(
            body.replace(b"past_due", b"active"), _delivery(SUBSCRIPTION_EVENT)[1]
        )
    text = "{not json"
    header = stripe.WebhookSignature.generate_signature_header(text, WHSEC)
    with pytest.raises(InvalidInput, match="not JSON") as malformed:
        billing.webhook_event(text.encode(), header)
    assert malformed.value.exit_code == 2
    listed = "[1, 2]"
    with pytest.raises(InvalidInput, match="not a Stripe event"):
        billing.webhook_event(
            listed.encode(), stripe.WebhookSignature.generate_signature_header(listed, WHSEC)
        )
