"""``billing sync`` against localstripe: a full sync writes each linked tenant's licence and
latest invoice and leaves the cursor at the newest event; an incremental one applies the
events after it, once each, the newer state winning; a Stripe failure mid-sync moves nothing
past what was applied, and a rerun converges."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import stripe

from aptien_ops.backends.stripe_billing import StripeBilling
from aptien_ops.composition import Console, open_console
from aptien_ops.config import BillingSettings, SecretRef
from aptien_ops.domain.billing import (
    BillingEvent,
    BillingNotConnected,
    InvoiceFacts,
    LicenceState,
    SubscriptionFacts,
)
from aptien_ops.errors import Forbidden, Unavailable
from aptien_ops.services.billing_sync import Outcome, apply_event

import stripe_world
from billing_sync_world import (
    KEY,
    KEY_ENV,
    BillingWorld,
    add_tenants,
    billing_sandbox,
    billing_section,
    link,
    rows,
)
from sandboxes import BACKENDS, sandbox_on
from stripe_server import FaultProxy, LocalStripe


@pytest.fixture(params=BACKENDS)
def world(
    request: pytest.FixtureRequest, tmp_path: Path, stripe_server: LocalStripe, stripe_key: str
) -> Iterator[BillingWorld]:
    """Tenants linked to localstripe's customers, on a SQLite or a PostgreSQL catalog."""
    config = sandbox_on(request.param, tmp_path / "sbx", request)
    config.write_text(config.read_text() + billing_section(stripe_server.url))
    console = open_console(config)
    client = stripe_server.client(KEY)
    yield BillingWorld(console, client, stripe_world.plans(client))
    console.close()


def _last_entry(console: Console) -> tuple[str, str, dict[str, object]]:
    with console.ctx.catalog.read() as tx:
        entry = tx.opslog.entries()[-1]
    return entry.action, entry.outcome, json.loads(entry.params)


def test_a_full_sync_keeps_each_linked_tenants_licence_and_invoice(world: BillingWorld) -> None:
    paying = world.customer("acme-gmbh", source=True)
    world.customer("old-co", status="canceled")
    world.customer("new-co", status="trial")
    world.customer("idle-co", status="none")
    stripe_world.customer(world.client, world.plans, "not-linked")
    world.link_all()

    result = world.console.billing_sync.sync(full=True)

    kept = rows(world.console)
    assert kept["acme-gmbh"].subscription_status is LicenceState.ACTIVE
    assert kept["acme-gmbh"].customer_id == paying
    assert kept["acme-gmbh"].current_period_end is not None
    assert (kept["acme-gmbh"].invoice_amount, kept["acme-gmbh"].invoice_currency) == (4900, "eur")
    assert kept["acme-gmbh"].invoice_status == "paid"
    assert kept["old-co"].subscription_status is LicenceState.CANCELED
    assert kept["new-co"].subscription_status is LicenceState.INCOMPLETE
    assert kept["idle-co"].subscription_status is LicenceState.NONE
    assert kept["idle-co"].invoice_amount is None
    assert result.full and result.linked == 4
    assert {c.tenant for c in result.changes} == {"acme-gmbh", "old-co", "new-co"}
    with world.console.ctx.catalog.read() as tx:
        assert tx.billing.cursor() == result.cursor
    assert result.cursor == world.client.v1.events.list({"limit": 1}).data[0].id
    action, outcome, params = _last_entry(world.console)
    assert (action, outcome, params["tenants_changed"]) == ("billing.sync", "ok", 3)

    again = world.console.billing_sync.sync(full=True)
    now = rows(world.console)["acme-gmbh"]
    assert again.changes == () and now == replace(
        kept["acme-gmbh"],
        updated_at=now.updated_at,
        subscription_updated_at=now.subscription_updated_at,
        invoice_updated_at=now.invoice_updated_at,
    )


def test_a_full_sync_leaves_a_row_an_event_newer_than_its_read_has_updated(
    world: BillingWorld,
) -> None:
    world.customer("acme-gmbh", status="canceled")
    world.link_all()
    later = datetime.now(UTC) + timedelta(hours=1)
    with world.console.ctx.catalog.transaction() as tx:
        linked = tx.billing.get("acme-gmbh", for_update=True)
        assert linked is not None
        newer = replace(
            linked,
            subscription_status=LicenceState.PAST_DUE,
            updated_at=later,
            subscription_updated_at=later,
        )
        tx.billing.save(newer)  # as a webhook delivered while Stripe was being read
    result = world.console.billing_sync.sync(full=True)
    kept = rows(world.console)["acme-gmbh"]
    assert (kept.subscription_status, kept.subscription_updated_at) == (
        LicenceState.PAST_DUE,
        later,
    )  # the subscription as the event left it; the invoice as the sync read it
    assert kept.invoice_status == "paid" and kept.updated_at == later
    assert [c.fields for c in result.changes] == [
        ("invoice_id", "invoice_amount", "invoice_currency", "invoice_status")
    ]


