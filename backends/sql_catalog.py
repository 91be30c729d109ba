"""The catalog (control-plane database) on SQLite or PostgreSQL, through SQLAlchemy Core.

Implements :class:`aptien_ops.ports.Catalog`. Driver and SQLAlchemy exceptions are translated
at this module's edge into the console's errors; none ever reaches a caller.

Alembic is imported only when the schema must be created or upgraded: the fast path of
``ensure_schema`` is one ``SELECT`` on ``alembic_version``, which keeps scripted commands close
to the import floor of ``sqlalchemy`` + the driver. ``sqlalchemy.orm`` is never imported.
"""

from __future__ import annotations

import gc
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import fields
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import (
    Text,
    case,
    cast,
    column,
    create_engine,
    delete,
    event,
    func,
    insert,
    literal,
    select,
    table,
    type_coerce,
    update,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.pool import QueuePool, StaticPool
from sqlalchemy.sql import ColumnElement

from aptien_ops.backends import catalog_schema as s
from aptien_ops.backup_policy import BackupRecord, manifest_from_json
from aptien_ops.config import CatalogSettings
from aptien_ops.domain import (
    Approval,
    ApprovalState,
    CatalogInfo,
    ClusterLoad,
    Operator,
    OpsLogEntry,
    OpsLogHead,
    StateChange,
    StepRecord,
    Tenant,
    TenantCount,
    TenantState,
    VerifyResult,
    iso,
    utcnow,
)
from aptien_ops.errors import ConfigError, Conflict, InternalError, NotFound, OpsError, Unavailable

MIGRATIONS_DIR = Path(__file__).with_name("catalog_migrations")
RACE = "lost a race with another operator; run the command again"
_VERSION = table("alembic_version", column("version_num"))
_PG_ISO = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'
_PG_ISO_WHOLE = 'YYYY-MM-DD"T"HH24:MI:SS"Z"'
# SQLite messages that mean a bug (or a foreign file), not an unreachable catalog.
_SQLITE_BUGS = (
    "no such table",
    "no such column",
    "syntax error",
    "has no column",
    "already exists",
)
#: The tenants columns in ``Tenant``'s field order; the JSON ones in ``Tenant.as_json()``'s.
_TENANT_COLUMNS = tuple(s.tenants.c[f.name] for f in fields(Tenant))
_TENANT_FIELDS = frozenset(f.name for f in fields(Tenant)) - {"name"}
_TENANT_JSON_KEYS = (
    "name",
    "country",
    "region",
    "cluster",
    "state",
    "contact_name",
    "contact_email",
    "created_at",
    "updated_at",
    "schema_version",
    "state_reason",
    "retain_until",
    "purged_at",
    "backup_recipient",
)
_TENANT_JSON_COLUMNS = tuple(s.tenants.c[key] for key in _TENANT_JSON_KEYS)

P = ParamSpec("P")
R = TypeVar("R")


def _short_reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0].strip() if text else type(exc).__name__


