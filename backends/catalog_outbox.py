"""The breach-notice outbox tables (migration 0007), on :data:`catalog_schema.metadata`.

Kept apart from ``catalog_schema`` (whose module would outgrow its size) and loaded by it:
importing either defines every table.
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, String, Table, Text

from aptien_ops.backends.catalog_schema import UtcDateTime, metadata

OUTBOX_CHANNELS = ("website", "inapp", "email")
OUTBOX_STATES = ("pending", "sent", "failed")

breach_campaigns = Table(
    "breach_campaigns",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", String(20), nullable=False),
    Column("channels", String(32), nullable=False),
    # The notice texts (NoticeContent as JSON) the campaign sends, and the hashes an approval
    # was bound to.
    Column("content", Text, nullable=False),
    Column("texts_sha256", String(64), nullable=False),
    Column("recipients_sha256", String(64), nullable=False),
    Column("requested_by", String(64), nullable=False),
    Column("approved_by", String(64), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Index(None, "incident_id", "id"),
)

breach_outbox = Table(
    "breach_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("campaign_id", Integer, ForeignKey("breach_campaigns.id"), nullable=False),
    Column("incident_id", String(20), nullable=False),
    Column("channel", String(8), nullable=False),
    # tenant/user_ref of the recipient; the region for the website.
    Column("recipient", String(200), nullable=False),
    Column("idempotency_key", String(240), nullable=False),
    Column("region", String(16), nullable=False),
    Column("tenant", String(40), nullable=True),
    Column("user_ref", String(64), nullable=True),
    Column("email", Text, nullable=True),
    # The recipient's language; for the website, the region's languages (``de,en``).
    Column("language", String(16), nullable=True),
    Column("state", String(8), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("reason", Text, nullable=True),
    Column("last_attempt_at", UtcDateTime(), nullable=True),
    CheckConstraint(f"channel IN {OUTBOX_CHANNELS!r}", name="channel"),
    CheckConstraint(f"state IN {OUTBOX_STATES!r}", name="state"),
    Index(None, "idempotency_key", unique=True),
    Index(None, "incident_id", "channel", "state", "id"),
)

breach_exemptions = Table(
    "breach_exemptions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", String(20), nullable=False),
    # Art. 34(3) (a), (b) or (c), and why it applies.
    Column("ground", String(16), nullable=False),
    Column("rationale", Text, nullable=False),
    Column("recorded_by", String(64), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    Index(None, "incident_id", "id"),
)
