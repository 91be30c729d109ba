"""Webhooks out of order, per object: signed deliveries (``t=…,v1=HMAC-SHA256`` computed here)
through ``billing ingest-webhook`` on a SQLite and a PostgreSQL catalog. An event about the
subscription is weighed against the subscription's own mark (not an invoice's), the latest
invoice is the newest one (by its ``created``) whatever order its events arrive in, an event
that changed nothing still marks its object, and a full sync followed by older deliveries
keeps what it read. The subscriptions and invoices of the last test are localstripe's."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from waiting import until

from aptien_ops.composition import open_console
from aptien_ops.domain.billing import (
    BillingEvent,
    LicenceState,
    SubscriptionFacts,
    TenantBilling,
)
from aptien_ops.services.billing_sync import Outcome, apply_event

import stripe_world
from billing_sync_world import (
    KEY,
    BillingWorld,
    billing_section,
    hooked_sandbox,
    rows,
    signed,
)
from cli_runner import run_cli
from sandboxes import BACKENDS, sandbox_on
from stripe_server import LocalStripe

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
CUSTOMER = "cus_orderTests1"


@pytest.fixture(params=BACKENDS)
def world(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    stripe_server: LocalStripe,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Path, BillingWorld]:
    """A sandbox whose [billing] names localstripe and the endpoint secret, with acme-gmbh
    linked to CUSTOMER (a customer only the deliveries speak of)."""
    config = hooked_sandbox(request, tmp_path / "sbx", stripe_server.url, monkeypatch)
    console = open_console(config)
    client = stripe_server.client(KEY)
    world = BillingWorld(console, client, stripe_world.plans(client))
    world.customers["acme-gmbh"] = CUSTOMER
    world.link_all()
    console.close()
    return config, world


def _stamp(at: datetime) -> int:
    return int(at.timestamp())


def subscription(
    status: str, *, sub: str = "sub_order1", customer: str = CUSTOMER
) -> dict[str, Any]:
    return {
        "id": sub,
        "object": "subscription",
        "customer": customer,
        "status": status,
        "cancel_at_period_end": False,
        "created": _stamp(T0),
        "items": {"data": [{"current_period_end": _stamp(T0 + timedelta(days=30))}]},
        "default_payment_method": {"card": {"last4": "4242", "exp_year": 2031}},
    }


def invoice(
    invoice_id: str, created: datetime, status: str, *, customer: str = CUSTOMER
) -> dict[str, Any]:
    return {
        "id": invoice_id,
        "object": "invoice",
        "customer": customer,
        "number": f"A-{invoice_id[-4:]}",
        "amount_due": 4900,
        "currency": "eur",
        "status": status,
        "due_date": _stamp(created + timedelta(days=14)),
        "created": _stamp(created),
    }


def event(event_id: str, kind: str, at: datetime, obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": event_id,
        "object": "event",
        "type": kind,
        "created": _stamp(at),
        "data": {"object": obj},
    }


def deliver(config: Path, payload: dict[str, Any]) -> str:
    """One signed delivery through the command line; its outcome."""
    body = json.dumps(payload)
    result = run_cli(
        "--json", "billing", "ingest-webhook", "--signature", signed(body),
        config=config, operator="bill", input=body,
    )  # fmt: skip
    assert result.code == 0, result.stderr
    return str(result.json()["outcome"])


def kept(config: Path) -> TenantBilling:
    console = open_console(config)
    try:
        return rows(console)["acme-gmbh"]
    finally:
        console.close()


def test_a_late_subscription_event_applies_after_a_newer_invoice_event(
    world: tuple[Path, BillingWorld],
) -> None:
    config, _ = world
    newer_invoice = event(
        "evt_inv2", "invoice.finalized", T0 + timedelta(hours=2),
        invoice("in_order0002", T0 + timedelta(hours=1), "open"),
    )  # fmt: skip
    late_subscription = event(
        "evt_sub1", "customer.subscription.updated", T0 + timedelta(hours=1),
        subscription("past_due"),
    )  # fmt: skip
    older_subscription = event(
        "evt_sub0", "customer.subscription.created", T0, subscription("active")
    )
    assert deliver(config, newer_invoice) == "changed"
    assert deliver(config, late_subscription) == "changed"  # another object: not stale
    assert deliver(config, older_subscription) == "stale"  # older than the subscription's
    row = kept(config)
    assert (row.subscription_status, row.subscription_id) == ("past_due", "sub_order1")
    assert (row.invoice_id, row.invoice_status) == ("in_order0002", "open")
    assert row.subscription_updated_at == T0 + timedelta(hours=1)
    assert row.invoice_updated_at == row.updated_at == T0 + timedelta(hours=2)
    # And the other way round: a late event about the invoice kept, after newer subscription
    # events, applies if it is the newest about that invoice.
    paid = event(
        "evt_inv3", "invoice.paid", T0 + timedelta(hours=3),
        invoice("in_order0002", T0 + timedelta(hours=1), "paid"),
    )  # fmt: skip
    cancelled = event(
        "evt_sub4", "customer.subscription.updated", T0 + timedelta(hours=4),
        subscription("canceled"),
    )  # fmt: skip
    assert deliver(config, cancelled) == "changed"
    assert deliver(config, paid) == "changed"
    row = kept(config)
    assert (row.subscription_status, row.invoice_status) == ("canceled", "paid")


def test_an_older_invoice_paid_late_leaves_the_newer_invoice_the_latest(
    world: tuple[Path, BillingWorld],
) -> None:
    config, _ = world
    october = T0 - timedelta(days=30)
    newer = event(
        "evt_newInvoice", "invoice.created", T0 + timedelta(minutes=1),
        invoice("in_order1101", T0, "open"),
    )  # fmt: skip
    older_paid = event(
        "evt_oldPaid", "invoice.paid", T0 + timedelta(hours=5),
        invoice("in_order1001", october, "paid"),
    )  # fmt: skip
    older_created = event(
        "evt_oldCreated", "invoice.created", october, invoice("in_order1001", october, "open")
    )
    assert deliver(config, newer) == "changed"
    assert deliver(config, older_paid) == "stale"  # an older invoice, however late its event
    assert deliver(config, older_created) == "stale"
    row = kept(config)
    assert (row.invoice_id, row.invoice_number, row.invoice_status) == (
        "in_order1101",
        "A-1101",
        "open",
    )
    assert row.invoice_created == T0 and row.invoice_due == T0 + timedelta(days=14)
    # The next period's draft does not hide the open invoice; once finalised it is the latest.
    december = T0 + timedelta(days=30)
    draft = invoice("in_order1201", december, "draft")
    assert deliver(config, event("evt_draft", "invoice.created", december, draft)) == "unchanged"
    assert kept(config).invoice_id == "in_order1101"
    final = invoice("in_order1201", december, "open")
    later = december + timedelta(hours=1)
    assert deliver(config, event("evt_final", "invoice.finalized", later, final)) == "changed"
    assert kept(config).invoice_id == "in_order1201"


def test_the_same_event_twice_and_one_that_changed_nothing_still_marks_its_object(
    world: tuple[Path, BillingWorld],
) -> None:
    config, _ = world
    created = event("evt_made", "customer.subscription.created", T0, subscription("active"))
    renewed = event(  # the same facts kept, two hours on
        "evt_same", "customer.subscription.updated", T0 + timedelta(hours=2),
        subscription("active"),
    )  # fmt: skip
    in_between = event(
        "evt_between", "customer.subscription.updated", T0 + timedelta(hours=1),
        subscription("past_due"),
    )  # fmt: skip
    assert deliver(config, created) == "changed"
    assert deliver(config, renewed) == "unchanged"
    assert deliver(config, renewed) == "seen"  # Stripe delivers it a second time
    assert deliver(config, created) == "seen"
    assert deliver(config, in_between) == "stale"  # older than the newest word on it
    row = kept(config)
    assert row.subscription_status == "active"
    assert (row.subscription_updated_at, row.last_event_id) == (
        T0 + timedelta(hours=2),
        "evt_same",
    )


def test_events_of_one_second_never_undo_a_step_stripe_takes_only_forward(
    world: tuple[Path, BillingWorld],
) -> None:
    """Stripe stamps events in whole seconds: of two about one object in the same second, the
    one that would step back (out of ``canceled``, a paid invoice back to ``open``) is the
    older, whatever order they arrive in; two on one step apply in the order they arrive."""
    config, _ = world
    at = T0 + timedelta(hours=1)
    cancelled = event("evt_s1", "customer.subscription.deleted", at, subscription("canceled"))
    active = event("evt_s0", "customer.subscription.updated", at, subscription("active"))
    paid = event("evt_i1", "invoice.paid", at, invoice("in_order2001", T0, "paid"))
    opened = event("evt_i0", "invoice.finalized", at, invoice("in_order2001", T0, "open"))
    assert deliver(config, cancelled) == "changed"
    assert deliver(config, paid) == "changed"
    assert deliver(config, active) == "stale"  # made before the cancellation, delivered after
    assert deliver(config, opened) == "stale"
    row = kept(config)
    assert (row.subscription_status, row.invoice_status) == ("canceled", "paid")
    # Forward within one second applies; so do two of one step, in the order they arrive.
    later = at + timedelta(hours=1)
    for step in ("open", "uncollectible", "paid"):
        made = event(f"evt_{step}", "invoice.updated", later, invoice("in_order2002", later, step))
        assert deliver(config, made) == "changed", step
    sub = "sub_order2"
    renewed = event(
        "evt_s3", "customer.subscription.created", later, subscription("active", sub=sub)
    )
    overdue = event(
        "evt_s4", "customer.subscription.updated", later, subscription("past_due", sub=sub)
    )
    assert deliver(config, renewed) == "changed"
    assert deliver(config, overdue) == "changed"
    row = kept(config)
    assert (row.subscription_id, row.subscription_status) == (sub, "past_due")
    assert (row.invoice_id, row.invoice_status) == ("in_order2002", "paid")


def test_each_subscription_of_a_customer_is_weighed_against_its_own_events(
    world: tuple[Path, BillingWorld],
) -> None:
    """A customer with two subscriptions: an event about one is stale only against that one's
    newest event (not the other's), and the licence is the newest live one, else the newest,
    as a full sync picks it — so the cancelled newer one hands the licence back to the older
    one that is still live."""
    config, _ = world

    def about(sub: str, status: str, created: datetime) -> dict[str, Any]:
        return {**subscription(status, sub=sub), "created": _stamp(created)}

    older, newer = "sub_orderOlder", "sub_orderNewer"
    kind = "customer.subscription.updated"
    newer_made = event("evt_n1", kind, T0 + timedelta(hours=1), about(newer, "active", T0))
    older_made = event("evt_o1", kind, T0, about(older, "active", T0 - timedelta(days=9)))
    newer_ended = event("evt_n2", kind, T0 + timedelta(hours=3), about(newer, "canceled", T0))
    older_overdue = event(
        "evt_o2", kind, T0 + timedelta(hours=2), about(older, "past_due", T0 - timedelta(days=9))
    )
    older_again = event(
        "evt_o3", kind, T0 + timedelta(minutes=90), about(older, "active", T0 - timedelta(days=9))
    )
    assert deliver(config, newer_made) == "changed"
    # Older than the newer subscription's event, but the first word on its own: applied, and
    # the licence stays the newer live one.
    assert deliver(config, older_made) == "unchanged"
    assert (kept(config).subscription_id, kept(config).subscription_status) == (newer, "active")
    assert deliver(config, newer_ended) == "changed"  # the older one is live: it is the licence
    assert (kept(config).subscription_id, kept(config).subscription_status) == (older, "active")
    assert deliver(config, older_overdue) == "changed"  # newer than the older one's own
    assert deliver(config, older_again) == "stale"  # older than the older one's own newest
    row = kept(config)
    assert (row.subscription_id, row.subscription_status) == (older, "past_due")
    assert row.subscription_updated_at == T0 + timedelta(hours=3)
    console = open_console(config)
    try:
        with console.ctx.catalog.read() as tx:
            marks = {k.facts.subscription_id: (k.facts.status, k.mark) for k in
                     tx.billing.subscriptions(CUSTOMER)}  # fmt: skip
        assert marks == {
            older: ("past_due", T0 + timedelta(hours=2)),
            newer: ("canceled", T0 + timedelta(hours=3)),
        }
    finally:
        console.close()
    # The customer deleted: no licence, and an older event about a subscription stays stale.
    gone = {"id": CUSTOMER, "object": "customer", "deleted": True}
    assert deliver(config, event("evt_c1", "customer.deleted", T0 + timedelta(hours=4), gone)) == (
        "changed"
    )
    late = about(older, "active", T0 - timedelta(days=9))
    assert deliver(config, event("evt_o4", kind, T0 + timedelta(hours=3, minutes=30), late)) == (
        "stale"
    )
    assert (kept(config).subscription_id, kept(config).subscription_status) == (None, "none")
    console = open_console(config)
    try:
        # Unlinking forgets them with the row.
        with console.ctx.catalog.transaction() as tx:
            tx.billing.unlink("acme-gmbh")
        with console.ctx.catalog.read() as tx:
            assert tx.billing.subscriptions(CUSTOMER) == []
    finally:
        console.close()


def test_a_full_sync_followed_by_older_deliveries_changes_nothing(
    world: tuple[Path, BillingWorld],
) -> None:
    config, world_ = world
    client = world_.client
    customer = stripe_world.customer(client, world_.plans, "acme-gmbh")
    console = open_console(config)
    try:
        with console.ctx.catalog.transaction() as tx:
            tx.billing.unlink("acme-gmbh")
            tx.billing.link(TenantBilling("acme-gmbh", customer))
        console.billing_sync.sync(full=True)
        synced = rows(console)["acme-gmbh"]
    finally:
        console.close()
    assert synced.subscription_status == "active" and synced.invoice_id is not None
    assert synced.updated_at is not None and synced.invoice_created is not None
    sub = client.v1.subscriptions.list({"customer": customer}).data[0].to_dict()
    paid = client.v1.invoices.list({"customer": customer}).data[0].to_dict()
    before_read = synced.updated_at - timedelta(minutes=1)
    # Localstripe's own objects, as events made before the sync read them…
    past_due = event(
        "evt_lateSub", "customer.subscription.updated", before_read, {**sub, "status": "past_due"}
    )
    unpaid = event("evt_lateInv", "invoice.payment_failed", before_read, {**paid, "status": "open"})
    # …and an invoice older than the one read, paid after the sync.
    earlier = invoice("in_orderOld1", synced.invoice_created - timedelta(days=31), "paid")
    old_paid = event("evt_oldPaid", "invoice.paid", synced.updated_at + timedelta(hours=1), {
        **earlier, "customer": customer
    })  # fmt: skip
    assert [deliver(config, e) for e in (past_due, unpaid, old_paid)] == ["stale"] * 3
    assert kept(config) == synced


@pytest.mark.postgres
def test_a_webhook_committed_while_a_full_sync_writes_is_not_overwritten(
    request: pytest.FixtureRequest, tmp_path: Path, stripe_server: LocalStripe, stripe_key: str
) -> None:
    # Two connections to one PostgreSQL catalog: a webhook's transaction holds acme-gmbh's row
    # (a newer event applied, not committed yet) while a full sync, in another thread, reaches
    # its write; the webhook commits, and the sync must not write over what it applied.
    config = sandbox_on("postgresql", tmp_path / "sbx", request)
    config.write_text(config.read_text() + billing_section(stripe_server.url))
    console = open_console(config)
    client = stripe_server.client(stripe_key)
    world = BillingWorld(console, client, stripe_world.plans(client))
    customer = world.customer("acme-gmbh")
    world.link_all()
    sub = client.v1.subscriptions.list({"customer": customer}).data[0]
    later = datetime.now(UTC) + timedelta(hours=1)
    facts = SubscriptionFacts(sub.id, customer, LicenceState.PAST_DUE, later, False, later)
    newer = BillingEvent("evt_whileSyncing", "customer.subscription.updated", later, facts)

    def waiting_on_a_lock() -> bool:
        with console.ctx.catalog.read() as tx:
            query = (
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            return bool(tx.conn.execute(text(query)).scalar())

    with ThreadPoolExecutor(1) as pool:
        with console.ctx.catalog.transaction() as webhook:
            assert apply_event(webhook, newer, later).outcome is Outcome.CHANGED
            syncing = pool.submit(console.billing_sync.sync, full=True)
            until(waiting_on_a_lock, "the full sync waits for the webhook's transaction")
        result = syncing.result()
    row = rows(console)["acme-gmbh"]
    console.close()
    assert (row.subscription_status, row.subscription_updated_at) == ("past_due", later)
    assert row.last_event_id == "evt_whileSyncing" and row.invoice_status == "paid"
    assert [c.fields for c in result.changes] == [
        ("invoice_id", "invoice_amount", "invoice_currency", "invoice_status")
    ]
