"""The catalog's tables, as SQLAlchemy Core ``Table`` objects on one ``MetaData``.

These are the models the adapter queries. The migrations under ``catalog_migrations/`` create
the same schema as frozen DDL (they never import this module's tables), and a contract test
proves the two agree on both SQLite and PostgreSQL.

Timestamps are :class:`UtcDateTime`: ``timestamptz`` on PostgreSQL; on SQLite a fixed-width
text ``YYYY-MM-DDTHH:MM:SS.ffffffZ``, which sorts as time sorts and needs no date parsing on
the hot path. Either way Python always sees timezone-aware UTC datetimes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

#: The Alembic revision this code writes and expects. A test asserts it is the script head;
#: a new migration bumps it.
SCHEMA_HEAD = "0015"

#: Key of the PostgreSQL advisory lock that serialises concurrent schema upgrades.
SCHEMA_LOCK_KEY = 0x4170_7469_656E  # "Aptien"

TENANT_STATES = ("provisioning", "active", "suspended", "cancelled", "purged")
APPROVAL_STATES = ("pending", "approved", "rejected", "failed")
BACKUP_STATES = ("complete", "pruned")
VERIFY_LEVELS = ("quick", "full", "restore")
PARTNER_STATUSES = ("active", "suspended", "ended")
AGREEMENT_STATUSES = ("active", "ended")
REVIEW_OUTCOMES = ("pass", "conditions", "fail")
PARTNER_ROLES = ("sales", "expert")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def sqlite_text(value: datetime) -> str:
    """The fixed-width UTC text a timestamp is stored as on SQLite (naive means UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")[:26] + "Z"


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime in Python; ``timestamptz`` on PostgreSQL, fixed-width text on
    SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Text())
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return sqlite_text(value)
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)


regions = Table(
    "regions",
    metadata,
    Column("name", String(16), primary_key=True),
    Column("description", Text, nullable=False),
)

