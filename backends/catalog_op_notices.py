"""The operational notices' tables (migrations 0011, 0013), on :data:`catalog_schema.metadata`.

A notice (maintenance, outage, change) with its window and status, its dated updates (who did
what), and the tenants its scope resolved to when it was first sent (the stored scope).
Loaded by ``catalog_schema``; importing either defines every table.
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    text,
)

from aptien_ops.backends.catalog_schema import UtcDateTime, metadata

NOTICE_KINDS = ("maintenance", "outage", "change")
NOTICE_STATUSES = ("draft", "scheduled", "in-progress", "resolved", "cancelled")
NOTICE_SELECTIONS = ("regions", "clusters", "tenants", "all")

op_notices = Table(
    "op_notices",
    metadata,
    Column("id", String(20), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("title", Text, nullable=False),
    # Markdown, as the operator wrote it; escaped wherever it is shown.
    Column("body", Text, nullable=False),
    Column("starts_at", UtcDateTime(), nullable=False),
    # None: open-ended (an outage until it is resolved).
    Column("ends_at", UtcDateTime(), nullable=True),
    Column("status", String(16), nullable=False),
    # The scope as asked (``clusters`` and ``eu-fra-1,eu-fra-2``); ``all`` has no targets.
    Column("selection", String(16), nullable=False),
    Column("targets", Text, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_by", String(64), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    # Who is told: ``representatives`` (the catalog's contacts), ``users`` (read from the
    # tenant databases when it is sent) or ``both`` (migration 0013).
    Column("audience", String(16), nullable=False, server_default=text("'representatives'")),
    CheckConstraint(f"kind IN {NOTICE_KINDS!r}", name="kind"),
    CheckConstraint(f"status IN {NOTICE_STATUSES!r}", name="status"),
    CheckConstraint(f"selection IN {NOTICE_SELECTIONS!r}", name="selection"),
    Index(None, "status", "starts_at"),
)

op_notice_updates = Table(
    "op_notice_updates",
    metadata,
    # Every dated step of a notice: drafted, sent, an update, resolved, cancelled; who did it.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("notice_id", String(20), ForeignKey("op_notices.id"), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("operator", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    # The notice's status after this step.
    Column("status", String(16), nullable=False),
    Column("text", Text, nullable=True),
    Index(None, "notice_id", "id"),
)

op_notice_scope = Table(
    "op_notice_scope",
    metadata,
    # The tenants the scope resolved to (active or suspended then), where each lived then.
    Column("notice_id", String(20), ForeignKey("op_notices.id"), nullable=False),
    Column("tenant", String(40), nullable=False),
    Column("region", String(16), nullable=False),
    Column("cluster", String(40), nullable=True),
    PrimaryKeyConstraint("notice_id", "tenant"),
)
