"""The job queue: why a job failed, by job (its last failure), for ``jobs show`` and
``jobs list``; procrastinate's own tables keep no reason. A table of ours in the queue's
schema (``procrastinate``), whose tables the runtime role is granted with the rest; a
finished job's row goes with it. A SQLite catalog has no queue: nothing changes there.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05

Frozen DDL (never imports backends.catalog_schema).
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    bind.exec_driver_sql(
        "CREATE TABLE procrastinate.aptien_job_failures ("
        " job_id bigint PRIMARY KEY"
        "  REFERENCES procrastinate.procrastinate_jobs (id) ON DELETE CASCADE,"
        " failed_at timestamptz NOT NULL DEFAULT now(),"
        " reason text NOT NULL)"
    )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql("DROP TABLE IF EXISTS procrastinate.aptien_job_failures")