clusters = Table(
    "clusters",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("region", String(16), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("capacity", Integer, nullable=False),
)

tenants = Table(
    "tenants",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("country", String(2), nullable=False),
    Column("region", String(16), nullable=False),
    Column("cluster", String(40), nullable=True),
    Column("state", String(16), nullable=False),
    Column("contact_name", Text, nullable=True),
    Column("contact_email", Text, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("schema_version", Integer, nullable=True),
    Column("state_reason", Text, nullable=True),
    Column("retain_until", UtcDateTime(), nullable=True),
    Column("purged_at", UtcDateTime(), nullable=True),
    Column("backup_recipient", Text, nullable=True),
    # host:pid:session of the run provisioning it, so two runs never work on one tenant.
    Column("lease_owner", Text, nullable=True),
    Column("lease_until", UtcDateTime(), nullable=True),
    # The client representative's phone and company, shared only on a partner's contact card.
    Column("contact_phone", Text, nullable=True),
    Column("company", Text, nullable=True),
    # Bumped by every change: a change names the version it read (migration 0009).
    Column("version", Integer, nullable=False, server_default=text("1")),
    Column("changed_by", String(64), nullable=True),
    CheckConstraint(f"state IN {TENANT_STATES!r}", name="state"),
    Index(None, "region", "state"),
)

tenant_steps = Table(
    "tenant_steps",
    metadata,
    Column("tenant", String(40), ForeignKey("tenants.name", ondelete="CASCADE"), nullable=False),
    Column("step", String(32), nullable=False),
    Column("done_at", UtcDateTime(), nullable=False),
    Column("detail", Text, nullable=True),
    PrimaryKeyConstraint("tenant", "step"),
)

tenant_history = Table(
    "tenant_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # No cascade: a tenant's history outlives everything else about it.
    Column("tenant", String(40), ForeignKey("tenants.name"), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("from_state", String(16), nullable=True),
    Column("to_state", String(16), nullable=False),
    Column("operator", String(64), nullable=False),
    Column("reason", Text, nullable=True),
    Index(None, "tenant", "id"),
)

tenant_secrets = Table(
    "tenant_secrets",
    metadata,
    Column("tenant", String(40), ForeignKey("tenants.name", ondelete="CASCADE"), nullable=False),
    Column("kind", String(32), nullable=False),
    # Sealed with the region's key; destroying the row is the crypto-shredding of a purge.
    Column("sealed", Text, nullable=False),
    PrimaryKeyConstraint("tenant", "kind"),
)

operators = Table(
    "operators",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("added_by", String(64), nullable=True),
    Column("added_at", UtcDateTime(), nullable=False),
    Column("active", Boolean(), nullable=False),
    Column("version", Integer, nullable=False, server_default=text("1")),
    Column("changed_by", String(64), nullable=True),
    Column("changed_at", UtcDateTime(), nullable=True),
)

operator_roles = Table(
    "operator_roles",
    metadata,
    Column(
        "operator", String(64), ForeignKey("operators.name", ondelete="CASCADE"), nullable=False
    ),
    Column("role", String(32), nullable=False),
    PrimaryKeyConstraint("operator", "role"),
)

approvals = Table(
    "approvals",
    metadata,
    # An approval id is never reused, the ops log refers to it: on SQLite the table is
    # AUTOINCREMENT (migration 0001). Not repeated here: the option would load SQLAlchemy's
    # SQLite dialect into every PostgreSQL run (≈ 5 ms of each command's start).
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("action", String(64), nullable=False),
    Column("target", Text, nullable=False),
    Column("params", Text, nullable=False),
    Column("requested_by", String(64), nullable=False),
    Column("requested_at", UtcDateTime(), nullable=False),
    Column("state", String(16), nullable=False),
    Column("decided_by", String(64), nullable=True),
    Column("decided_at", UtcDateTime(), nullable=True),
    Column("reason", Text, nullable=True),
    Column("version", Integer, nullable=False, server_default=text("1")),
    CheckConstraint(f"state IN {APPROVAL_STATES!r}", name="state"),
)

opslog = Table(
    "opslog",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    # Text, not a timestamp: the exact string the HMAC covers.
    Column("at", Text, nullable=False),
    Column("operator", String(64), nullable=False),
    Column("os_account", String(64), nullable=False),
    Column("ssh_origin", Text, nullable=True),
    Column("session_id", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", Text, nullable=False),
    Column("params", Text, nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("approval_id", Integer, nullable=True),
    Column("prev_hash", Text, nullable=False),
    Column("hmac", Text, nullable=False),
    Index(None, "approval_id"),
)

opslog_head = Table(
    "opslog_head",
    metadata,
    # One row (id 1), created by the first migration, so appenders always have a row to lock.
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hmac", Text, nullable=False),
    Column("signature", Text, nullable=False),
    CheckConstraint("id = 1", name="single_row"),
)

backups = Table(
    "backups",
    metadata,
    # An index of the region stores, whose signed manifests are the truth: `backup list`
    # indexes manifests found there and reports rows whose manifest has vanished. No foreign
    # key to tenants: a store may hold backups the catalog has to learn about again.
    Column("id", String(40), primary_key=True),
    Column("tenant", String(40), nullable=False),
    Column("region", String(16), nullable=False),
    Column("cluster", String(40), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime(), nullable=False),
    Column("plaintext_size", BigInteger, nullable=False),
    Column("ciphertext_size", BigInteger, nullable=False),
    Column("ciphertext_sha256", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("pruned_at", UtcDateTime(), nullable=True),
    # The signed manifest's content as JSON (no payload, no secret).
    Column("manifest", Text, nullable=False),
    CheckConstraint(f"state IN {BACKUP_STATES!r}", name="state"),
    Index(None, "tenant", "created_at"),
)

backup_verifications = Table(
    "backup_verifications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("backup_id", String(40), ForeignKey("backups.id"), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("level", String(16), nullable=False),
    Column("ok", Boolean(), nullable=False),
    Column("detail", Text, nullable=False),
    Column("operator", String(64), nullable=False),
    CheckConstraint(f"level IN {VERIFY_LEVELS!r}", name="level"),
    Index(None, "backup_id", "at"),
)

catalog_meta = Table(
    "catalog_meta",
    metadata,
    # Facts fixed when the catalog is created: its mode (sandbox or production) above all.
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

policy = Table(
    "policy",
    metadata,
    # The security policy of a production catalog, one JSON value per key: what a config
    # cannot change (four-eyes actions and approvers, approval lifetime, retention, legal
    # holds, session limits). Changed only by `policy set`, itself four-eyes.
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("set_by", String(64), nullable=False),
    Column("set_at", UtcDateTime(), nullable=False),
    Column("approval_id", Integer, nullable=True),
)

# -- partners (migration 0005): dates are calendar dates in UTC ---------------------------

partners = Table(
    "partners",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("legal_name", Text, nullable=False),
    # "sales", "expert" or "expert,sales"; tags, countries and regions comma-separated, sorted.
    Column("kinds", String(32), nullable=False),
    Column("expertise", Text, nullable=False),
    Column("countries", Text, nullable=False),
    Column("regions", Text, nullable=False),
    Column("contact_name", Text, nullable=True),
    Column("contact_email", Text, nullable=True),
    Column("contact_phone", Text, nullable=True),
    Column("status", String(16), nullable=False),
    Column("status_reason", Text, nullable=True),
    Column("review_due", Date, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("updated_by", String(64), nullable=False),
    CheckConstraint(f"status IN {PARTNER_STATUSES!r}", name="status"),
)

partner_agreements = Table(
    "partner_agreements",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("partner", String(40), ForeignKey("partners.name"), nullable=False),
    Column("reference", String(80), nullable=False),
    Column("signed_on", Date, nullable=False),
    Column("effective_from", Date, nullable=False),
    # The last day in force, inclusive; none: open-ended.
    Column("expires_on", Date, nullable=True),
    Column("document_sha256", String(64), nullable=True),
    Column("status", String(16), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("ended_at", UtcDateTime(), nullable=True),
    Column("ended_by", String(64), nullable=True),
    Column("end_reason", Text, nullable=True),
    CheckConstraint(f"status IN {AGREEMENT_STATUSES!r}", name="status"),
    Index(None, "partner", "reference", unique=True),
)

partner_reviews = Table(
    "partner_reviews",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("partner", String(40), ForeignKey("partners.name"), nullable=False),
    Column("reviewed_on", Date, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("notes", Text, nullable=True),
    Column("next_due", Date, nullable=False),
    Column("reviewed_by", String(64), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    CheckConstraint(f"outcome IN {REVIEW_OUTCOMES!r}", name="outcome"),
    Index(None, "partner", "id"),
)

partner_assignments = Table(
    "partner_assignments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("partner", String(40), ForeignKey("partners.name"), nullable=False),
    # No cascade: the history outlives the tenant (a purge keeps its tombstone).
    Column("tenant", String(40), ForeignKey("tenants.name"), nullable=False),
    Column("role", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("assigned_by", String(64), nullable=False),
    Column("assigned_at", UtcDateTime(), nullable=False),
    Column("ended_at", UtcDateTime(), nullable=True),
    Column("ended_by", String(64), nullable=True),
    Column("end_reason", Text, nullable=True),
    CheckConstraint(f"role IN {PARTNER_ROLES!r}", name="role"),
    Index(None, "tenant", "ended_at"),
    Index(None, "partner", "ended_at"),
)

partner_shares = Table(
    "partner_shares",
    metadata,
    # Who shared which tenant's contact card with which partner, and why: never the card.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("partner", String(40), ForeignKey("partners.name"), nullable=False),
    Column("tenant", String(40), ForeignKey("tenants.name"), nullable=False),
    Column("reason", Text, nullable=False),
    Column("shared_by", String(64), nullable=False),
    Column("shared_at", UtcDateTime(), nullable=False),
    Index(None, "tenant", "id"),
    Index(None, "partner", "id"),
)

# -- incidents (migration 0006), breach notices (0007), billing (0008) and operational notices
# (0011): their own modules, on this metadata
from aptien_ops.backends import (  # noqa: E402 - they define their tables on this metadata
    catalog_billing,  # noqa: F401
    catalog_incidents,  # noqa: F401
    catalog_op_notices,  # noqa: F401
    catalog_outbox,  # noqa: F401
)
