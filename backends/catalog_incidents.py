"""The incident tables (migration 0006), on :data:`catalog_schema.metadata`.

Kept apart from ``catalog_schema`` (whose module would outgrow its size), and loaded by it:
importing either defines every table. Categories are comma-separated text, sorted as typed.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from aptien_ops.backends.catalog_schema import UtcDateTime, metadata

NATURES = ("confidentiality", "integrity", "availability")
SEVERITIES = ("low", "medium", "high", "critical")
RISKS = ("unknown", "unlikely", "risk", "high")
INCIDENT_STATUSES = ("open", "assessed", "reported", "notifying", "closed")
REPORT_PHASES = ("initial", "follow-up", "final")
REPORT_FORMATS = ("md", "html", "json")
SCOPE_SELECTIONS = ("tenants", "region", "all")

incidents = Table(
    "incidents",
    metadata,
    Column("id", String(20), primary_key=True),
    Column("title", Text, nullable=False),
    Column("nature", String(16), nullable=False),
    Column("happened_from", UtcDateTime(), nullable=True),
    Column("happened_to", UtcDateTime(), nullable=True),
    Column("aware_at", UtcDateTime(), nullable=False),
    # aware_at + 72 h (GDPR Art. 33(1)).
    Column("deadline_at", UtcDateTime(), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("risk_to_people", String(16), nullable=False),
    Column("risk_rationale", Text, nullable=True),
    Column("data_categories", Text, nullable=False),
    Column("subject_categories", Text, nullable=False),
    Column("approx_people", Integer, nullable=True),
    Column("approx_records", Integer, nullable=True),
    Column("consequences", Text, nullable=True),
    Column("measures_taken", Text, nullable=True),
    Column("measures_proposed", Text, nullable=True),
    Column("dpo_contact", Text, nullable=True),
    Column("status", String(16), nullable=False),
    # Why the report came after 72 hours (Art. 33(1)); required for a late report.
    Column("delay_reasons", Text, nullable=True),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_by", String(64), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    CheckConstraint(f"nature IN {NATURES!r}", name="nature"),
    CheckConstraint(f"severity IN {SEVERITIES!r}", name="severity"),
    CheckConstraint(f"risk_to_people IN {RISKS!r}", name="risk_to_people"),
    CheckConstraint(f"status IN {INCIDENT_STATUSES!r}", name="status"),
    Index(None, "status", "deadline_at"),
)

incident_timeline = Table(
    "incident_timeline",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", String(20), ForeignKey("incidents.id"), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("operator", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("text", Text, nullable=False),
    Index(None, "incident_id", "id"),
)

incident_reports = Table(
    "incident_reports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", String(20), ForeignKey("incidents.id"), nullable=False),
    Column("phase", String(16), nullable=False),
    Column("format", String(8), nullable=False),
    # The rendered file's SHA-256: the catalog proves what was sent, the file is kept elsewhere.
    Column("sha256", String(64), nullable=False),
    Column("recorded_by", String(64), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    # The authority's case reference, once it gave one.
    Column("reference", Text, nullable=True),
    CheckConstraint(f"phase IN {REPORT_PHASES!r}", name="phase"),
    CheckConstraint(f"format IN {REPORT_FORMATS!r}", name="format"),
    Index(None, "incident_id", "id"),
)

incident_scopes = Table(
    "incident_scopes",
    metadata,
    # The header of an incident's one scope snapshot: what was asked, what was found.
    Column("incident_id", String(20), ForeignKey("incidents.id"), primary_key=True),
    Column("selection", String(16), nullable=False),
    Column("targets", Text, nullable=False),
    Column("window_from", UtcDateTime(), nullable=True),
    Column("window_to", UtcDateTime(), nullable=True),
    Column("logged_in_during_window", Boolean, nullable=False),
    Column("tenants", Integer, nullable=False),
    Column("people", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("taken_by", String(64), nullable=False),
    Column("taken_at", UtcDateTime(), nullable=False),
    CheckConstraint(f"selection IN {SCOPE_SELECTIONS!r}", name="selection"),
)

incident_scope_tenants = Table(
    "incident_scope_tenants",
    metadata,
    # Per tenant of a snapshot, how many people it found (zero included).
    Column("incident_id", String(20), ForeignKey("incidents.id"), nullable=False),
    Column("tenant", String(40), nullable=False),
    Column("region", String(16), nullable=False),
    Column("people", Integer, nullable=False),
    PrimaryKeyConstraint("incident_id", "tenant"),
)

incident_scope = Table(
    "incident_scope",
    metadata,
    # The recipients of a snapshot, in their stable order (tenant, user_ref): the notices go
    # to exactly these people.
    Column("incident_id", String(20), ForeignKey("incidents.id"), nullable=False),
    Column("tenant", String(40), nullable=False),
    Column("region", String(16), nullable=False),
    Column("user_ref", String(64), nullable=False),
    Column("email", Text, nullable=False),
    Column("language", String(16), nullable=True),
    PrimaryKeyConstraint("incident_id", "tenant", "user_ref"),
)
