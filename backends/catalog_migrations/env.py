"""Alembic environment of the catalog.

The adapter (``backends.sql_catalog``) runs ``upgrade head`` programmatically and hands its own
connection, already inside the transaction that holds the schema lock, in
``config.attributes["connection"]``; the migration then commits or rolls back with it.

A developer writing a new revision runs Alembic by hand without an ini file, e.g.::

    python -c 'from alembic.config import Config; from alembic import command; \
c = Config(); c.set_main_option("script_location", "backends/catalog_migrations"); \
c.set_main_option("sqlalchemy.url", "sqlite:////tmp/cat.db"); \
command.revision(c, "add partners", rev_id="0002", autogenerate=True)'
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection

from aptien_ops.backends.catalog_schema import metadata


def _mark_migrating(connection: Connection) -> None:
    """Let the ops log's append-only trigger (revision 0004) through, for this transaction only.

    Any session may set the variable: it keeps the owner from rewriting the log by accident,
    while the runtime role is kept out by its privileges, which no setting changes.
    """
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL aptien_ops.migrating = 'on'")


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_migrations_offline() -> None:
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    shared = context.config.attributes.get("connection")
    if shared is not None:
        _configure(shared)
        with context.begin_transaction():
            _mark_migrating(shared)
            context.run_migrations()
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("set sqlalchemy.url (or pass a connection in config.attributes)")
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            _configure(connection)
            with context.begin_transaction():
                _mark_migrating(connection)
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
