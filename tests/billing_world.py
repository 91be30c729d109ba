"""A Stripe to link against where Stripe is not the point: a real object that knows a few
customers (no mock library), and the billing service of a console built on it.

Where the Stripe adapter itself matters, tests use localstripe instead."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from aptien_ops.composition import Console
from aptien_ops.domain.billing import (
    BillingEvent,
    CustomerFacts,
    InvoiceFacts,
    SubscriptionFacts,
)
from aptien_ops.errors import IntegrityFailure, NotFound
from aptien_ops.ports.billing import BillingSource
from aptien_ops.services.billing import BillingService


class KnownCustomers:
    """A BillingSource holding ``customers`` and recording every id it was asked about."""

    def __init__(self, *customers: CustomerFacts) -> None:
        self.customers = {c.customer_id: c for c in customers}
        self.asked: list[str] = []

    def customer(self, customer_id: str) -> CustomerFacts:
        self.asked.append(customer_id)
        found = self.customers.get(customer_id)
        if found is None:
            raise NotFound(f"no Stripe customer {customer_id}")
        return found

    def create_customer(self, *, name: str, email: str | None, tenant: str) -> CustomerFacts:
        made = CustomerFacts(f"cus_New{len(self.customers)}", tenant)
        self.customers[made.customer_id] = made
        return made

    def subscriptions(self) -> Iterator[SubscriptionFacts]:
        return iter(())

    def invoices(self) -> Iterator[InvoiceFacts]:
        return iter(())

    def latest_event_id(self) -> str | None:
        return None

    def events_after(self, cursor: str | None) -> Iterator[BillingEvent]:
        return iter(())

    def webhook_event(self, payload: bytes, signature: str) -> BillingEvent:
        """A delivery "signed" verifies: an update of the first customer known, made now."""
        if signature != "signed":
            raise IntegrityFailure("the webhook's Stripe-Signature does not verify")
        about = next(iter(self.customers.values()))
        return BillingEvent("evt_Hook1", "customer.updated", datetime.now(UTC), about)


_: type[BillingSource] = KnownCustomers


def customers(*ids: str, tenant: str | None = None) -> KnownCustomers:
    return KnownCustomers(*(CustomerFacts(i, tenant) for i in ids))


def billing(console: Console, source: BillingSource | None) -> BillingService:
    """``console``'s billing service reaching ``source`` (None: billing not connected)."""
    return BillingService(console.ctx, lambda: source)
