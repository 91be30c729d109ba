"""The job queue: procrastinate's tables and functions in a schema of their own
(``procrastinate``) of a PostgreSQL catalog. A SQLite catalog (the sandbox) has no job queue:
its fleet work runs in-process, so this revision changes nothing there.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05

The DDL is procrastinate's own, read from the exactly pinned package (pyproject.toml): the
queue's functions and the worker that calls them must be of one version. A later procrastinate
needs a new revision that applies its ``sql/migrations`` scripts from this version on.
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

#: The schema the queue lives in; the queue's connections put it first on their search path.
JOBS_SCHEMA = "procrastinate"
#: The procrastinate version whose schema this revision applies.
PROCRASTINATE_VERSION = "3.10.0"


def _queue_ddl() -> str:
    from importlib import metadata

    from procrastinate.schema import SchemaManager

    installed = metadata.version("procrastinate")
    if installed != PROCRASTINATE_VERSION:
        raise RuntimeError(
            f"catalog revision 0012 applies procrastinate {PROCRASTINATE_VERSION}'s schema,"
            f" but {installed} is installed (reinstall aptien-ops: ./scripts/bootstrap)"
        )
    return SchemaManager.get_schema()


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    ddl = _queue_ddl()
    # The queue's names are unqualified: created with the schema first on the search path,
    # then the catalog's own path back for the rest of this transaction (alembic_version).
    saved = bind.exec_driver_sql("SELECT current_setting('search_path')").scalar()
    bind.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {JOBS_SCHEMA}")
    bind.exec_driver_sql(f"SET LOCAL search_path TO {JOBS_SCHEMA}")
    # Driver-level, no parameters: the DDL's own % signs are not placeholders.
    bind.connection.driver_connection.execute(ddl)  # type: ignore[union-attr]
    bind.exec_driver_sql("SELECT set_config('search_path', %(path)s, true)", {"path": saved})


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql(f"DROP SCHEMA IF EXISTS {JOBS_SCHEMA} CASCADE")
