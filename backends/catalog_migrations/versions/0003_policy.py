"""The catalog's own facts (its mode) and the security policy a production catalog holds.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03

Frozen DDL (never imports backends.catalog_schema); names follow that module's convention.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# timestamptz on PostgreSQL; fixed-width UTC text ("…T…ffffffZ") on SQLite.
TIMESTAMP = sa.DateTime(timezone=True).with_variant(sa.Text(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "catalog_meta",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_catalog_meta")),
    )
    op.create_table(
        "policy",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("set_by", sa.String(64), nullable=False),
        sa.Column("set_at", TIMESTAMP, nullable=False),
        sa.Column("approval_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_policy")),
    )
    # Approving a request finds its entries in the ops log by approval id.
    op.create_index(op.f("ix_opslog_approval_id"), "opslog", ["approval_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_opslog_approval_id"), table_name="opslog")
    op.drop_table("policy")
    op.drop_table("catalog_meta")
