"""Partners: the register, their agreements and reviews, assignments to tenants, contact shares.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04

Tenants gain the representative's phone and company (the contact card a partner may be given).
Dates are calendar dates in UTC (``date`` on PostgreSQL, ``YYYY-MM-DD`` text on SQLite).

Frozen DDL (never imports backends.catalog_schema); names follow that module's convention.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# timestamptz on PostgreSQL; fixed-width UTC text ("…T…ffffffZ") on SQLite.
TIMESTAMP = sa.DateTime(timezone=True).with_variant(sa.Text(), "sqlite")


def _by(table: str, column: str) -> sa.ForeignKeyConstraint:
    target = {"partner": "partners", "tenant": "tenants"}[column]
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.name"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    op.add_column("tenants", sa.Column("contact_phone", sa.Text(), nullable=True))
    op.add_column("tenants", sa.Column("company", sa.Text(), nullable=True))
    op.create_table(
        "partners",
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("legal_name", sa.Text(), nullable=False),
        sa.Column("kinds", sa.String(32), nullable=False),
        sa.Column("expertise", sa.Text(), nullable=False),
        sa.Column("countries", sa.Text(), nullable=False),
        sa.Column("regions", sa.Text(), nullable=False),
        sa.Column("contact_name", sa.Text(), nullable=True),
        sa.Column("contact_email", sa.Text(), nullable=True),
        sa.Column("contact_phone", sa.Text(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("review_due", sa.Date(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_partners")),
        sa.CheckConstraint(
            "status IN ('active', 'suspended', 'ended')", name=op.f("ck_partners_status")
        ),
    )
    op.create_table(
        "partner_agreements",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("partner", sa.String(40), nullable=False),
        sa.Column("reference", sa.String(80), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("document_sha256", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("ended_at", TIMESTAMP, nullable=True),
        sa.Column("ended_by", sa.String(64), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_agreements")),
        _by("partner_agreements", "partner"),
        sa.CheckConstraint(
            "status IN ('active', 'ended')", name=op.f("ck_partner_agreements_status")
        ),
    )
    op.create_index(
        op.f("ix_partner_agreements_partner_reference"),
        "partner_agreements",
        ["partner", "reference"],
        unique=True,
    )
    op.create_table(
        "partner_reviews",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("partner", sa.String(40), nullable=False),
        sa.Column("reviewed_on", sa.Date(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("next_due", sa.Date(), nullable=False),
        sa.Column("reviewed_by", sa.String(64), nullable=False),
        sa.Column("recorded_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_reviews")),
        _by("partner_reviews", "partner"),
        sa.CheckConstraint(
            "outcome IN ('pass', 'conditions', 'fail')", name=op.f("ck_partner_reviews_outcome")
        ),
    )
    op.create_index(op.f("ix_partner_reviews_partner_id"), "partner_reviews", ["partner", "id"])
    op.create_table(
        "partner_assignments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("partner", sa.String(40), nullable=False),
        sa.Column("tenant", sa.String(40), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("assigned_by", sa.String(64), nullable=False),
        sa.Column("assigned_at", TIMESTAMP, nullable=False),
        sa.Column("ended_at", TIMESTAMP, nullable=True),
        sa.Column("ended_by", sa.String(64), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_assignments")),
        _by("partner_assignments", "partner"),
        _by("partner_assignments", "tenant"),
        sa.CheckConstraint("role IN ('sales', 'expert')", name=op.f("ck_partner_assignments_role")),
    )
    op.create_index(
        op.f("ix_partner_assignments_tenant_ended_at"),
        "partner_assignments",
        ["tenant", "ended_at"],
    )
    op.create_index(
        op.f("ix_partner_assignments_partner_ended_at"),
        "partner_assignments",
        ["partner", "ended_at"],
    )
    op.create_table(
        "partner_shares",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("partner", sa.String(40), nullable=False),
        sa.Column("tenant", sa.String(40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("shared_by", sa.String(64), nullable=False),
        sa.Column("shared_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_shares")),
        _by("partner_shares", "partner"),
        _by("partner_shares", "tenant"),
    )
    op.create_index(op.f("ix_partner_shares_tenant_id"), "partner_shares", ["tenant", "id"])
    op.create_index(op.f("ix_partner_shares_partner_id"), "partner_shares", ["partner", "id"])


def downgrade() -> None:
    for table in ("partner_shares", "partner_assignments", "partner_reviews"):
        op.drop_table(table)
    op.drop_table("partner_agreements")
    op.drop_table("partners")
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("company")
        batch.drop_column("contact_phone")
