"""Billing: each Stripe object a tenant's row keeps has its own mark (the subscription's and the
latest invoice's ``updated_at``), and the latest invoice is known by its id and creation time,
so that an event delivered late about one object is weighed against that object only, and an
older invoice never replaces a newer one.

Existing rows take both marks from their ``updated_at``. Their invoice's id and creation time
are not known: the cursor is cleared when any row holds an invoice, so the next ``billing
sync`` is a full one and fills them in (until then, events about invoices are weighed by the
invoice's mark, as before).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04

Frozen DDL (never imports backends.catalog_schema); names follow that module's convention.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# timestamptz on PostgreSQL; fixed-width UTC text ("…T…ffffffZ") on SQLite.
TIMESTAMP = sa.DateTime(timezone=True).with_variant(sa.Text(), "sqlite")
MARKS = ("subscription_updated_at", "invoice_updated_at")


def upgrade() -> None:
    op.add_column("tenant_billing", sa.Column(MARKS[0], TIMESTAMP, nullable=True))
    op.add_column("tenant_billing", sa.Column("invoice_id", sa.String(255), nullable=True))
    op.add_column("tenant_billing", sa.Column("invoice_created", TIMESTAMP, nullable=True))
    op.add_column("tenant_billing", sa.Column(MARKS[1], TIMESTAMP, nullable=True))
    op.execute(
        "UPDATE tenant_billing"
        " SET subscription_updated_at = updated_at, invoice_updated_at = updated_at"
    )
    op.execute(
        "UPDATE billing_cursor SET event_id = NULL WHERE EXISTS"
        " (SELECT 1 FROM tenant_billing WHERE invoice_status IS NOT NULL)"
    )


def downgrade() -> None:
    with op.batch_alter_table("tenant_billing") as batch:
        batch.drop_column(MARKS[1])
        batch.drop_column("invoice_created")
        batch.drop_column("invoice_id")
        batch.drop_column(MARKS[0])
