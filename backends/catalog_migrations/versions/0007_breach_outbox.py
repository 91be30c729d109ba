"""Breach notices: the campaigns, the outbox (one row per incident, channel and recipient),
and Art. 34(3) exemptions.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04

Frozen DDL (never imports backends.catalog_schema); names follow that module's convention.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# timestamptz on PostgreSQL; fixed-width UTC text ("…T…ffffffZ") on SQLite.
TIMESTAMP = sa.DateTime(timezone=True).with_variant(sa.Text(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "breach_campaigns",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(20), nullable=False),
        sa.Column("channels", sa.String(32), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("texts_sha256", sa.String(64), nullable=False),
        sa.Column("recipients_sha256", sa.String(64), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("approved_by", sa.String(64), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_breach_campaigns")),
    )
    op.create_index(
        op.f("ix_breach_campaigns_incident_id_id"), "breach_campaigns", ["incident_id", "id"]
    )
    op.create_table(
        "breach_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.String(20), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("recipient", sa.String(200), nullable=False),
        sa.Column("idempotency_key", sa.String(240), nullable=False),
        sa.Column("region", sa.String(16), nullable=False),
        sa.Column("tenant", sa.String(40), nullable=True),
        sa.Column("user_ref", sa.String(64), nullable=True),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("last_attempt_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_breach_outbox")),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["breach_campaigns.id"],
            name=op.f("fk_breach_outbox_campaign_id_breach_campaigns"),
        ),
        sa.CheckConstraint(
            "channel IN ('website', 'inapp', 'email')", name=op.f("ck_breach_outbox_channel")
        ),
        sa.CheckConstraint(
            "state IN ('pending', 'sent', 'failed')", name=op.f("ck_breach_outbox_state")
        ),
    )
    op.create_index(
        op.f("ix_breach_outbox_idempotency_key"),
        "breach_outbox",
        ["idempotency_key"],
        unique=True,
    )
    op.create_index(
        op.f("ix_breach_outbox_incident_id_channel_state_id"),
        "breach_outbox",
        ["incident_id", "channel", "state", "id"],
    )
    op.create_table(
        "breach_exemptions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(20), nullable=False),
        sa.Column("ground", sa.String(16), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("recorded_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_breach_exemptions")),
    )
    op.create_index(
        op.f("ix_breach_exemptions_incident_id_id"), "breach_exemptions", ["incident_id", "id"]
    )


def downgrade() -> None:
    op.drop_table("breach_exemptions")
    op.drop_table("breach_outbox")
    op.drop_table("breach_campaigns")
