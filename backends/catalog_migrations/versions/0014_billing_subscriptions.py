"""Billing: every subscription of a linked customer with its own mark
(``billing_subscriptions``), so that an event about one subscription is weighed against that
subscription only, and the licence is the customer's newest live subscription (else the newest)
whatever order their events arrive in, as a full sync picks it.

Existing rows' subscriptions are copied in, marked and dated by the row's subscription mark
(their creation time is not known), and the cursor is cleared when any row holds one, so the
next ``billing sync`` is a full one and reads them all.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05

Frozen DDL (never imports backends.catalog_schema); names follow that module's convention.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# timestamptz on PostgreSQL; fixed-width UTC text ("…T…ffffffZ") on SQLite.
TIMESTAMP = sa.DateTime(timezone=True).with_variant(sa.Text(), "sqlite")
LICENCE_STATES = (
    "active",
    "trialing",
    "past_due",
    "unpaid",
    "canceled",
    "incomplete",
    "incomplete_expired",
    "paused",
    "none",
)


def upgrade() -> None:
    op.create_table(
        "billing_subscriptions",
        sa.Column("subscription_id", sa.String(255), nullable=False),
        sa.Column("customer_id", sa.String(255), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("current_period_end", TIMESTAMP, nullable=True),
        sa.Column("cancel_at_period_end", sa.Boolean(), nullable=False),
        sa.Column("created", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("subscription_id", name=op.f("pk_billing_subscriptions")),
        sa.CheckConstraint(
            f"status IN {LICENCE_STATES!r}", name=op.f("ck_billing_subscriptions_status")
        ),
    )
    op.create_index(
        op.f("ix_billing_subscriptions_customer_id"), "billing_subscriptions", ["customer_id"]
    )
    op.execute(
        "INSERT INTO billing_subscriptions (subscription_id, customer_id, status,"
        " current_period_end, cancel_at_period_end, created, updated_at)"
        " SELECT subscription_id, customer_id, subscription_status, current_period_end,"
        " cancel_at_period_end, COALESCE(subscription_updated_at, updated_at),"
        " COALESCE(subscription_updated_at, updated_at) FROM tenant_billing"
        " WHERE subscription_id IS NOT NULL"
        " AND COALESCE(subscription_updated_at, updated_at) IS NOT NULL"
    )
    op.execute(
        "UPDATE billing_cursor SET event_id = NULL WHERE EXISTS"
        " (SELECT 1 FROM tenant_billing WHERE subscription_id IS NOT NULL)"
    )


def downgrade() -> None:
    op.drop_table("billing_subscriptions")
