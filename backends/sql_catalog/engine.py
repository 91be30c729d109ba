"""The catalog on SQLite or PostgreSQL through SQLAlchemy Core: engine, schema, transactions.

Alembic is imported only when the schema must be created or upgraded: the fast path of
``ensure_schema`` is one ``SELECT`` on ``alembic_version``, which keeps scripted commands close
to the import floor of ``sqlalchemy`` + the driver. ``sqlalchemy.orm`` is never imported.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import column, create_engine, event, func, select, table
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.pool import NullPool, QueuePool, StaticPool

from aptien_ops.backends import catalog_schema as s
from aptien_ops.backends.sql_catalog import errors, run_lock
from aptien_ops.backends.sql_catalog.errors import (
    INSUFFICIENT_PRIVILEGE,
    short_reason,
    sqlstate,
    translate_error,
)
from aptien_ops.backends.sql_catalog.install import postgres_install, schema_state
from aptien_ops.backends.sql_catalog.roles import ROLES_DOC, grant_runtime_privileges
from aptien_ops.backends.sql_catalog.sqlite_session import (
    relaxed_sync,
    sqlite_on_begin,
    sqlite_on_connect,
)
from aptien_ops.backends.sql_catalog.tx import SqlCatalogTx
from aptien_ops.config import CatalogSettings
from aptien_ops.domain import CatalogInfo, CatalogInstall, SchemaState
from aptien_ops.errors import ConfigError, Conflict, OpsError, Unavailable
from aptien_ops.ports import Catalog, CatalogProbe

MIGRATIONS_DIR = Path(__file__).parent.with_name("catalog_migrations")
_VERSION = table("alembic_version", column("version_num"))
#: What a runtime role that may not read ``alembic_version`` knows of the schema revision.
UNREADABLE = "(not readable by the runtime role)"
_PG_CONNECT_ARGS = {"connect_timeout": 10, "application_name": "aptien-ops"}


def _pg_connect_args(url: URL) -> dict[str, Any]:
    """The defaults above, except where the catalog's URL says otherwise (e.g.
    ``?connect_timeout=30`` for a catalog across a slow link)."""
    return {k: v for k, v in _PG_CONNECT_ARGS.items() if k not in url.query}


class SqlCatalog:
    """The catalog behind a SQLAlchemy URL (``sqlite:///…`` or ``postgresql+psycopg://…``)."""

    url_for_display: str

    def __init__(self, settings: CatalogSettings) -> None:
        """Build the engine; no connection is made yet.

        Raises:
            ConfigError: the URL is malformed, names an unsupported backend, or the password
                file/variable cannot be read.
        """
        try:
            url = make_url(settings.url)
        except sa_exc.ArgumentError as exc:
            raise ConfigError(f"catalog.url: {short_reason(exc)}") from None
        self._secret = settings.password.read()
        if self._secret:
            url = url.set(password=self._secret)
        self._url = url
        self._owner, self._owner_password = settings.owner, settings.owner_password
        if self._owner is not None and not url.username:
            raise ConfigError("catalog.url: must name the runtime role when catalog.owner is set")
        self.url_for_display = url.render_as_string(hide_password=True)
        self.dialect = url.get_backend_name()
        self.sqlite_path: Path | None = None
        try:
            if self.dialect == "sqlite":
                database = url.database
                if database and database != ":memory:":
                    self.sqlite_path = Path(database)
                if self.sqlite_path is not None:
                    # One pooled connection: opening one costs its PRAGMAs and, on the
                    # last close, a WAL checkpoint — ≈ 10 ms per transaction, 9 of them per
                    # provisioned tenant. A connection is used by one thread at a time.
                    self._engine = create_engine(
                        url,
                        poolclass=QueuePool,
                        pool_size=1,
                        max_overflow=7,
                        connect_args={"check_same_thread": False},
                    )
                else:  # one shared in-memory database, for throwaway use
                    self._engine = create_engine(
                        url, poolclass=StaticPool, connect_args={"check_same_thread": False}
                    )
                event.listen(self._engine, "connect", sqlite_on_connect)
                event.listen(self._engine, "begin", sqlite_on_begin)
            elif self.dialect == "postgresql":
                self._engine = create_engine(
                    url,
                    pool_size=2,
                    max_overflow=4,
                    pool_pre_ping=True,
                    connect_args=_pg_connect_args(self._url),
                )
            else:
                raise ConfigError(
                    f"catalog.url: unsupported database {self.dialect!r}; use sqlite or postgresql"
                )
        except (sa_exc.ArgumentError, sa_exc.NoSuchModuleError) as exc:
            raise ConfigError(f"catalog.url: {short_reason(exc)}") from None

    def _error(self, exc: sa_exc.SQLAlchemyError) -> OpsError:
        return translate_error(exc, self.url_for_display, self._secret)

    # ------------------------------------------------------------------ schema

    def ensure_schema(self) -> CatalogInfo:
        """Create or upgrade the schema to :data:`SCHEMA_HEAD`; one SELECT when it is current.

        With ``catalog.owner`` set, the owner runs the migration (its password is read only
        then) and grants the runtime role its privileges; a runtime role that may not read
        ``alembic_version`` gets them again the same way.

        Raises:
            Conflict: the catalog was written by a newer aptien-ops; the schema is behind and
                the catalog role may not upgrade it (no owner configured); a catalog table
                belongs to another role than the owner.
            ConfigError: the owner's password file or variable cannot be read.
            Unavailable: the catalog cannot be reached (or its directory cannot be created).
        """
        if self.sqlite_path is not None:
            self._prepare_sqlite_file(self.sqlite_path)
        try:
            with self._engine.connect() as conn:
                if self._stored_revision(conn, owned=self._owner is not None) == s.SCHEMA_HEAD:
                    return CatalogInfo(schema_revision=s.SCHEMA_HEAD)
                conn.rollback()
                if self._owner is None:
                    return self._upgrade(conn)
        except sa_exc.SQLAlchemyError as exc:
            raise self._error(exc) from None
        return self._upgrade_as_owner(self._owner)

    def _prepare_sqlite_file(self, path: Path) -> None:
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # Created private up front: the catalog holds contacts; -wal/-shm inherit the mode.
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            pass
        except OSError as exc:
            raise Unavailable(
                f"cannot reach the catalog at {self.url_for_display}: "
                f"cannot create {path}: {exc.strerror}"
            ) from None

    def _upgrade_as_owner(self, owner: str) -> CatalogInfo:
        """Run :meth:`_upgrade` on a connection of its own as ``owner``, then grant."""
        try:
            secret = self._owner_password.read()
        except ConfigError as exc:
            raise ConfigError(
                f"catalog.owner_password: {exc.message}",
                hint=f"the catalog's schema must be created or upgraded by its owner {owner}",
            ) from None
        url = self._url.set(username=owner, password=secret)
        display = url.render_as_string(hide_password=True)
        engine = create_engine(url, poolclass=NullPool, connect_args=_pg_connect_args(url))
        try:
            with engine.connect() as conn:
                info = self._upgrade(conn, grant_to=self._url.username)
        except sa_exc.SQLAlchemyError as exc:
            raise translate_error(exc, display, secret) from None
        finally:
            engine.dispose()
        note = f"granted the runtime role {self._url.username} its privileges as the owner {owner}"
        return replace(info, notes=[*info.notes, note])

    def _needs_owner(self, stored: str | None) -> Conflict:
        return Conflict(
            f"the catalog schema is at revision {stored or 'none (a new catalog)'} and this"
            f" aptien-ops needs {s.SCHEMA_HEAD}, but the catalog role {self._url.username}"
            " may not change the schema",
            hint="configure catalog.owner and owner_password_file: the next command upgrades"
            f" it as the owner ({ROLES_DOC})",
        )

    def _upgrade(self, conn: Connection, *, grant_to: str | None = None) -> CatalogInfo:
        # Alembic is imported here only: the fast path must not pay for it.
        from alembic import command
        from alembic.config import Config
        from alembic.script import ScriptDirectory
        from sqlalchemy import inspect

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
        known = {rev.revision for rev in ScriptDirectory.from_config(config).walk_revisions()}
        if self.dialect == "sqlite":
            conn.execution_options(aptien_write=True)
        with conn.begin():
            # Serialise concurrent first runs; the loser then finds the schema current.
            if self.dialect == "postgresql":
                conn.execute(select(func.pg_advisory_xact_lock(s.SCHEMA_LOCK_KEY)))
            stored = (
                self._stored_revision(conn) if inspect(conn).has_table("alembic_version") else None
            )
            if stored is not None and stored not in known:
                raise Conflict(
                    f"the catalog schema (revision {stored}) is newer than this aptien-ops "
                    f"(revision {s.SCHEMA_HEAD})",
                    hint="upgrade aptien-ops before using this catalog",
                )
            if stored != s.SCHEMA_HEAD:
                config.attributes["connection"] = conn
                try:
                    command.upgrade(config, s.SCHEMA_HEAD)
                except sa_exc.DBAPIError as exc:
                    if grant_to is None and sqlstate(exc) == INSUFFICIENT_PRIVILEGE:
                        raise self._needs_owner(stored) from None
                    raise
            if grant_to is not None:
                grant_runtime_privileges(conn, grant_to)
        if stored == s.SCHEMA_HEAD:
            return CatalogInfo(schema_revision=s.SCHEMA_HEAD)
        if stored is None:
            return CatalogInfo(schema_revision=s.SCHEMA_HEAD, created=True)
        return CatalogInfo(
            s.SCHEMA_HEAD,
            notes=[f"upgraded the catalog schema from revision {stored} to {s.SCHEMA_HEAD}"],
        )

    @staticmethod
    def _stored_revision(conn: Connection, *, owned: bool = False) -> str | None:
        """The schema revision; None before the first migration.

        With ``owned``, a runtime role that may not read it gets :data:`UNREADABLE` (so
        the owner grants again) instead of the refusal.
        """
        try:
            return conn.execute(select(_VERSION.c.version_num)).scalar()
        except (sa_exc.OperationalError, sa_exc.ProgrammingError) as exc:
            if owned and sqlstate(exc) == INSUFFICIENT_PRIVILEGE:
                return UNREADABLE
            if sqlstate(exc) != "42P01" and "no such table" not in str(exc.orig):
                raise
            return None

    # ------------------------------------------------------------------ transactions

    @contextmanager
    def _transaction(self, *, write: bool, durable: bool = True) -> Iterator[SqlCatalogTx]:
        try:
            with self._engine.connect() as conn:
                if self.dialect == "sqlite":
                    conn.execution_options(aptien_write=write)
                elif not write:
                    conn.execution_options(postgresql_readonly=True)
                tx = SqlCatalogTx(conn, dialect=self.dialect, error=self._error)
                with relaxed_sync(conn, relax=not durable and self.sqlite_path is not None):
                    with conn.begin():
                        if write and self.dialect == "postgresql":
                            # As SQLite's busy_timeout: a lock held elsewhere ends it as busy.
                            wait = int(errors.CATALOG_LOCK_WAIT_S * 1000)
                            conn.exec_driver_sql(f"SET LOCAL lock_timeout = {wait}")
                            if not durable:  # LOCAL: the session's setting is back at the end
                                conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
                        yield tx
                if tx.shred_after_commit:
                    self._shred(conn)
        except sa_exc.SQLAlchemyError as exc:
            raise self._error(exc) from None

    def _shred(self, conn: Connection) -> None:
        """Scrub destroyed secrets from the catalog's files, as far as the database allows.

        SQLite zeroes deleted content (``secure_delete``); the checkpoint then writes those
        pages home and empties the WAL. PostgreSQL keeps dead row versions until a vacuum:
        ``VACUUM FULL`` rewrites the (small) secrets table into a new file. Older WAL segments
        and backups of the catalog itself are outside the console's reach.
        Runs again whenever a secret is destroyed, so rerunning a purge completes it.
        """
        if self.dialect == "sqlite":
            raw = conn.connection.driver_connection
            if raw is not None:
                raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return
        with self._engine.connect() as vacuum:
            try:
                vacuum.execution_options(isolation_level="AUTOCOMMIT")
                # A lock wait ends as busy (exit 6): rerunning the purge shreds again.
                vacuum.exec_driver_sql("SET lock_timeout = '10s'")
                name = vacuum.dialect.identifier_preparer.quote(s.tenant_secrets.name)
                vacuum.exec_driver_sql(f"VACUUM (FULL) {name}")
            finally:
                # Never back into the pool with this session's lock_timeout.
                vacuum.invalidate()

    def transaction(self, *, durable: bool = True) -> AbstractContextManager[SqlCatalogTx]:
        """A read-write transaction: commits on success, rolls back on any exception.

        On SQLite it is ``BEGIN IMMEDIATE``: the write lock is taken at once, so writers queue
        instead of failing. A lock another process holds for longer than
        ``errors.CATALOG_LOCK_WAIT_S`` (SQLite's ``busy_timeout``, PostgreSQL's
        ``lock_timeout``) ends it as Unavailable ("busy").

        ``durable=False`` (the notice outbox's marks only; see the port): SQLite commits at
        ``synchronous = NORMAL`` in WAL mode, PostgreSQL with ``SET LOCAL synchronous_commit =
        off``. Either survives a killed process; an OS crash or power cut (SQLite) or a server
        crash (PostgreSQL, the last few hundred ms) may lose the last commits. The connection's
        normal setting is back before it returns to the pool.

        Raises:
            Unavailable (unreachable or busy), Conflict (a lost race; on begin or commit, and
            from every tx method).
        """
        return self._transaction(write=True, durable=durable)

    def exclusive(self, name: str) -> AbstractContextManager[None]:
        """Hold the lock ``name`` for the block (see ``run_lock``). Raises: Conflict (another
        run holds it), Unavailable."""
        return run_lock.exclusive(self._engine, self.dialect, self.sqlite_path, name)

    def read(self) -> AbstractContextManager[SqlCatalogTx]:
        """A read-only transaction (``BEGIN`` on SQLite, ``READ ONLY`` on PostgreSQL).

        Raises:
            Unavailable.
        """
        return self._transaction(write=False)

    def install_state(self) -> CatalogInstall:
        """The schema's revision and, on PostgreSQL, what the runtime role may do to the ops log
        and whether its append-only triggers are there, read as they are: nothing is created
        (not even a SQLite catalog's file), upgraded or granted.

        Raises: Unavailable.
        """
        if self.sqlite_path is not None and not self.sqlite_path.exists():
            return CatalogInstall("sqlite", SchemaState.NONE, None, s.SCHEMA_HEAD)
        try:
            with self._engine.connect() as conn:
                stored = self._stored_revision(conn, owned=True)
                conn.rollback()  # a refused read leaves PostgreSQL's transaction aborted
                state = SchemaState.UNREADABLE if stored == UNREADABLE else schema_state(stored)
                stored = None if stored == UNREADABLE else stored
                if self.dialect != "postgresql":
                    return CatalogInstall(self.dialect, state, stored, s.SCHEMA_HEAD)
                return postgres_install(conn, stored, state, self._url.username)
        except sa_exc.SQLAlchemyError as exc:
            raise self._error(exc) from None

    def dispose(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()


_: type[Catalog] = SqlCatalog
__: type[CatalogProbe] = SqlCatalog
