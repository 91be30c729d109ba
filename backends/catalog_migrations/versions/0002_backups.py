"""Backups: an index of the region stores, and every verification of each backup.

Revision ID: 0002
Revises: 0001
Create Date: 2024-12-02

Frozen DDL (never imports backends.catalog_schema); names follow that module's convention.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# timestamptz on PostgreSQL; fixed-width UTC text ("…T…ffffffZ") on SQLite.
TIMESTAMP = sa.DateTime(timezone=True).with_variant(sa.Text(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "backups",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("tenant", sa.String(40), nullable=False),
        sa.Column("region", sa.String(16), nullable=False),
        sa.Column("cluster", sa.String(40), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("finished_at", TIMESTAMP, nullable=False),
        sa.Column("plaintext_size", sa.BigInteger(), nullable=False),
        sa.Column("ciphertext_size", sa.BigInteger(), nullable=False),
        sa.Column("ciphertext_sha256", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("pruned_at", TIMESTAMP, nullable=True),
        sa.Column("manifest", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backups")),
        sa.CheckConstraint("state IN ('complete', 'pruned')", name=op.f("ck_backups_state")),
    )
    op.create_index(op.f("ix_backups_tenant_created_at"), "backups", ["tenant", "created_at"])
    op.create_table(
        "backup_verifications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("backup_id", sa.String(40), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("operator", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backup_verifications")),
        sa.ForeignKeyConstraint(
            ["backup_id"], ["backups.id"], name=op.f("fk_backup_verifications_backup_id_backups")
        ),
        sa.CheckConstraint(
            "level IN ('quick', 'full', 'restore')", name=op.f("ck_backup_verifications_level")
        ),
    )
    op.create_index(
        op.f("ix_backup_verifications_backup_id_at"), "backup_verifications", ["backup_id", "at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_backup_verifications_backup_id_at"), table_name="backup_verifications")
    op.drop_table("backup_verifications")
    op.drop_index(op.f("ix_backups_tenant_created_at"), table_name="backups")
    op.drop_table("backups")