def test_an_incremental_sync_applies_the_newer_events_once(world: BillingWorld) -> None:
    idle = world.customer("idle-co", status="none")
    world.customer("acme-gmbh")
    world.link_all()
    world.console.billing_sync.sync(full=True)
    assert rows(world.console)["idle-co"].subscription_status is LicenceState.NONE

    sub = world.client.v1.subscriptions.create(
        {"customer": idle, "items": [{"plan": world.plans.plan}]}
    )
    result = world.console.billing_sync.sync()
    assert not result.full
    idle_row = rows(world.console)["idle-co"]
    assert idle_row.subscription_status is LicenceState.ACTIVE
    assert idle_row.subscription_id == sub.id and idle_row.invoice_status == "paid"
    assert idle_row.last_event_id is not None
    assert [c.tenant for c in result.changes] == ["idle-co"]
    assert result.changes[0].before is LicenceState.NONE
    assert result.events["changed"] >= 2
    with world.console.ctx.catalog.read() as tx:
        assert tx.billing.cursor() == result.cursor
        assert tx.billing.seen(idle_row.last_event_id)

    nothing = world.console.billing_sync.sync()
    assert nothing.changes == () and sum(nothing.events.values()) == 0
    assert nothing.cursor == result.cursor

    linked_later = world.customer("late-co")
    world.console.billing_sync.sync()  # an event of a customer not linked yet
    add_tenants(world.console, ["late-co"])
    link(world.console, {"late-co": linked_later})
    filled = world.console.billing_sync.sync()
    assert filled.full and [c.tenant for c in filled.changes] == ["late-co"]
    assert rows(world.console)["late-co"].subscription_status is LicenceState.ACTIVE

    world.client.v1.subscriptions.cancel(sub.id)
    cancelled = world.console.billing_sync.sync()
    assert rows(world.console)["idle-co"].subscription_status is LicenceState.CANCELED
    assert [(c.before, c.after) for c in cancelled.changes] == [
        (LicenceState.ACTIVE, LicenceState.CANCELED)
    ]


def test_a_stripe_failure_mid_sync_moves_nothing_and_a_rerun_converges(
    tmp_path: Path, stripe_server: LocalStripe, stripe_proxy: FaultProxy, stripe_key: str
) -> None:
    # The failures are played by the loopback proxy in front of localstripe (stripe_server.py).
    proxy = stripe_proxy
    console = open_console(billing_sandbox(tmp_path / "sbx", proxy.url, attempts=2))
    client = stripe_server.client(KEY)
    world = BillingWorld(console, client, stripe_world.plans(client))
    idle = world.customer("idle-co", status="none")
    world.customer("acme-gmbh")
    world.link_all()
    first = console.billing_sync.sync(full=True)
    before = rows(console)
    client.v1.subscriptions.create({"customer": idle, "items": [{"plan": world.plans.plan}]})

    proxy.faults.reset()
    proxy.faults.fail_from = 2  # the cursor's event is read; listing the events fails
    with pytest.raises(Unavailable) as failed:
        console.billing_sync.sync()
    assert failed.value.exit_code == 6 and proxy.faults.requests == 3  # 1 + 2 attempts
    assert rows(console) == before
    with console.ctx.catalog.read() as tx:
        assert tx.billing.cursor() == first.cursor
    assert _last_entry(console)[:2] == ("billing.sync", "failed:unavailable")

    proxy.faults.reset()
    proxy.faults.fail_from = 3  # a full sync fails while reading the invoices
    with pytest.raises(Unavailable):
        console.billing_sync.sync(full=True)
    assert rows(console) == before

    proxy.faults.reset()
    rerun = console.billing_sync.sync()
    assert rows(console)["idle-co"].subscription_status is LicenceState.ACTIVE
    assert [c.tenant for c in rerun.changes] == ["idle-co"]
    converged = rows(console)
    console.billing_sync.sync(full=True)
    assert {t: (r.subscription_status, r.invoice_status) for t, r in rows(console).items()} == {
        t: (r.subscription_status, r.invoice_status) for t, r in converged.items()
    }
    console.close()


