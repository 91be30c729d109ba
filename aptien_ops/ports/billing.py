"""Billing's two ports: Stripe as the console reads it (:class:`BillingSource`), and what the
catalog keeps of it (``tx.billing``, :class:`BillingRepository`).

The source's adapter reduces every Stripe object to the records of ``domain.billing`` before
it returns: nothing above this port ever holds a card, an address or a raw Stripe object. Its
methods raise ``Unavailable`` (network, 5xx, rate limit after its retries, a wrong or revoked
key — the key never in the message), ``NotFound`` (no such customer) and ``IntegrityError``
(a webhook's signature does not verify); none raises a ``stripe`` exception.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Protocol

from aptien_ops.domain.billing import (
    BillingAttention,
    BillingEvent,
    CustomerFacts,
    InvoiceFacts,
    KeptSubscription,
    LicenceState,
    SubscriptionFacts,
    TenantBilling,
)


class BillingSource(Protocol):
    """Stripe (or a Stripe-compatible server), read through stripe-python's ``StripeClient``."""

    def customer(self, customer_id: str) -> CustomerFacts:
        """Raises: NotFound (no such customer, or it was deleted)."""
        ...

    def create_customer(self, *, name: str, email: str | None, tenant: str) -> CustomerFacts:
        """A new customer with the tenant's name and representative's email, and the
        ``tenant`` metadata key."""
        ...

    def subscriptions(self) -> Iterator[SubscriptionFacts]:
        """Every subscription of every customer, any status (auto-paging)."""
        ...

    def invoices(self) -> Iterator[InvoiceFacts]:
        """Every invoice (auto-paging), newest first."""
        ...

    def latest_event_id(self) -> str | None:
        """The newest event's id: where a full sync leaves the cursor."""
        ...

    def events_after(self, cursor: str | None) -> Iterator[BillingEvent]:
        """The events newer than ``cursor`` (all kept ones if None), oldest first."""
        ...

    def webhook_event(self, payload: bytes, signature: str) -> BillingEvent:
        """The event of a webhook delivery, after stripe-python's own signature check with the
        endpoint secret and its timestamp tolerance.

        Raises: IntegrityError (bad or old signature), InvalidInput (the body is not a Stripe
        event).
        """
        ...


class BillingRepository(Protocol):
    """One row per linked tenant (:class:`TenantBilling`), the events applied and the event
    cursor (``tx.billing``)."""

    def get(self, tenant: str, *, for_update: bool = False) -> TenantBilling | None: ...

    def by_customer(self, customer_id: str) -> TenantBilling | None:
        """The tenant linked to the customer, if any."""
        ...

    def all(
        self, *, states: frozenset[LicenceState] | None = None, for_update: bool = False
    ) -> list[TenantBilling]:
        """Linked tenants (of ``states``, if given), by tenant name; ``for_update`` locks
        their rows until the transaction ends (PostgreSQL; SQLite's writer holds the file)."""
        ...

    def link(self, billing: TenantBilling) -> None:
        """Raises: Conflict (the tenant is linked already, or the customer is linked to
        another tenant)."""
        ...

    def unlink(self, tenant: str) -> None:
        """Raises: NotFound (the tenant is not linked)."""
        ...

    def save(self, billing: TenantBilling) -> None:
        """Store every field of ``billing`` in its row. Raises: NotFound."""
        ...

    def subscriptions(self, customer_id: str | None = None) -> list[KeptSubscription]:
        """The subscriptions kept of ``customer_id`` (None: of every linked customer), each
        with its mark."""
        ...

    def keep_subscriptions(self, kept: Sequence[KeptSubscription]) -> None:
        """Store each subscription as given (a new one added, a known one replaced)."""
        ...

    def forget_subscriptions(self, customer_id: str) -> None:
        """Drop every subscription kept of ``customer_id`` (unlinked, or deleted in Stripe)."""
        ...

    def seen(self, event_id: str) -> bool:
        """The event was applied already (events are idempotent on their id)."""
        ...

    def mark_seen(self, event_id: str, at: datetime) -> None:
        """Record the event as applied (marking one twice changes nothing)."""
        ...

    def cursor(self) -> str | None:
        """The id of the newest event a sync applied, or None (never synced)."""
        ...

    def set_cursor(self, event_id: str | None, at: datetime) -> None: ...

    def statuses(
        self, *, tenant: str | None = None, states: frozenset[LicenceState] | None = None
    ) -> list[tuple[str, TenantBilling | None]]:
        """Every tenant that is not purged (or only ``tenant``), by name, with its billing
        (None: not linked, licence ``none``); of ``states`` if given (``none`` includes the
        tenants not linked)."""
        ...

    def attention(self, now: datetime, until: datetime) -> list[BillingAttention]:
        """Per region (by name), its linked tenants that are not purged: how many are past due,
        unpaid, and in good standing but not renewing with a period end from ``now`` to
        ``until``; one aggregate query. Regions without a linked tenant are left out."""
        ...

    def status_json(
        self,
        *,
        tenant: str | None = None,
        states: frozenset[LicenceState] | None = None,
        full: bool,
    ) -> str:
        """:meth:`statuses` as one JSON array text, ASCII only, written by the database: each
        row ``domain.billing.BillingStatus.as_json()`` (``full``: every field kept; else the
        licence state only). The hot path of ``billing status --json``."""
        ...
