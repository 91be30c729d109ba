"""Row versions: tenants, operators and approvals carry a version that every change bumps, so
that two operators changing the same row never silently overwrite each other (a change
names the version it read; a row at another version refuses it), and who made the last change.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04

Frozen DDL (never imports backends.catalog_schema); names follow that module's convention.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# timestamptz on PostgreSQL; fixed-width UTC text ("…T…ffffffZ") on SQLite.
TIMESTAMP = sa.DateTime(timezone=True).with_variant(sa.Text(), "sqlite")


def _version() -> sa.Column[int]:
    return sa.Column("version", sa.Integer(), nullable=False, server_default=sa.text("1"))


def upgrade() -> None:
    op.add_column("tenants", _version())
    op.add_column("tenants", sa.Column("changed_by", sa.String(64), nullable=True))
    op.add_column("operators", _version())
    op.add_column("operators", sa.Column("changed_by", sa.String(64), nullable=True))
    op.add_column("operators", sa.Column("changed_at", TIMESTAMP, nullable=True))
    op.add_column("approvals", _version())


def downgrade() -> None:
    with op.batch_alter_table("approvals") as batch:
        batch.drop_column("version")
    with op.batch_alter_table("operators") as batch:
        batch.drop_column("changed_at")
        batch.drop_column("changed_by")
        batch.drop_column("version")
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("changed_by")
        batch.drop_column("version")
