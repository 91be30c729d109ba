"""Operational notices: each notice's audience, the tenants' representatives (the catalog's
contacts), their users (read from the tenant databases when it is sent) or both. Existing
notices were for the representatives.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05

Frozen DDL (never imports backends.catalog_schema); names follow that module's convention.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "op_notices",
        sa.Column(
            "audience", sa.String(16), nullable=False, server_default=sa.text("'representatives'")
        ),
    )


def downgrade() -> None:
    with op.batch_alter_table("op_notices") as batch:
        batch.drop_column("audience")
