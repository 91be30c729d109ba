"""Incidents: personal-data breaches, their timeline, authority reports and scope snapshots.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04

Frozen DDL (never imports backends.catalog_schema); names follow that module's convention.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# timestamptz on PostgreSQL; fixed-width UTC text ("…T…ffffffZ") on SQLite.
TIMESTAMP = sa.DateTime(timezone=True).with_variant(sa.Text(), "sqlite")


def _incident(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["incident_id"], ["incidents.id"], name=op.f(f"fk_{table}_incident_id_incidents")
    )


def _check(table: str, column: str, values: tuple[str, ...]) -> sa.CheckConstraint:
    return sa.CheckConstraint(f"{column} IN {values!r}", name=op.f(f"ck_{table}_{column}"))


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.String(20), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("nature", sa.String(16), nullable=False),
        sa.Column("happened_from", TIMESTAMP, nullable=True),
        sa.Column("happened_to", TIMESTAMP, nullable=True),
        sa.Column("aware_at", TIMESTAMP, nullable=False),
        sa.Column("deadline_at", TIMESTAMP, nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("risk_to_people", sa.String(16), nullable=False),
        sa.Column("risk_rationale", sa.Text(), nullable=True),
        sa.Column("data_categories", sa.Text(), nullable=False),
        sa.Column("subject_categories", sa.Text(), nullable=False),
        sa.Column("approx_people", sa.Integer(), nullable=True),
        sa.Column("approx_records", sa.Integer(), nullable=True),
        sa.Column("consequences", sa.Text(), nullable=True),
        sa.Column("measures_taken", sa.Text(), nullable=True),
        sa.Column("measures_proposed", sa.Text(), nullable=True),
        sa.Column("dpo_contact", sa.Text(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("delay_reasons", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
        _check("incidents", "nature", ("confidentiality", "integrity", "availability")),
        _check("incidents", "severity", ("low", "medium", "high", "critical")),
        _check("incidents", "risk_to_people", ("unknown", "unlikely", "risk", "high")),
        _check("incidents", "status", ("open", "assessed", "reported", "notifying", "closed")),
    )
    op.create_index(op.f("ix_incidents_status_deadline_at"), "incidents", ["status", "deadline_at"])
    op.create_table(
        "incident_timeline",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(20), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("operator", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_timeline")),
        _incident("incident_timeline"),
    )
    op.create_index(
        op.f("ix_incident_timeline_incident_id_id"), "incident_timeline", ["incident_id", "id"]
    )
    op.create_table(
        "incident_reports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(20), nullable=False),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("recorded_at", TIMESTAMP, nullable=False),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_reports")),
        _incident("incident_reports"),
        _check("incident_reports", "phase", ("initial", "follow-up", "final")),
        _check("incident_reports", "format", ("md", "html", "json")),
    )
    op.create_index(
        op.f("ix_incident_reports_incident_id_id"), "incident_reports", ["incident_id", "id"]
    )
    op.create_table(
        "incident_scopes",
        sa.Column("incident_id", sa.String(20), nullable=False),
        sa.Column("selection", sa.String(16), nullable=False),
        sa.Column("targets", sa.Text(), nullable=False),
        sa.Column("window_from", TIMESTAMP, nullable=True),
        sa.Column("window_to", TIMESTAMP, nullable=True),
        sa.Column("logged_in_during_window", sa.Boolean(), nullable=False),
        sa.Column("tenants", sa.Integer(), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("taken_by", sa.String(64), nullable=False),
        sa.Column("taken_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_incident_scopes")),
        _incident("incident_scopes"),
        _check("incident_scopes", "selection", ("tenants", "region", "all")),
    )
    op.create_table(
        "incident_scope_tenants",
        sa.Column("incident_id", sa.String(20), nullable=False),
        sa.Column("tenant", sa.String(40), nullable=False),
        sa.Column("region", sa.String(16), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("incident_id", "tenant", name=op.f("pk_incident_scope_tenants")),
        _incident("incident_scope_tenants"),
    )
    op.create_table(
        "incident_scope",
        sa.Column("incident_id", sa.String(20), nullable=False),
        sa.Column("tenant", sa.String(40), nullable=False),
        sa.Column("region", sa.String(16), nullable=False),
        sa.Column("user_ref", sa.String(64), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("language", sa.String(16), nullable=True),
        sa.PrimaryKeyConstraint(
            "incident_id", "tenant", "user_ref", name=op.f("pk_incident_scope")
        ),
        _incident("incident_scope"),
    )


def downgrade() -> None:
    for table in (
        "incident_scope",
        "incident_scope_tenants",
        "incident_scopes",
        "incident_reports",
        "incident_timeline",
        "incidents",
    ):
        op.drop_table(table)
