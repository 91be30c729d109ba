"""Billing's tables (migrations 0008, 0010 and 0014), on :data:`catalog_schema.metadata`.

``tenant_billing`` holds exactly the fields of :class:`aptien_ops.domain.billing.TenantBilling`:
Stripe ids, the subscription's status and period, the latest invoice's number, amount,
currency, status and due date. There is no column a card number, CVC, expiry, fingerprint or
billing address could go into (``tests/test_billing_catalog.py`` scans for one).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
)

from aptien_ops.backends.catalog_schema import UtcDateTime, metadata
from aptien_ops.domain.billing import LicenceState

LICENCE_STATES = tuple(str(s) for s in LicenceState)
#: Stripe ids are at most 255 characters; the console's are far shorter.
STRIPE_ID = 255

tenant_billing = Table(
    "tenant_billing",
    metadata,
    Column("tenant", String(40), ForeignKey("tenants.name"), primary_key=True),
    Column("customer_id", String(STRIPE_ID), nullable=False),
    Column("subscription_id", String(STRIPE_ID), nullable=True),
    Column("subscription_status", String(24), nullable=False),
    Column("current_period_end", UtcDateTime(), nullable=True),
    Column("cancel_at_period_end", Boolean, nullable=False),
    Column("invoice_number", String(64), nullable=True),
    Column("invoice_amount", BigInteger, nullable=True),
    Column("invoice_currency", String(3), nullable=True),
    Column("invoice_status", String(16), nullable=True),
    Column("invoice_due", UtcDateTime(), nullable=True),
    Column("last_event_id", String(STRIPE_ID), nullable=True),
    Column("updated_at", UtcDateTime(), nullable=True),
    # Migration 0010: each object's own mark, and which invoice is the latest.
    Column("subscription_updated_at", UtcDateTime(), nullable=True),
    Column("invoice_id", String(STRIPE_ID), nullable=True),
    Column("invoice_created", UtcDateTime(), nullable=True),
    Column("invoice_updated_at", UtcDateTime(), nullable=True),
    CheckConstraint(f"subscription_status IN {LICENCE_STATES!r}", name="subscription_status"),
    Index(None, "customer_id", unique=True),
    Index(None, "subscription_status", "tenant"),
)

#: The ids of the Stripe events applied (a sync or a webhook applies each once).
billing_events = Table(
    "billing_events",
    metadata,
    Column("event_id", String(STRIPE_ID), primary_key=True),
    Column("applied_at", UtcDateTime(), nullable=False),
)

#: One row (id 1): the newest event a sync applied, where the next sync starts reading.
billing_cursor = Table(
    "billing_cursor",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("event_id", String(STRIPE_ID), nullable=True),
    Column("updated_at", UtcDateTime(), nullable=False),
    CheckConstraint("id = 1", name="one_row"),
)

#: Migration 0014: every subscription of a linked customer, each with its own mark, so that an
#: event about one is weighed against that one only, and the licence is the customer's newest
#: live subscription (else the newest) whichever order their events arrive in, as a full sync
#: picks it. Reduced as the row is: ids, status, period, created; never a card.
billing_subscriptions = Table(
    "billing_subscriptions",
    metadata,
    Column("subscription_id", String(STRIPE_ID), primary_key=True),
    Column("customer_id", String(STRIPE_ID), nullable=False),
    Column("status", String(24), nullable=False),
    Column("current_period_end", UtcDateTime(), nullable=True),
    Column("cancel_at_period_end", Boolean, nullable=False),
    Column("created", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    CheckConstraint(f"status IN {LICENCE_STATES!r}", name="status"),
    Index(None, "customer_id"),
)