def translate_error(exc: sa_exc.SQLAlchemyError, where: str, secret: str | None = None) -> OpsError:
    """The console error for a SQLAlchemy/driver exception; ``where`` is the display URL."""
    reason = _short_reason(exc)
    if secret:
        reason = reason.replace(secret, "***")
    if isinstance(exc, sa_exc.DBAPIError):
        state = getattr(exc.orig, "sqlstate", None) or ""
        lowered = reason.lower()
        if state in ("40001", "40P01", "55P03") or "locked" in lowered:
            return Conflict(RACE)
        if isinstance(exc, sa_exc.IntegrityError) or state.startswith("23"):
            return Conflict(f"the catalog refused a conflicting change: {reason}")
        if exc.connection_invalidated or state.startswith(("08", "53", "57P", "58")):
            return Unavailable(f"cannot reach the catalog at {where}: {reason}")
        sqlite = exc.orig is not None and type(exc.orig).__module__.startswith("sqlite3")
        if sqlite and not any(bug in lowered for bug in _SQLITE_BUGS):
            return Unavailable(f"cannot reach the catalog at {where}: {reason}")
        # psycopg reports a failed connection as OperationalError without an SQLSTATE.
        if (
            not sqlite
            and not state
            and isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError)
        ):
            return Unavailable(f"cannot reach the catalog at {where}: {reason}")
        return InternalError(f"catalog error: {reason}")
    if isinstance(exc, sa_exc.TimeoutError):
        return Unavailable(f"cannot reach the catalog at {where}: {reason}")
    if isinstance(exc, sa_exc.ArgumentError):
        return ConfigError(f"catalog.url: {reason}")
    return InternalError(f"catalog error: {reason}")


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    # Take BEGIN away from pysqlite so that _sqlite_on_begin decides DEFERRED vs IMMEDIATE
    # (SQLAlchemy's documented recipe for SQLite transactions).
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA busy_timeout = 10000")
    cursor.execute("PRAGMA foreign_keys = ON")
    # Deleted rows are zeroed, not left in free pages: sealed secrets are crypto-shredded.
    cursor.execute("PRAGMA secure_delete = ON")
    try:
        if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            _switch_to_wal(cursor)
    finally:
        cursor.close()