T0 = datetime(2026, 12, 1, tzinfo=UTC)
WHSEC = "whsec_syncTests4711"


def _delivered(webhooks: StripeBilling, event_id: str, status: str, at: datetime) -> BillingEvent:
    """A signed webhook delivery of a subscription's update, as Stripe sends it (a card in
    it), verified and reduced by the adapter."""
    sub = {
        "id": "sub_1",
        "object": "subscription",
        "customer": "cus_one",
        "status": status,
        "cancel_at_period_end": False,
        "created": int(T0.timestamp()),
        "items": {"data": [{"current_period_end": int((at + timedelta(days=30)).timestamp())}]},
        "default_payment_method": {"card": {"last4": "4242", "exp_year": 2031}},
    }
    body = json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": "customer.subscription.updated",
            "created": int(at.timestamp()),
            "data": {"object": sub},
        }
    )
    header = stripe.WebhookSignature.generate_signature_header(body, WHSEC)
    return webhooks.webhook_event(body.encode(), header)


def test_an_event_applies_once_and_never_over_a_newer_one(
    world: BillingWorld, tmp_path: Path
) -> None:
    world.customers["acme-gmbh"] = "cus_one"
    world.link_all()
    ctx = world.console.ctx
    (tmp_path / "whsec").write_text(WHSEC)
    settings = BillingSettings(SecretRef(env=KEY_ENV), SecretRef(file=tmp_path / "whsec"))
    webhooks = StripeBilling(settings)
    late = _delivered(webhooks, "evt_late", "past_due", T0 + timedelta(hours=2))
    early = _delivered(webhooks, "evt_early", "active", T0 + timedelta(hours=1))
    invoice = InvoiceFacts("in_1", "cus_one", "A-0001", 4900, "eur", "open", None, T0)
    other = SubscriptionFacts("sub_9", "cus_x", LicenceState.ACTIVE, None, False, T0)
    with ctx.catalog.transaction() as tx:
        assert apply_event(tx, late, T0).outcome is Outcome.CHANGED
        assert apply_event(tx, late, T0).outcome is Outcome.SEEN  # delivered twice
        assert apply_event(tx, early, T0).outcome is Outcome.STALE  # out of order
        stranger = BillingEvent("evt_other", "customer.subscription.created", T0, other)
        assert apply_event(tx, stranger, T0).outcome is Outcome.UNLINKED
        paid = BillingEvent("evt_inv", "invoice.finalized", T0 + timedelta(hours=3), invoice)
        assert apply_event(tx, paid, T0).outcome is Outcome.CHANGED
    kept = rows(world.console)["acme-gmbh"]
    assert kept.subscription_status is LicenceState.PAST_DUE
    assert kept.current_period_end == T0 + timedelta(hours=2, days=30)
    assert (kept.invoice_number, kept.invoice_status, kept.last_event_id) == (
        "A-0001",
        "open",
        "evt_inv",
    )
    assert kept.updated_at == T0 + timedelta(hours=3)
    with ctx.catalog.read() as tx:
        assert all(tx.billing.seen(e) for e in ("evt_late", "evt_early", "evt_other", "evt_inv"))


def test_only_billing_and_admins_sync_and_they_are_refused_before_stripe(
    tmp_path: Path, stripe_proxy: FaultProxy, stripe_key: str
) -> None:
    proxy = stripe_proxy
    config = billing_sandbox(tmp_path / "sbx", proxy.url)
    olga = open_console(config, env={"APTIEN_OPS_OPERATOR": "olga"})
    with pytest.raises(Forbidden):
        olga.billing_sync.sync(full=True)
    assert proxy.faults.requests == 0
    assert _last_entry(olga)[:2] == ("billing.sync", "denied")
    olga.close()
    bill = open_console(config, env={"APTIEN_OPS_OPERATOR": "bill"})
    assert bill.billing_sync.sync(full=True).linked == 0
    bill.close()


def test_without_a_billing_section_a_sync_says_not_connected(sandbox_config: Path) -> None:
    console = open_console(sandbox_config)
    with pytest.raises(BillingNotConnected) as refused:
        console.billing_sync.sync()
    assert refused.value.exit_code == 6 and "[billing]" in (refused.value.hint or "")
    assert _last_entry(console)[:2] == ("billing.sync", "failed:unavailable")
    console.close()
