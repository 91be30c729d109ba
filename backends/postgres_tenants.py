"""Tenant databases on a PostgreSQL cluster (the ``TenantStore`` port).

Each tenant gets the database ``tenant_<name>`` owned by the login role
``tenant_<name>_owner``; ``CONNECT`` and ``TEMPORARY`` are revoked from ``PUBLIC`` and the
``public`` schema belongs to the owner alone, so one tenant's role cannot reach another's data.
Passwords reach the server only as SCRAM verifiers computed here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from aptien_ops.config import ClusterSettings
from aptien_ops.domain import validate_tenant_name
from aptien_ops.errors import Conflict, Forbidden, InvalidInput, NotFound
from backends.pg_common import conninfo_params, scram_sha256_verifier, translate_pg_error

T = TypeVar("T")
DB_PREFIX = "tenant_"
_ROLE_POWERS = "SELECT rolsuper OR rolreplication OR rolbypassrls FROM pg_roles WHERE rolname = %s"


def database_name(tenant: str) -> str:
    """``tenant_<name>``. Raises: InvalidInput for a name that is not a valid tenant name."""
    return DB_PREFIX + validate_tenant_name(tenant)


def owner_role(tenant: str) -> str:
    """``tenant_<name>_owner``. Raises: InvalidInput for an invalid tenant name."""
    return f"{DB_PREFIX}{validate_tenant_name(tenant)}_owner"


class PostgresTenantStore:
    """One PostgreSQL cluster's tenant databases, managed through one admin connection."""

    kind = "postgresql"

    def __init__(self, cluster: ClusterSettings) -> None:
        """Raises: InvalidInput if the URL is not a PostgreSQL URL or holds a password."""
        self.cluster = cluster.name
        self._settings = cluster
        self._params = conninfo_params(cluster.url)
        self._params.setdefault("connect_timeout", "10")
        self._params.setdefault("application_name", "aptien-ops")
        self._admin: psycopg.Connection | None = None
        # The TUI runs adapters from worker threads; one admin connection is used at a time.
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ connections

    def _admin_password(self) -> str | None:
        return self._settings.password.read()

    def _open(self, dbname: str | None = None, *, user: str | None = None, password: str | None = None,
              autocommit: bool = False) -> psycopg.Connection:
        params = dict(self._params)
        if dbname is not None:
            params["dbname"] = dbname
        if user is not None:
            params["user"] = user
        else:
            password = self._admin_password()
        # The password travels as its own keyword, never inside a string we could log.
        extra = {"password": password} if password else {}
        return psycopg.connect(make_conninfo(**params), autocommit=autocommit, **extra)

    def _with_admin(self, what: str, work: Callable[[psycopg.Connection], T], secrets: tuple[str, ...] = ()) -> T:
        """Run ``work`` (idempotent) on the admin connection, translating driver errors."""
        with self._lock:
            try:
                return self._run_as_admin(work)
            except psycopg.Error as exc:
                if self._admin is not None and self._admin.broken:
                    self._discard_admin()
                raise translate_pg_error(exc, f"cluster {self.cluster!r}: {what}", secrets) from None

    def _run_as_admin(self, work: Callable[[psycopg.Connection], T]) -> T:
        cached = self._admin
        if cached is not None and not cached.closed:
            try:
                return work(cached)
            except psycopg.OperationalError:
                # A server restart or an idle timeout kills the cached session: retry once
                # on a fresh one; any other failure is the caller's to see.
                if not cached.broken:
                    raise
                self._discard_admin()
        self._admin = self._open(autocommit=True)
        return work(self._admin)

    def _discard_admin(self) -> None:
        if self._admin is not None:
            self._admin.close()
        self._admin = None

    # ------------------------------------------------------------------ the port

    def ping(self) -> None:
        """Raises: Unavailable if the cluster cannot be reached."""
        self._with_admin("ping", lambda conn: conn.execute("SELECT 1").fetchone())

    def exists(self, tenant: str) -> bool:
        """Raises: InvalidInput for an invalid name, Unavailable."""
        dbname = database_name(tenant)
        row = self._with_admin(
            f"look up {dbname}",
            lambda conn: conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone(),
        )
        return row is not None

    def list_databases(self) -> list[str]:
        """Tenant names of every ``tenant_*`` database, sorted. Raises: Unavailable."""
        rows = self._with_admin(
            "list databases",
            lambda conn: conn.execute(
                r"SELECT datname FROM pg_database WHERE datname LIKE 'tenant\_%' ORDER BY datname"
            ).fetchall(),
        )
        return [row[0][len(DB_PREFIX):] for row in rows]

    def create_database(self, tenant: str, owner_password: str) -> None:
        """Create (or converge) the owner role, the database and its grants.

        Rerunning after a failure at any step completes the job: an existing role keeps its
        name and gets ``owner_password``; an existing database is kept.

        Raises:
            InvalidInput: invalid tenant name or an empty password.
            Forbidden: the cluster admin lacks CREATEROLE/CREATEDB.
            Conflict: a concurrent operation holds the database.
            Unavailable: the cluster cannot be reached.
        """
        dbname, role = database_name(tenant), owner_role(tenant)
        if not isinstance(owner_password, str) or not owner_password:
            raise InvalidInput(f"tenant {tenant!r}: the owner password must not be empty")
        verifier = scram_sha256_verifier(owner_password)
        db_id, role_id = sql.Identifier(dbname), sql.Identifier(role)

        def create(conn: psycopg.Connection) -> None:
            # Only a superuser may even restate NOSUPERUSER/NOREPLICATION/NOBYPASSRLS, so those
            # are checked below instead of being set.
            attributes = sql.SQL("LOGIN NOCREATEDB NOCREATEROLE PASSWORD {}").format(sql.Literal(verifier))
            found = conn.execute(_ROLE_POWERS, (role,)).fetchone()
            if found is None:
                try:
                    conn.execute(sql.SQL("CREATE ROLE {} WITH {}").format(role_id, attributes))
                except psycopg.errors.DuplicateObject:
                    found = conn.execute(_ROLE_POWERS, (role,)).fetchone()  # a concurrent run won
            if found is not None and found[0]:
                raise Conflict(
                    f"cluster {self.cluster!r}: role {role} exists with superuser, replication or "
                    "bypassrls powers; refusing to hand it a tenant database",
                    hint="a DBA must inspect that role",
                )
            conn.execute(sql.SQL("ALTER ROLE {} WITH {}").format(role_id, attributes))
            superuser = conn.execute("SELECT current_setting('is_superuser')").fetchone()
            if superuser is None or superuser[0] != "on":
                # A least-privileged admin (CREATEROLE, as on managed PostgreSQL) may only give
                # a database to, and drop a database of, a role it is a member of.
                conn.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(role_id))
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone() is None:
                try:
                    conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(db_id, role_id))
                except psycopg.errors.DuplicateDatabase:
                    pass
            conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(db_id, role_id))
            conn.execute(sql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(db_id))
            conn.execute(sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(db_id, role_id))

        self._with_admin(f"create {dbname}", create, (owner_password,))
        self._lock_down_public_schema(dbname, role_id)

    def _lock_down_public_schema(self, dbname: str, role_id: sql.Identifier) -> None:
        what = f"cluster {self.cluster!r}: secure schema public of {dbname}"
        try:
            with self._open(dbname, autocommit=True) as conn:
                conn.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(role_id))
                conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
        except psycopg.Error as exc:
            raise translate_pg_error(exc, what) from None

    def drop_database(self, tenant: str) -> None:
        """Drop the database (disconnecting its sessions) and its owner role. Idempotent.

        Raises:
            InvalidInput: invalid tenant name.
            Conflict: the owner role still owns objects elsewhere.
            Unavailable: the cluster cannot be reached.
        """
        dbname, role = database_name(tenant), owner_role(tenant)

        def drop(conn: psycopg.Connection) -> None:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (dbname,),
            )
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))

        self._with_admin(f"drop {dbname}", drop)

    @contextmanager
    def connect(self, tenant: str) -> Iterator[psycopg.Connection]:
        """The tenant's database as the cluster admin; commits on success, else rolls back.

        Raises: InvalidInput, NotFound if there is no such database, Unavailable.
        """
        dbname = database_name(tenant)
        with self._session(tenant, dbname, user=None, password=None) as conn:
            yield conn

    @contextmanager
    def connect_as_owner(self, tenant: str, password: str) -> Iterator[psycopg.Connection]:
        """The tenant's database as its owner role, as the platform connects.

        Raises: InvalidInput, NotFound, Forbidden if the server refuses the role, Unavailable.
        """
        dbname = database_name(tenant)
        with self._session(tenant, dbname, user=owner_role(tenant), password=password) as conn:
            yield conn

    @contextmanager
    def _session(self, tenant: str, dbname: str, *, user: str | None, password: str | None) -> Iterator[psycopg.Connection]:
        what = f"cluster {self.cluster!r}: connect to {dbname}"
        try:
            conn = self._open(dbname, user=user, password=password)
        except psycopg.OperationalError as exc:
            # libpq reports a failed connection without an SQLSTATE; ask the cluster why.
            if not self.exists(tenant):
                raise NotFound(f"tenant database {dbname} does not exist on cluster {self.cluster!r}") from None
            if user is not None:
                raise Forbidden(f"{what} as {user}: refused by the server") from None
            raise translate_pg_error(exc, what, (password,)) from None
        try:
            with conn:
                yield conn
        except psycopg.Error as exc:
            raise translate_pg_error(exc, what, (password,)) from None

    def close(self) -> None:
        """Close the admin connection; the store reconnects if used again."""
        with self._lock:
            self._discard_admin()