def _switch_to_wal(cursor: Any) -> None:
    # Only a new catalog gets here. Switching needs the file to itself and SQLite does not
    # apply busy_timeout to it, so a second process opening the new file at the same moment
    # would fail at once with "database is locked": retry for as long as busy_timeout.
    deadline = time.monotonic() + 10
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _sqlite_on_begin(conn: Connection) -> None:
    # IMMEDIATE takes the write lock up front: two writers queue on busy_timeout instead of
    # failing when a read lock would have to be upgraded.
    immediate = conn.get_execution_options().get("aptien_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


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
            raise ConfigError(f"catalog.url: {_short_reason(exc)}") from None
        self._secret = settings.password.read()
        if self._secret:
            url = url.set(password=self._secret)
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
                event.listen(self._engine, "connect", _sqlite_on_connect)
                event.listen(self._engine, "begin", _sqlite_on_begin)
            elif self.dialect == "postgresql":
                self._engine = create_engine(
                    url,
                    pool_size=2,
                    max_overflow=4,
                    pool_pre_ping=True,
                    connect_args={"connect_timeout": 10, "application_name": "aptien-ops"},
                )
            else:
                raise ConfigError(
                    f"catalog.url: unsupported database {self.dialect!r}; use sqlite or postgresql"
                )
        except (sa_exc.ArgumentError, sa_exc.NoSuchModuleError) as exc:
            raise ConfigError(f"catalog.url: {_short_reason(exc)}") from None

    def _error(self, exc: sa_exc.SQLAlchemyError) -> OpsError:
        return translate_error(exc, self.url_for_display, self._secret)

    # ------------------------------------------------------------------ schema

    def ensure_schema(self) -> CatalogInfo:
        """Create or upgrade the schema to :data:`SCHEMA_HEAD`; one SELECT when it is current.

        Raises:
            Conflict: the catalog was written by a newer aptien-ops.
            Unavailable: the catalog cannot be reached (or its directory cannot be created).
        """
        if self.sqlite_path is not None:
            self._prepare_sqlite_file(self.sqlite_path)
        try:
            with self._engine.connect() as conn:
                if self._stored_revision(conn) == s.SCHEMA_HEAD:
                    return CatalogInfo(schema_revision=s.SCHEMA_HEAD)
                conn.rollback()
                return self._upgrade(conn)
        except sa_exc.SQLAlchemyError as exc:
            raise self._error(exc) from None

    def _prepare_sqlite_file(self, path: Path) -> None:
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # Created private up front: the catalog holds contacts; -wal/-shm inherit the mode.
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            pass
        except OSError as exc:
            raise Unavailable(
                f"cannot reach the catalog at {self.url_for_display}: cannot create {path}: {exc.strerror}"
            ) from None

    def _upgrade(self, conn: Connection) -> CatalogInfo:
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
            if stored == s.SCHEMA_HEAD:
                return CatalogInfo(schema_revision=s.SCHEMA_HEAD)
            if stored is not None and stored not in known:
                raise Conflict(
                    f"the catalog schema (revision {stored}) is newer than this aptien-ops (revision {s.SCHEMA_HEAD})",
                    hint="upgrade aptien-ops before using this catalog",
                )
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
        if stored is None:
            return CatalogInfo(schema_revision=s.SCHEMA_HEAD, created=True)
        return CatalogInfo(
            s.SCHEMA_HEAD,
            notes=[f"upgraded the catalog schema from revision {stored} to {s.SCHEMA_HEAD}"],
        )

    @staticmethod
    def _stored_revision(conn: Connection) -> str | None:
        try:
            return conn.execute(select(_VERSION.c.version_num)).scalar()
        except (sa_exc.OperationalError, sa_exc.ProgrammingError) as exc:
            missing = getattr(exc.orig, "sqlstate", None) == "42P01" or "no such table" in str(
                exc.orig
            )
            if not missing:
                raise
            return None

    # ------------------------------------------------------------------ transactions

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[SqlCatalogTx]:
        try:
            with self._engine.connect() as conn:
                if self.dialect == "sqlite":
                    conn.execution_options(aptien_write=write)
                elif not write:
                    conn.execution_options(postgresql_readonly=True)
                tx = SqlCatalogTx(conn, self)
                with conn.begin():
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
                # A lock wait ends as a lost race (exit 5): rerunning the purge shreds again.
                vacuum.exec_driver_sql("SET lock_timeout = '10s'")
                name = vacuum.dialect.identifier_preparer.quote(s.tenant_secrets.name)
                vacuum.exec_driver_sql(f"VACUUM (FULL) {name}")
            finally:
                # Never back into the pool with this session's lock_timeout.
                vacuum.invalidate()

    def transaction(self) -> AbstractContextManager[SqlCatalogTx]:
        """A read-write transaction: commits on success, rolls back on any exception.

        On SQLite it is ``BEGIN IMMEDIATE``, so writers queue (up to 10 s) instead of failing.

        Raises:
            Unavailable, Conflict (on begin or commit, and from every tx method).
        """
        return self._transaction(write=True)

    def read(self) -> AbstractContextManager[SqlCatalogTx]:
        """A read-only transaction (``BEGIN`` on SQLite, ``READ ONLY`` on PostgreSQL).

        Raises:
            Unavailable.
        """
        return self._transaction(write=False)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()


def _guarded(
    method: Callable[Concatenate[SqlCatalogTx, P], R],
) -> Callable[Concatenate[SqlCatalogTx, P], R]:
    """Translate SQLAlchemy/driver errors of a tx method into console errors, at the call."""

    @wraps(method)
    def wrapper(tx: SqlCatalogTx, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(tx, *args, **kwargs)
        except sa_exc.SQLAlchemyError as exc:
            raise tx.catalog._error(exc) from None

    return wrapper


class SqlCatalogTx:
    """One catalog transaction (implements :class:`aptien_ops.ports.CatalogTx`).

    Every method may raise ``Unavailable`` or ``Conflict``; none raises a driver exception.
    """

    def __init__(self, conn: Connection, catalog: SqlCatalog) -> None:
        self.conn = conn
        self.catalog = catalog
        self.shred_after_commit = False
        self._pg = catalog.dialect == "postgresql"

    # ------------------------------------------------------------------ tenants

    @staticmethod
    def _tenant_filter(stmt: Any, region: str | None, state: TenantState | None) -> Any:
        if region is not None:
            stmt = stmt.where(s.tenants.c.region == region)
        if state is not None:
            stmt = stmt.where(s.tenants.c.state == str(state))
        return stmt.order_by(s.tenants.c.name)

    @staticmethod
    def _tenant(row: Any) -> Tenant:
        # _TENANT_COLUMNS is in Tenant's field order, so the row maps on positionally.
        return Tenant(row[0], row[1], row[2], row[3], TenantState(row[4]), *row[5:])

    @_guarded
    def tenant(self, name: str, *, for_update: bool = False) -> Tenant | None:
        """The tenant, or None; ``for_update`` locks its row until commit (PostgreSQL)."""
        stmt = select(*_TENANT_COLUMNS).where(s.tenants.c.name == name)
        row = self.conn.execute(stmt.with_for_update() if for_update else stmt).first()
        return self._tenant(row) if row is not None else None

    @_guarded
    def tenants(
        self, *, region: str | None = None, state: TenantState | None = None
    ) -> list[Tenant]:
        rows = self.conn.execute(self._tenant_filter(select(*_TENANT_COLUMNS), region, state))
        return [self._tenant(row) for row in rows]

    def _iso_text(self, col: Any) -> ColumnElement[Any]:
        """``col`` as the text ``domain.iso()`` would print, computed by the database."""
        if self._pg:
            # One to_char per value, its pattern chosen by whether there is a fraction:
            # iso() drops a zero fraction (three to_char calls per value cost ~10% of the list).
            pattern = case((func.date_trunc("second", col) == col, _PG_ISO_WHOLE), else_=_PG_ISO)
            return func.to_char(func.timezone("UTC", col), pattern, type_=Text).label(col.name)
        text = type_coerce(col, Text)
        # Stored fixed-width "….ffffffZ"; iso() drops a zero fraction.
        whole = func.substr(text, 1, 19, type_=Text).concat("Z")
        return case((func.substr(text, 21, 6, type_=Text) == "000000", whole), else_=text).label(
            col.name
        )

    def _json_columns(self) -> list[Any]:
        """The columns of ``Tenant.as_json()``, timestamps rendered as its text by the database."""
        return [
            self._iso_text(c) if isinstance(c.type, s.UtcDateTime) else c
            for c in _TENANT_JSON_COLUMNS
        ]

    @_guarded
    def tenant_rows(
        self, *, region: str | None = None, state: TenantState | None = None
    ) -> list[dict[str, Any]]:
        """Tenants as JSON-ready dicts: the keys, order and values of ``Tenant.as_json()``.

        The hot path of ``tenant list --json``: the database renders the timestamps as text
        and the rows are never turned into ``Tenant`` objects.
        """
        result = self.conn.execute(
            self._tenant_filter(select(*self._json_columns()), region, state)
        )
        keys = _TENANT_JSON_KEYS
        # Tens of thousands of new acyclic objects would trigger several full collections
        # over everything SQLAlchemy allocated at import: half the time of this call.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            # Every column is already plain text/int/None: skip building Row objects.
            return [dict(zip(keys, row, strict=True)) for row in result.cursor.fetchall()]
        finally:
            result.close()
            if gc_was_enabled:
                gc.enable()

    @_guarded
    def tenant_rows_json(
        self, *, region: str | None = None, state: TenantState | None = None
    ) -> str:
        """``tenant_rows`` as one JSON array, ASCII only (non-ASCII as ``\\u`` escapes).

        The database writes each row's JSON object: on SQLite ``json_object`` and one
        ``group_concat`` (a quarter of the time of fetching rows, making dicts and encoding
        them here; it has no ORDER BY inside an aggregate and concatenates in the order of the
        sorted subquery, which it never flattens into an aggregate), on PostgreSQL
        ``row_to_json`` of the sorted rows (38 against 45 ms for 10,000 tenants;
        ``json_build_object`` with ``string_agg`` took 54).
        """
        if self._pg:
            rows = self._tenant_filter(select(*self._json_columns()), region, state).subquery("t")
            objects = select(cast(func.row_to_json(rows.table_valued()), Text)).order_by(
                rows.c.name
            )
            result = self.conn.execute(objects)
            try:
                text = ",".join(row[0] for row in result.cursor.fetchall())
            finally:
                result.close()
        else:
            pairs: list[Any] = []
            for key, col in zip(_TENANT_JSON_KEYS, self._json_columns(), strict=True):
                pairs += [literal(key), col]
            rows = self._tenant_filter(
                select(func.json_object(*pairs, type_=Text).label("o")), region, state
            ).subquery()
            text = self.conn.execute(select(func.group_concat(rows.c.o, ","))).scalar() or ""
        if not text.isascii():
            return json.dumps(json.loads(f"[{text}]"), ensure_ascii=True)
        return f"[{text}]"

    @_guarded
    def tenant_counts(self) -> list[TenantCount]:
        t = s.tenants.c
        stmt = (
            select(t.region, t.state, func.count())
            .group_by(t.region, t.state)
            .order_by(t.region, t.state)
        )
        return [
            TenantCount(region, TenantState(state), n)
            for region, state, n in self.conn.execute(stmt)
        ]

    @_guarded
    def cluster_loads(self) -> list[ClusterLoad]:
        """Live (not purged) tenants per cluster; clusters registered in the catalog show 0."""
        t = s.tenants.c
        stmt = (
            select(t.region, t.cluster, func.count())
            .where(t.cluster.is_not(None), t.state != str(TenantState.PURGED))
            .group_by(t.region, t.cluster)
        )
        loads = {(region, cluster): n for region, cluster, n in self.conn.execute(stmt)}
        for region, cluster in self.conn.execute(select(s.clusters.c.region, s.clusters.c.name)):
            loads.setdefault((region, cluster), 0)
        return [ClusterLoad(region, cluster, n) for (region, cluster), n in sorted(loads.items())]

    @_guarded
    def insert_tenant(self, tenant: Tenant) -> None:
        """Raises: Conflict if the name is taken."""
        values = {c.name: getattr(tenant, c.name) for c in _TENANT_COLUMNS}
        values["state"] = str(tenant.state)
        try:
            self.conn.execute(insert(s.tenants).values(values))
        except sa_exc.IntegrityError:
            raise Conflict(f"tenant {tenant.name!r} exists already") from None

    @_guarded
    def update_tenant(self, name: str, **changes: Any) -> None:
        """Set the given ``Tenant`` fields (``updated_at`` defaults to now).

        Raises: NotFound if there is no such tenant.
        """
        unknown = set(changes) - _TENANT_FIELDS
        if unknown:
            raise InternalError(f"update_tenant: unknown field {sorted(unknown)[0]!r}")
        if "state" in changes:
            changes["state"] = str(changes["state"])
        changes.setdefault("updated_at", utcnow())
        result = self.conn.execute(
            update(s.tenants).where(s.tenants.c.name == name).values(changes)
        )
        if result.rowcount == 0:
            raise NotFound(f"tenant {name!r} does not exist")

    def _upsert(self, table: Any) -> Any:
        # INSERT … ON CONFLICT is dialect-specific; the dialect module is loaded already.
        if self._pg:
            from sqlalchemy.dialects import postgresql

            return postgresql.insert(table)
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table)

    @_guarded
    def tenant_steps(self, name: str) -> list[StepRecord]:
        st = s.tenant_steps.c
        stmt = (
            select(st.step, st.done_at, st.detail)
            .where(st.tenant == name)
            .order_by(st.done_at, st.step)
        )
        return [StepRecord(*row) for row in self.conn.execute(stmt)]

    @_guarded
    def mark_step(self, name: str, step: str, at: datetime, detail: str | None = None) -> None:
        """Record a completed step; a step recorded already keeps its first record."""
        stmt = self._upsert(s.tenant_steps).values(
            tenant=name, step=step, done_at=at, detail=detail
        )
        self.conn.execute(stmt.on_conflict_do_nothing(index_elements=["tenant", "step"]))

    @_guarded
    def tenant_history(self, name: str) -> list[StateChange]:
        h = s.tenant_history.c
        stmt = (
            select(h.at, h.from_state, h.to_state, h.operator, h.reason)
            .where(h.tenant == name)
            .order_by(h.id)
        )
        return [StateChange(*row) for row in self.conn.execute(stmt)]

    @_guarded
    def add_state_change(self, name: str, change: StateChange) -> None:
        self.conn.execute(
            insert(s.tenant_history).values(
                tenant=name,
                at=change.at,
                from_state=change.from_state,
                to_state=change.to_state,
                operator=change.operator,
                reason=change.reason,
            )
        )

    @_guarded
    def tenant_secret(self, name: str, kind: str) -> str | None:
        sec = s.tenant_secrets.c
        stmt = select(sec.sealed).where(sec.tenant == name, sec.kind == kind)
        return self.conn.execute(stmt).scalar()

    @_guarded
    def set_tenant_secret(self, name: str, kind: str, sealed: str | None) -> None:
        """Store a sealed secret, or destroy it with None.

        Destroying (or replacing) one also scrubs the old value from the catalog's files after
        commit (see ``SqlCatalog._shred``), so a purge's crypto-shredding holds on disk too.
        """
        sec = s.tenant_secrets.c
        if sealed is None:
            self.conn.execute(delete(s.tenant_secrets).where(sec.tenant == name, sec.kind == kind))
            self.shred_after_commit = True
            return
        stmt = self._upsert(s.tenant_secrets).values(tenant=name, kind=kind, sealed=sealed)
        previous = self.tenant_secret(name, kind)
        self.conn.execute(
            stmt.on_conflict_do_update(index_elements=["tenant", "kind"], set_={"sealed": sealed})
        )
        if previous is not None and previous != sealed:
            self.shred_after_commit = True

    # ------------------------------------------------------------------ operators

    def _roles(self, name: str | None = None) -> dict[str, set[str]]:
        r = s.operator_roles.c
        stmt = select(r.operator, r.role)
        if name is not None:
            stmt = stmt.where(r.operator == name)
        roles: dict[str, set[str]] = {}
        for operator, role in self.conn.execute(stmt):
            roles.setdefault(operator, set()).add(role)
        return roles

    @staticmethod
    def _operator(row: Any, roles: dict[str, set[str]]) -> Operator:
        return Operator(
            row.name, frozenset(roles.get(row.name, ())), row.added_by, row.added_at, row.active
        )

    @_guarded
    def operator(self, name: str) -> Operator | None:
        row = self.conn.execute(select(s.operators).where(s.operators.c.name == name)).first()
        return self._operator(row, self._roles(name)) if row is not None else None

    @_guarded
    def operators(self) -> list[Operator]:
        roles = self._roles()
        rows = self.conn.execute(select(s.operators).order_by(s.operators.c.name))
        return [self._operator(row, roles) for row in rows]

    @_guarded
    def insert_operator(self, operator: Operator) -> None:
        """Raises: Conflict if the operator exists."""
        try:
            self.conn.execute(
                insert(s.operators).values(
                    name=operator.name,
                    added_by=operator.added_by,
                    added_at=operator.added_at,
                    active=operator.active,
                )
            )
        except sa_exc.IntegrityError:
            raise Conflict(f"operator {operator.name!r} exists already") from None
        if operator.roles:
            self.conn.execute(
                insert(s.operator_roles),
                [{"operator": operator.name, "role": r} for r in operator.roles],
            )

    @_guarded
    def set_roles(self, name: str, roles: frozenset[str]) -> None:
        """Replace the operator's roles. Raises: NotFound if there is no such operator."""
        # FOR UPDATE on the operator row serialises concurrent grant/revoke on PostgreSQL.
        found = self.conn.execute(
            select(s.operators.c.name).where(s.operators.c.name == name).with_for_update()
        ).first()
        if found is None:
            raise NotFound(f"operator {name!r} does not exist")
        self.conn.execute(delete(s.operator_roles).where(s.operator_roles.c.operator == name))
        if roles:
            self.conn.execute(
                insert(s.operator_roles), [{"operator": name, "role": r} for r in roles]
            )

    # ------------------------------------------------------------------ approvals

    @_guarded
    def insert_approval(
        self, action: str, target: str, params: dict[str, object], requested_by: str, at: datetime
    ) -> int:
        """Record a pending request; returns its id (never reused)."""
        result = self.conn.execute(
            insert(s.approvals).values(
                action=action,
                target=target,
                params=json.dumps(params, sort_keys=True, separators=(",", ":")),
                requested_by=requested_by,
                requested_at=at,
                state=str(ApprovalState.PENDING),
            )
        )
        key = result.inserted_primary_key
        if key is None:
            raise InternalError("the catalog returned no id for the new approval")
        return int(key[0])

    @staticmethod
    def _approval(row: Any) -> Approval:
        return Approval(
            row.id,
            row.action,
            row.target,
            json.loads(row.params),
            row.requested_by,
            row.requested_at,
            ApprovalState(row.state),
            row.decided_by,
            row.decided_at,
            row.reason,
        )

    @_guarded
    def approval(self, approval_id: int, *, for_update: bool = False) -> Approval | None:
        stmt = select(s.approvals).where(s.approvals.c.id == approval_id)
        row = self.conn.execute(stmt.with_for_update() if for_update else stmt).first()
        return self._approval(row) if row is not None else None

    @_guarded
    def approvals(self, state: ApprovalState | None = None) -> list[Approval]:
        stmt = select(s.approvals).order_by(s.approvals.c.id)
        if state is not None:
            stmt = stmt.where(s.approvals.c.state == str(state))
        return [self._approval(row) for row in self.conn.execute(stmt)]

    @_guarded
    def decide_approval(
        self, approval_id: int, state: ApprovalState, by: str, at: datetime, reason: str | None
    ) -> None:
        """Raises: NotFound if there is no such approval."""
        result = self.conn.execute(
            update(s.approvals)
            .where(s.approvals.c.id == approval_id)
            .values(state=str(state), decided_by=by, decided_at=at, reason=reason)
        )
        if result.rowcount == 0:
            raise NotFound(f"approval {approval_id} does not exist")

    # ------------------------------------------------------------------ ops log

    @_guarded
    def opslog_head(self, *, for_update: bool = False) -> OpsLogHead | None:
        """The signed head; ``OpsLogHead(0, "", "")`` on a new catalog, None if the row is gone.

        With ``for_update`` the head row stays locked until commit, so concurrent appenders
        queue (``FOR UPDATE`` on PostgreSQL; SQLite's write transaction is already exclusive).
        """
        h = s.opslog_head.c
        stmt = select(h.seq, h.hmac, h.signature).where(h.id == 1)
        row = self.conn.execute(stmt.with_for_update() if for_update else stmt).first()
        return OpsLogHead(row.seq, row.hmac, row.signature) if row is not None else None

    @_guarded
    def opslog_append(self, entry: OpsLogEntry, head: OpsLogHead) -> None:
        """Append ``entry`` and move the head to ``head``.

        Raises:
            Conflict: another appender got there first (the head is no longer at seq - 1).
        """
        if head.seq != entry.seq:
            raise InternalError(f"ops log head seq {head.seq} does not match entry seq {entry.seq}")
        h = s.opslog_head.c
        moved = self.conn.execute(
            update(s.opslog_head)
            .where(h.id == 1, h.seq == entry.seq - 1)
            .values(seq=head.seq, hmac=head.hmac, signature=head.signature)
        )
        if moved.rowcount != 1:
            raise Conflict(RACE)
        self.conn.execute(insert(s.opslog).values(entry.as_json()))

    @_guarded
    def opslog_entries(
        self, *, limit: int | None = None, newest_first: bool = False
    ) -> list[OpsLogEntry]:
        """Entries ordered by seq (descending with ``newest_first``), then cut to ``limit``."""
        seq = s.opslog.c.seq
        stmt = select(s.opslog).order_by(seq.desc() if newest_first else seq)
        if limit is not None:
            stmt = stmt.limit(limit)
        return [OpsLogEntry(*row) for row in self.conn.execute(stmt)]

    def opslog_iter(self) -> Iterator[OpsLogEntry]:
        """Every entry in seq order, fetched in batches. Consume it inside the transaction."""
        stmt = select(s.opslog).order_by(s.opslog.c.seq)
        try:
            for row in self.conn.execute(stmt.execution_options(yield_per=1000)):
                yield OpsLogEntry(*row)
        except sa_exc.SQLAlchemyError as exc:
            raise self.catalog._error(exc) from None

    # ------------------------------------------------------------------ backups

    @staticmethod
    def _backup(row: Any) -> BackupRecord:
        return BackupRecord(
            row.id,
            row.tenant,
            row.region,
            row.cluster,
            row.created_at,
            row.finished_at,
            row.plaintext_size,
            row.ciphertext_size,
            row.ciphertext_sha256,
            manifest_from_json(row.manifest),
            row.state,
            row.pruned_at,
        )

    @_guarded
    def insert_backup(self, record: BackupRecord) -> bool:
        """Index a backup; one indexed already is left as it is. Returns whether it was new."""
        stmt = self._upsert(s.backups).values(
            id=record.id,
            tenant=record.tenant,
            region=record.region,
            cluster=record.cluster,
            created_at=record.created_at,
            finished_at=record.finished_at,
            plaintext_size=record.plaintext_size,
            ciphertext_size=record.ciphertext_size,
            ciphertext_sha256=record.ciphertext_sha256,
            state=record.state,
            pruned_at=record.pruned_at,
            manifest=record.manifest_json(),
        )
        return bool(self.conn.execute(stmt.on_conflict_do_nothing(index_elements=["id"])).rowcount)

    @_guarded
    def backup(self, backup_id: str) -> BackupRecord | None:
        row = self.conn.execute(select(s.backups).where(s.backups.c.id == backup_id)).first()
        return self._backup(row) if row is not None else None

    @_guarded
    def backups(
        self, *, tenant: str | None = None, include_pruned: bool = False
    ) -> list[BackupRecord]:
        """Indexed backups, oldest first."""
        b = s.backups.c
        stmt = select(s.backups).order_by(b.created_at, b.id)
        if tenant is not None:
            stmt = stmt.where(b.tenant == tenant)
        if not include_pruned:
            stmt = stmt.where(b.state == "complete")
        return [self._backup(row) for row in self.conn.execute(stmt)]

    @_guarded
    def mark_backup_pruned(self, backup_id: str, at: datetime) -> None:
        """Raises: NotFound if the backup is not indexed."""
        result = self.conn.execute(
            update(s.backups)
            .where(s.backups.c.id == backup_id)
            .values(state="pruned", pruned_at=at)
        )
        if result.rowcount == 0:
            raise NotFound(f"backup {backup_id} is not in the catalog")

    @_guarded
    def add_verification(self, result: VerifyResult) -> None:
        """Record one verification of an indexed backup (``result.at`` is UTC ISO-8601)."""
        self.conn.execute(
            insert(s.backup_verifications).values(
                backup_id=result.backup_id,
                at=datetime.fromisoformat(result.at),
                level=result.level,
                ok=result.ok,
                detail=result.detail,
                operator=result.operator,
            )
        )

    @_guarded
    def verifications(self, *, tenant: str | None = None) -> list[VerifyResult]:
        """Verifications (of one tenant's backups, or all), oldest first."""
        v, b = s.backup_verifications.c, s.backups.c
        stmt = select(v.backup_id, v.level, v.ok, v.detail, v.at, v.operator).order_by(v.at, v.id)
        if tenant is not None:
            stmt = stmt.join(s.backups, b.id == v.backup_id).where(b.tenant == tenant)
        return [
            VerifyResult(bid, level, bool(ok), detail, iso(at) or "", op)
            for bid, level, ok, detail, at, op in self.conn.execute(stmt)
        ]
