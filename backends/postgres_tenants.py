"""Tenant databases on a PostgreSQL cluster (the ``TenantStore`` port).

Each tenant gets the database ``tenant_<name>`` owned by the login role
``tenant_<name>_owner``; ``CONNECT`` and ``TEMPORARY`` are revoked from ``PUBLIC`` and the
``public`` schema belongs to the owner alone, so one tenant's role cannot reach another's data.
The schema's tables are created as the owner role too (the platform writes as it). The
region's inspector role gets ``CONNECT`` and column-level ``SELECT`` on the metadata columns
only, so the server itself refuses it any payload. Passwords reach the server only as SCRAM
verifiers computed here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from aptien_ops.backends import tenant_schema
from aptien_ops.backends.pg_common import (
    act_as_owner,
    conninfo_params,
    converge_role,
    end_sessions,
    grant_columns_only,
    read_schema_version,
    scram_sha256_verifier,
    translate_pg_error,
)
from aptien_ops.config import ClusterSettings
from aptien_ops.domain import Clock, utcnow, validate_tenant_name
from aptien_ops.errors import Conflict, Forbidden, InvalidInput, NotFound
from aptien_ops.tenant_schema import METADATA_COLUMNS

T = TypeVar("T")
DB_PREFIX = "tenant_"
#: Serialise schema steps within one tenant database, and inspector role changes on a cluster.
_SCHEMA_LOCK = 0x61707469656E01
_INSPECTOR_LOCK = 0x61707469656E02
#: How long refusing a tenant's login waits for its sessions to end.
_TERMINATE_SECONDS = 10.0
#: An inspector that is the admin, or inherits a tenant's or all data, is not bounded by columns.
_INSPECTOR_TOO_WIDE = (
    "SELECT %(role)s = current_user OR pg_has_role(%(role)s, %(owner)s, 'MEMBER') OR EXISTS ("
    " SELECT 1 FROM pg_roles WHERE rolname IN ('pg_read_all_data', 'pg_write_all_data')"
    " AND pg_has_role(%(role)s, oid, 'MEMBER'))"
)


def database_name(tenant: str) -> str:
    """``tenant_<name>``. Raises: InvalidInput for a name that is not a valid tenant name."""
    return DB_PREFIX + validate_tenant_name(tenant)


def owner_role(tenant: str) -> str:
    """``tenant_<name>_owner``. Raises: InvalidInput for an invalid tenant name."""
    return f"{DB_PREFIX}{validate_tenant_name(tenant)}_owner"


class PostgresTenantStore:
    """One PostgreSQL cluster's tenant databases, managed through one admin connection."""

    kind = "postgresql"

    def __init__(self, cluster: ClusterSettings, *, clock: Clock = utcnow) -> None:
        """Raises: InvalidInput if the URL is not a PostgreSQL URL or holds a password."""
        self.cluster = cluster.name
        self.clock = clock
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

    def _open(
        self,
        dbname: str | None = None,
        *,
        user: str | None = None,
        password: str | None = None,
        autocommit: bool = False,
    ) -> psycopg.Connection:
        params = dict(self._params)
        if dbname is not None:
            params["dbname"] = dbname
        if user is not None:
            params["user"] = user
        else:
            password = self._admin_password()
        # The password travels as its own keyword, never inside a string we could log.
        extra: dict[str, Any] = {"password": password} if password else {}
        return psycopg.connect(make_conninfo(**params), autocommit=autocommit, **extra)

    def _with_admin(
        self, what: str, work: Callable[[psycopg.Connection], T], secrets: tuple[str, ...] = ()
    ) -> T:
        """Run ``work`` (idempotent) on the admin connection, translating driver errors."""
        with self._lock:
            try:
                return self._run_as_admin(work)
            except psycopg.Error as exc:
                if self._admin is not None and self._admin.broken:
                    self._discard_admin()
                raise translate_pg_error(
                    exc, f"cluster {self.cluster!r}: {what}", secrets
                ) from None

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
            lambda conn: conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)
            ).fetchone(),
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
        return [row[0][len(DB_PREFIX) :] for row in rows]

    def create_owner_role(self, tenant: str, owner_password: str) -> None:
        """Create the tenant's login role, or give an existing one ``owner_password``. Idempotent.

        An existing role keeps its LOGIN/NOLOGIN: resetting a suspended tenant's password does
        not resume it.

        Raises:
            InvalidInput: invalid tenant name or an empty password.
            Forbidden: the cluster admin lacks CREATEROLE.
            Conflict: the role exists with superuser, replication or bypassrls powers.
            Unavailable: the cluster cannot be reached.
        """
        role = owner_role(tenant)
        if not isinstance(owner_password, str) or not owner_password:
            raise InvalidInput(f"tenant {tenant!r}: the owner password must not be empty")
        password = sql.SQL("PASSWORD {}").format(sql.Literal(scram_sha256_verifier(owner_password)))

        def create(conn: psycopg.Connection) -> None:
            converge_role(
                conn,
                role,
                create=sql.SQL("LOGIN NOCREATEDB NOCREATEROLE {}").format(password),
                alter=sql.SQL("NOCREATEDB NOCREATEROLE {}").format(password),
                refusal=f"cluster {self.cluster!r}: refusing to hand a tenant database to {role}",
            )
            superuser = conn.execute("SELECT current_setting('is_superuser')").fetchone()
            if superuser is None or superuser[0] != "on":
                # A least-privileged admin (CREATEROLE, as on managed PostgreSQL) may only give
                # a database to, SET ROLE to, and drop a database of, a role it is a member of.
                conn.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(sql.Identifier(role)))

        self._with_admin(f"create role {role}", create, (owner_password,))

    def create_database(self, tenant: str, owner_password: str) -> None:
        """Create (or converge) the owner role, the database and its grants.

        Rerunning after a failure at any step completes the job: an existing role keeps its
        name and gets ``owner_password``; an existing database is kept.

        Raises:
            InvalidInput: invalid tenant name or an empty password.
            Forbidden: the cluster admin lacks CREATEROLE/CREATEDB.
            Conflict: a concurrent operation holds the database, or a squatted owner role.
            Unavailable: the cluster cannot be reached.
        """
        dbname, role = database_name(tenant), owner_role(tenant)
        self.create_owner_role(tenant, owner_password)
        db_id, role_id = sql.Identifier(dbname), sql.Identifier(role)

        def create(conn: psycopg.Connection) -> None:
            if (
                conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
                is None
            ):
                try:
                    conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(db_id, role_id))
                except psycopg.errors.DuplicateDatabase:
                    pass
            conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(db_id, role_id))
            conn.execute(
                sql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(db_id)
            )
            conn.execute(
                sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(db_id, role_id)
            )

        self._with_admin(f"create {dbname}", create)
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
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
            )
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))

        self._with_admin(f"drop {dbname}", drop)

    # ------------------------------------------------------------------ schema and access

    def apply_schema(self, tenant: str, target_version: int, *, region: str) -> int:
        """Bring the schema up to ``target_version``, one transaction per version step.

        Each step runs as the owner role (the tables are the platform's), takes a lock so
        concurrent runs queue, and records its version and the tenant_meta rows in the same
        transaction. A target at or below the current version changes nothing.

        Returns: the version reached (the current one if it was already at or past the target).

        Raises:
            InvalidInput: invalid tenant name, target or region.
            Conflict: ``target_version`` is newer than this code knows; a concurrent operation.
            NotFound: no such tenant database.
            IntegrityFailure: tenant_meta is not what this code wrote.
            Unavailable: the cluster cannot be reached, or a step failed (rolled back).
        """
        dbname, role = database_name(tenant), owner_role(tenant)
        tenant_schema.check_target(target_version)
        if not isinstance(region, str) or not region:
            raise InvalidInput(f"tenant {tenant!r}: a region name is required")
        with self._session(tenant, dbname, user=None, password=None, autocommit=True) as conn:
            while True:
                with conn.transaction():
                    act_as_owner(conn, role)
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                    current = read_schema_version(conn, dbname) or 0
                    if current >= target_version:
                        return current
                    step = current + 1
                    for statement in tenant_schema.statements("postgresql", step):
                        conn.execute(statement)
                    overwrite, keep = tenant_schema.meta_rows(tenant, region, step, self.clock())
                    with conn.cursor() as cur:
                        cur.executemany(
                            "INSERT INTO public.tenant_meta (key, value) VALUES (%s, %s)"
                            " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                            list(overwrite.items()),
                        )
                        cur.executemany(
                            "INSERT INTO public.tenant_meta (key, value) VALUES (%s, %s)"
                            " ON CONFLICT (key) DO NOTHING",
                            list(keep.items()),
                        )

    def schema_version(self, tenant: str) -> int | None:
        """The version in ``tenant_meta``, None before the first step.

        Raises: InvalidInput, NotFound, IntegrityFailure (a foreign tenant_meta), Unavailable.
        """
        dbname, role = database_name(tenant), owner_role(tenant)
        with self._session(tenant, dbname, user=None, password=None, autocommit=True) as conn:
            with conn.transaction():
                act_as_owner(conn, role)
                return read_schema_version(conn, dbname)

    def grant_inspector(self, tenant: str, role: str, password: str | None) -> None:
        """Let ``role`` connect to the tenant's database and read ``METADATA_COLUMNS`` only.

        The role is created if missing (LOGIN with ``password`` as a SCRAM verifier, else
        NOLOGIN); an existing one gets ``password`` if one is given. Within the database its
        privileges are rebuilt (everything revoked, then column-level SELECT granted) in one
        transaction, so a rerun also takes back anything granted by hand. Idempotent.

        Raises:
            InvalidInput: invalid tenant or role name, an empty password.
            NotFound: no such tenant database.
            Conflict: the role has superuser/replication/bypassrls powers, is the cluster
                admin, or is a member of the tenant's owner or ``pg_read_all_data``; the
                tenant has no schema yet (apply it first).
            Unavailable: the cluster cannot be reached.
        """
        dbname, owner = database_name(tenant), owner_role(tenant)
        tenant_schema.validate_role_name(role)
        if password is not None and (not isinstance(password, str) or not password):
            raise InvalidInput(f"inspector role {role}: the password must not be empty")
        login = (
            sql.SQL("LOGIN PASSWORD {}").format(sql.Literal(scram_sha256_verifier(password)))
            if password
            else sql.SQL("NOLOGIN")
        )
        role_id = sql.Identifier(role)
        where = f"cluster {self.cluster!r}"

        def admit(conn: psycopg.Connection) -> None:
            with conn.transaction():
                if (
                    conn.execute(
                        "SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)
                    ).fetchone()
                    is None
                ):
                    raise NotFound(
                        f"tenant database {dbname} does not exist on cluster {self.cluster!r}"
                    )
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_INSPECTOR_LOCK,))
                converge_role(
                    conn,
                    role,
                    create=sql.SQL("NOCREATEDB NOCREATEROLE {}").format(login),
                    alter=login if password else None,
                    refusal=f"{where}: refusing to make {role} an inspector",
                )
                too_wide = conn.execute(
                    _INSPECTOR_TOO_WIDE, {"role": role, "owner": owner}
                ).fetchone()
                if too_wide is None or too_wide[0]:
                    raise Conflict(
                        f"{where}: role {role} is the cluster admin or a member of {owner} or "
                        "pg_read_all_data; column grants would not bound what it reads",
                        hint="use a dedicated inspector role",
                    )
                conn.execute(
                    sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                        sql.Identifier(dbname), role_id
                    )
                )

        self._with_admin(f"admit inspector {role} to {dbname}", admit, (password or "",))
        with self._session(tenant, dbname, user=None, password=None, autocommit=True) as conn:
            with conn.transaction():
                act_as_owner(conn, owner)
                if read_schema_version(conn, dbname) is None:
                    raise Conflict(
                        f"tenant database {dbname} has no schema yet", hint="apply the schema first"
                    )
                grant_columns_only(conn, role, METADATA_COLUMNS)

    def set_login(self, tenant: str, allowed: bool) -> None:
        """Allow or refuse logins of the tenant's owner role; refusing ends its sessions too.

        The cluster admin and the inspector are different roles and keep their access.
        Idempotent.

        Raises:
            InvalidInput: invalid tenant name.
            NotFound: the tenant has no owner role on this cluster.
            Conflict: a session of the role would not end in time (rerun).
            Unavailable: the cluster cannot be reached.
        """
        role = owner_role(tenant)

        def switch(conn: psycopg.Connection) -> None:
            if (
                conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
                is None
            ):
                raise NotFound(f"tenant role {role} does not exist on cluster {self.cluster!r}")
            login = sql.SQL("LOGIN" if allowed else "NOLOGIN")
            conn.execute(sql.SQL("ALTER ROLE {} WITH {}").format(sql.Identifier(role), login))
            if not allowed:
                end_sessions(conn, role, _TERMINATE_SECONDS, f"cluster {self.cluster!r}")

        self._with_admin(f"{'allow' if allowed else 'refuse'} logins of {role}", switch)

    def size_bytes(self, tenant: str) -> int:
        """``pg_database_size`` of the tenant's database. Raises: InvalidInput, NotFound, Unavailable."""
        dbname = database_name(tenant)
        row = self._with_admin(
            f"size of {dbname}",
            lambda conn: conn.execute("SELECT pg_database_size(%s)", (dbname,)).fetchone(),
        )
        if row is None or row[0] is None:
            raise NotFound(f"tenant database {dbname} does not exist on cluster {self.cluster!r}")
        return int(row[0])

    # ------------------------------------------------------------------ sessions

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
    def connect_as_inspector(
        self, tenant: str, role: str, password: str
    ) -> Iterator[psycopg.Connection]:
        """The tenant's database as the region's inspector role, in autocommit, read-only.

        The role holds column-level SELECT on metadata columns only, so the server itself
        refuses it any other column. ``search_path`` is ``pg_catalog`` alone: callers name
        tables as ``public.<table>``, and nothing the platform creates can catch a name.

        Raises: InvalidInput (tenant or role name), NotFound, Forbidden if the server refuses
        the role, Unavailable.
        """
        dbname = database_name(tenant)
        tenant_schema.validate_role_name(role)
        with self._session(tenant, dbname, user=role, password=password, autocommit=True) as conn:
            conn.execute("SET search_path TO pg_catalog")
            conn.execute("SET default_transaction_read_only TO on")
            yield conn

    @contextmanager
    def _session(
        self,
        tenant: str,
        dbname: str,
        *,
        user: str | None,
        password: str | None,
        autocommit: bool = False,
    ) -> Iterator[psycopg.Connection]:
        what = f"cluster {self.cluster!r}: connect to {dbname}"
        try:
            conn = self._open(dbname, user=user, password=password, autocommit=autocommit)
        except psycopg.OperationalError as exc:
            # libpq reports a failed connection without an SQLSTATE; ask the cluster why.
            if not self.exists(tenant):
                raise NotFound(
                    f"tenant database {dbname} does not exist on cluster {self.cluster!r}"
                ) from None
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
