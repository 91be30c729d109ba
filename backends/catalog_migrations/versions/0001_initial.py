"""The first catalog schema: regions, clusters, tenants (steps, history, sealed secrets),
operators, approvals, the ops log.

Revision ID: 0001
Revises:
Create Date: 2024-11-29

Frozen DDL: this file never imports backends.catalog_schema, so later model changes cannot
rewrite history. Constraint names follow the naming convention of that module's MetaData and
are wrapped in op.f() so that Alembic (which applies the target metadata's convention) takes
them as final.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# timestamptz on PostgreSQL; fixed-width UTC text ("…T…ffffffZ") on SQLite.
TIMESTAMP = sa.DateTime(timezone=True).with_variant(sa.Text(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "regions",
        sa.Column("name", sa.String(16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_regions")),
    )
    op.create_table(
        "clusters",
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("region", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_clusters")),
    )
    op.create_table(
        "tenants",
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("region", sa.String(16), nullable=False),
        sa.Column("cluster", sa.String(40), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("contact_name", sa.Text(), nullable=True),
        sa.Column("contact_email", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=True),
        sa.Column("state_reason", sa.Text(), nullable=True),
        sa.Column("retain_until", TIMESTAMP, nullable=True),
        sa.Column("purged_at", TIMESTAMP, nullable=True),
        sa.Column("backup_recipient", sa.Text(), nullable=True),
        sa.Column("lease_owner", sa.Text(), nullable=True),
        sa.Column("lease_until", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_tenants")),
        sa.CheckConstraint(
            "state IN ('provisioning', 'active', 'suspended', 'cancelled', 'purged')",
            name=op.f("ck_tenants_state"),
        ),
    )
    op.create_index(op.f("ix_tenants_region_state"), "tenants", ["region", "state"])
    op.create_table(
        "tenant_steps",
        sa.Column("tenant", sa.String(40), nullable=False),
        sa.Column("step", sa.String(32), nullable=False),
        sa.Column("done_at", TIMESTAMP, nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("tenant", "step", name=op.f("pk_tenant_steps")),
        sa.ForeignKeyConstraint(
            ["tenant"],
            ["tenants.name"],
            name=op.f("fk_tenant_steps_tenant_tenants"),
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "tenant_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(40), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("from_state", sa.String(16), nullable=True),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("operator", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenant_history")),
        sa.ForeignKeyConstraint(
            ["tenant"], ["tenants.name"], name=op.f("fk_tenant_history_tenant_tenants")
        ),
    )
    op.create_index(op.f("ix_tenant_history_tenant_id"), "tenant_history", ["tenant", "id"])
    op.create_table(
        "tenant_secrets",
        sa.Column("tenant", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "kind", name=op.f("pk_tenant_secrets")),
        sa.ForeignKeyConstraint(
            ["tenant"],
            ["tenants.name"],
            name=op.f("fk_tenant_secrets_tenant_tenants"),
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "operators",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("added_by", sa.String(64), nullable=True),
        sa.Column("added_at", TIMESTAMP, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_operators")),
    )
    op.create_table(
        "operator_roles",
        sa.Column("operator", sa.String(64), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("operator", "role", name=op.f("pk_operator_roles")),
        sa.ForeignKeyConstraint(
            ["operator"],
            ["operators.name"],
            name=op.f("fk_operator_roles_operator_operators"),
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("requested_at", TIMESTAMP, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_at", TIMESTAMP, nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approvals")),
        sa.CheckConstraint(
            "state IN ('pending', 'approved', 'rejected', 'failed')",
            name=op.f("ck_approvals_state"),
        ),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "opslog",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.Text(), nullable=False),
        sa.Column("operator", sa.String(64), nullable=False),
        sa.Column("os_account", sa.String(64), nullable=False),
        sa.Column("ssh_origin", sa.Text(), nullable=True),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("approval_id", sa.Integer(), nullable=True),
        sa.Column("prev_hash", sa.Text(), nullable=False),
        sa.Column("hmac", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_opslog")),
    )
    head = op.create_table(
        "opslog_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hmac", sa.Text(), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opslog_head")),
        sa.CheckConstraint("id = 1", name=op.f("ck_opslog_head_single_row")),
    )
    # The row appenders lock (SELECT ... FOR UPDATE); seq 0 means the log is empty.
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hmac": "", "signature": ""}])


def downgrade() -> None:
    for table in (
        "opslog_head",
        "opslog",
        "approvals",
        "operator_roles",
        "operators",
        "tenant_secrets",
    ):
        op.drop_table(table)
    op.drop_index(op.f("ix_tenant_history_tenant_id"), table_name="tenant_history")
    for table in ("tenant_history", "tenant_steps"):
        op.drop_table(table)
    op.drop_index(op.f("ix_tenants_region_state"), table_name="tenants")
    for table in ("tenants", "clusters", "regions"):
        op.drop_table(table)
