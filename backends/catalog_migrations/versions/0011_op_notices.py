"""Operational notices: maintenance, outages and changes told to the tenants they affect; each
notice's dated updates (who did what) and the tenants its scope resolved to.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04

Frozen DDL (never imports backends.catalog_schema); names follow that module's convention.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# timestamptz on PostgreSQL; fixed-width UTC text ("…T…ffffffZ") on SQLite.
TIMESTAMP = sa.DateTime(timezone=True).with_variant(sa.Text(), "sqlite")
KINDS = ("maintenance", "outage", "change")
STATUSES = ("draft", "scheduled", "in-progress", "resolved", "cancelled")
SELECTIONS = ("regions", "clusters", "tenants", "all")


def _notice(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["notice_id"], ["op_notices.id"], name=op.f(f"fk_{table}_notice_id_op_notices")
    )


def upgrade() -> None:
    op.create_table(
        "op_notices",
        sa.Column("id", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("starts_at", TIMESTAMP, nullable=False),
        sa.Column("ends_at", TIMESTAMP, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("selection", sa.String(16), nullable=False),
        sa.Column("targets", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_op_notices")),
        sa.CheckConstraint(f"kind IN {KINDS!r}", name=op.f("ck_op_notices_kind")),
        sa.CheckConstraint(f"status IN {STATUSES!r}", name=op.f("ck_op_notices_status")),
        sa.CheckConstraint(f"selection IN {SELECTIONS!r}", name=op.f("ck_op_notices_selection")),
    )
    op.create_index(op.f("ix_op_notices_status_starts_at"), "op_notices", ["status", "starts_at"])
    op.create_table(
        "op_notice_updates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("notice_id", sa.String(20), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("operator", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_op_notice_updates")),
        _notice("op_notice_updates"),
    )
    op.create_index(
        op.f("ix_op_notice_updates_notice_id_id"), "op_notice_updates", ["notice_id", "id"]
    )
    op.create_table(
        "op_notice_scope",
        sa.Column("notice_id", sa.String(20), nullable=False),
        sa.Column("tenant", sa.String(40), nullable=False),
        sa.Column("region", sa.String(16), nullable=False),
        sa.Column("cluster", sa.String(40), nullable=True),
        sa.PrimaryKeyConstraint("notice_id", "tenant", name=op.f("pk_op_notice_scope")),
        _notice("op_notice_scope"),
    )


def downgrade() -> None:
    op.drop_table("op_notice_scope")
    op.drop_table("op_notice_updates")
    op.drop_table("op_notices")
