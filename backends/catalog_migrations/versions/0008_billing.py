"""Billing: each tenant's link to its Stripe customer and the licence and invoice facts kept of
it (never a card or an address), the Stripe events applied, and the sync's event cursor.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04

Frozen DDL (never imports backends.catalog_schema); names follow that module's convention.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
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
        "tenant_billing",
        sa.Column("tenant", sa.String(40), nullable=False),
        sa.Column("customer_id", sa.String(255), nullable=False),
        sa.Column("subscription_id", sa.String(255), nullable=True),
        sa.Column("subscription_status", sa.String(24), nullable=False),
        sa.Column("current_period_end", TIMESTAMP, nullable=True),
        sa.Column("cancel_at_period_end", sa.Boolean(), nullable=False),
        sa.Column("invoice_number", sa.String(64), nullable=True),
        sa.Column("invoice_amount", sa.BigInteger(), nullable=True),
        sa.Column("invoice_currency", sa.String(3), nullable=True),
        sa.Column("invoice_status", sa.String(16), nullable=True),
        sa.Column("invoice_due", TIMESTAMP, nullable=True),
        sa.Column("last_event_id", sa.String(255), nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("tenant", name=op.f("pk_tenant_billing")),
        sa.ForeignKeyConstraint(
            ["tenant"], ["tenants.name"], name=op.f("fk_tenant_billing_tenant_tenants")
        ),
        sa.CheckConstraint(
            f"subscription_status IN {LICENCE_STATES!r}",
            name=op.f("ck_tenant_billing_subscription_status"),
        ),
    )
    op.create_index(
        op.f("ix_tenant_billing_customer_id"), "tenant_billing", ["customer_id"], unique=True
    )
    op.create_index(
        op.f("ix_tenant_billing_subscription_status_tenant"),
        "tenant_billing",
        ["subscription_status", "tenant"],
    )
    op.create_table(
        "billing_events",
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("applied_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_billing_events")),
    )
    op.create_table(
        "billing_cursor",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("event_id", sa.String(255), nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_cursor")),
        sa.CheckConstraint("id = 1", name=op.f("ck_billing_cursor_one_row")),
    )


def downgrade() -> None:
    op.drop_table("billing_cursor")
    op.drop_table("billing_events")
    op.drop_table("tenant_billing")
