"""The ops log becomes append-only in the database itself (PostgreSQL).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-10

A trigger refuses every UPDATE, DELETE and TRUNCATE of ``opslog``, and every DELETE and
TRUNCATE of ``opslog_head`` (the head moves, it is never removed), whoever runs them, the
tables' owner included, unless the transaction is a catalog migration: ``env.py`` sets
``aptien_ops.migrating`` for its own transaction. The runtime role is kept out by privileges
(``backends/sql_catalog/roles.py``); the trigger guards against the owner's slips. The owner
can drop it, so the witness outside the catalog, not this trigger, is what detects an owner
rewriting history.

SQLite gets no trigger: a SQLite catalog is a sandbox, one person's playground, and whoever
can write its file can drop a trigger as easily as a row.

Frozen DDL (never imports backends.catalog_schema).
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

FUNCTION = "aptien_ops_append_only"
REFUSE = f"""
CREATE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('aptien_ops.migrating', true) = 'on' THEN
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% is append-only: % is refused outside a catalog migration',
        TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege', TABLE = TG_TABLE_NAME,
              HINT = 'the ops log is only ever appended to; see docs/production.md';
END
$$
"""
#: (trigger name, table, events, level)
TRIGGERS = (
    ("opslog_no_rewrite", "opslog", "UPDATE OR DELETE", "ROW"),
    ("opslog_no_truncate", "opslog", "TRUNCATE", "STATEMENT"),
    ("opslog_head_kept", "opslog_head", "DELETE", "ROW"),
    ("opslog_head_no_truncate", "opslog_head", "TRUNCATE", "STATEMENT"),
)


def _postgresql() -> bool:
    return bool(op.get_bind().dialect.name == "postgresql")


def upgrade() -> None:
    if not _postgresql():
        return
    op.execute(REFUSE)
    for name, table, events, level in TRIGGERS:
        op.execute(
            f"CREATE TRIGGER {name} BEFORE {events} ON {table}"
            f" FOR EACH {level} EXECUTE FUNCTION {FUNCTION}()"
        )


def downgrade() -> None:
    if not _postgresql():
        return
    for name, table, _events, _level in TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON {table}")
    op.execute(f"DROP FUNCTION {FUNCTION}()")
