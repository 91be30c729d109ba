"""Tenant databases on a PostgreSQL cluster (the ``TenantStore`` port).

Each tenant gets the database ``tenant_<name>`` owned by the login role
``tenant_<name>_owner``; ``CONNECT`` and ``TEMPORARY`` are revoked from ``PUBLIC`` and the
``public`` schema belongs to the owner alone, so one tenant's role cannot reach another's data.
The schema's tables are created as the owner role too (the platform writes as it). The
region's inspector role gets ``CONNECT`` and column-level ``SELECT`` on the metadata columns
only, so the server itself refuses it any payload. Passwords reach the server only as SCRAM
verifiers computed here.

The connections are :mod:`pg_connections`'; applying the schema is :mod:`pg_tenant_schema`;
the grants and the owner's logins are :mod:`pg_tenant_access`; what the server's catalogs
say about every tenant database is :mod:`pg_tenant_facts`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql

from aptien_ops.backends import (
    pg_scratch,
    pg_swap,
    pg_tenant_facts,
    pg_tenant_schema,
    tenant_schema,
)
from aptien_ops.backends import pg_tenant_access as access
from aptien_ops.backends.pg_common import (
    converge_role,
    drop_database,
    scram_sha256_verifier,
    translate_pg_error,
)
from aptien_ops.backends.pg_connections import ClusterConnections
from aptien_ops.backends.pg_tenant_facts import DB_PREFIX
from aptien_ops.config import ClusterSettings
from aptien_ops.domain import Clock, ScratchSweep, utcnow, validate_tenant_name
from aptien_ops.errors import InvalidInput, NotFound
from aptien_ops.ports import ClusterPrivileges, DatabaseFacts, TenantStore


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
        self._connections = ClusterConnections(cluster)

    # ------------------------------------------------------------------ the port

    def ping(self) -> None:
        """Raises: Unavailable if the cluster cannot be reached."""
        self._connections.with_admin("ping", lambda conn: conn.execute("SELECT 1").fetchone())

    def exists(self, tenant: str) -> bool:
        """Raises: InvalidInput for an invalid name, Unavailable."""
        return self._connections.database_exists(database_name(tenant))

    def privileges(self) -> ClusterPrivileges:
        """The admin role's ``CREATEDB``, ``CREATEROLE`` and ``pg_signal_backend`` membership, as
        the server reports them. Raises: Unavailable."""
        return self._connections.with_admin("read the admin's privileges", access.admin_privileges)

    def list_databases(self) -> list[str]:
        """Tenant names of every ``tenant_*`` database, sorted. Raises: Unavailable."""
        return self._connections.with_admin("list databases", pg_tenant_facts.tenant_names)

    def cluster_facts(self, inspector_role: str | None = None) -> list[DatabaseFacts]:
        """Every tenant database's :class:`DatabaseFacts` from one query of ``pg_database``,
        ``pg_roles`` and ``pg_shdescription``; no session in any tenant database.

        Raises: InvalidInput (an invalid inspector role name), Unavailable.
        """
        if inspector_role is not None:
            tenant_schema.validate_role_name(inspector_role)
        return self._connections.with_admin(
            "read its databases and roles",
            lambda conn: pg_tenant_facts.cluster_facts(conn, inspector_role),
        )

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

        self._connections.with_admin(f"create role {role}", create, (owner_password,))

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
        self._connections.with_admin(
            f"create {dbname}", lambda conn: access.create_owned_database(conn, dbname, role)
        )
        what = f"cluster {self.cluster!r}: secure schema public of {dbname}"
        try:
            with self._connections.open(dbname, autocommit=True) as conn:
                access.lock_down_public_schema(conn, role)
        except psycopg.Error as exc:
            raise translate_pg_error(exc, what) from None

    def drop_database(self, tenant: str) -> None:
        """Drop the database (disconnecting its sessions) and its owner role. Idempotent.

        Raises:
            InvalidInput: invalid tenant name.
            Conflict: the owner role still owns objects elsewhere; the database stays in use
                by a session this role may not end (a superuser's).
            Unavailable: the cluster cannot be reached.
        """
        dbname, role = database_name(tenant), owner_role(tenant)

        def drop(conn: psycopg.Connection) -> None:
            drop_database(conn, dbname, f"cluster {self.cluster!r}: drop")
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))

        self._connections.with_admin(f"drop {dbname}", drop)

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
        with self._connections.session(dbname, user=None, password=None, autocommit=True) as conn:
            return pg_tenant_schema.apply_steps(
                conn, tenant, dbname, role, target_version, region, self.clock
            )

    def schema_version(self, tenant: str) -> int | None:
        """The version in ``tenant_meta``, None before the first step.

        Raises: InvalidInput, NotFound, IntegrityFailure (a foreign tenant_meta), Unavailable.
        """
        dbname, role = database_name(tenant), owner_role(tenant)
        with self._connections.session(dbname, user=None, password=None, autocommit=True) as conn:
            return pg_tenant_schema.current_version(conn, dbname, role)

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
        login = access.inspector_login(role, password)
        self._connections.with_admin(
            f"admit inspector {role} to {dbname}",
            lambda conn: access.admit_inspector(
                conn, self.cluster, dbname, owner, role, login, new_password=bool(password)
            ),
            (password or "",),
        )
        with self._connections.session(dbname, user=None, password=None, autocommit=True) as conn:
            access.grant_metadata_columns(conn, dbname, owner, role)

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
        self._connections.with_admin(
            f"{'allow' if allowed else 'refuse'} logins of {role}",
            lambda conn: access.switch_login(conn, self.cluster, role, allowed),
        )

    def size_bytes(self, tenant: str) -> int:
        """``pg_database_size`` of the tenant's database.

        Raises: InvalidInput, NotFound, Unavailable.
        """
        dbname = database_name(tenant)
        row = self._connections.with_admin(
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
        with self._connections.session(dbname, user=None, password=None) as conn:
            yield conn

    @contextmanager
    def connect_as_owner(self, tenant: str, password: str) -> Iterator[psycopg.Connection]:
        """The tenant's database as its owner role, as the platform connects.

        Raises: InvalidInput, NotFound, Forbidden if the server refuses the role, Unavailable.
        """
        dbname = database_name(tenant)
        with self._connections.session(dbname, user=owner_role(tenant), password=password) as conn:
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
        with self._connections.session(
            dbname, user=role, password=password, autocommit=True
        ) as conn:
            conn.execute("SET search_path TO pg_catalog")
            conn.execute("SET default_transaction_read_only TO on")
            yield conn

    # ------------------------------------------------------------------ restores

    @contextmanager
    def staging(self, tenant: str) -> Iterator[str]:
        """A new, empty database ``scratch_<tenant>_<hex>`` owned by the tenant's role, to
        restore its data into; guarded while the block runs (no sweep drops it) and dropped
        when it ends unless :meth:`swap_in` made it the tenant's database. Yields its name.

        Raises: InvalidInput, NotFound (the tenant has no owner role here), Forbidden,
        Unavailable.
        """
        role = owner_role(tenant)
        found = self._connections.with_admin(
            f"look up role {role}",
            lambda conn: conn.execute(
                "SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)
            ).fetchone(),
        )
        if found is None:
            raise NotFound(f"tenant role {role} does not exist on cluster {self.cluster!r}")
        with pg_scratch.scratch_database(self._settings, tenant, owner=role) as scratch:
            yield scratch.name

    def swap_in(
        self,
        tenant: str,
        staged: str,
        *,
        region: str,
        schema_version: int,
        inspector_role: str,
        login: bool,
    ) -> str | None:
        """Make the restored database ``staged`` the tenant's (see :mod:`pg_swap`): finished
        first (schema up to ``schema_version``, ``tenant_meta`` naming ``tenant`` in
        ``region``, schema ``public`` the owner's, ``inspector_role``'s column grants and
        ``CONNECT``), then renamed into place in one transaction with the current one renamed
        aside, which is dropped last. ``login`` is the owner role's, which a restore does not
        change on PostgreSQL. Returns a note if the replaced database was left behind.

        Raises: InvalidInput, NotFound (no such database), Conflict (sessions kept coming
        back: nothing was replaced), Forbidden, IntegrityFailure, Unavailable.
        """
        dbname, role = database_name(tenant), owner_role(tenant)
        tenant_schema.validate_role_name(inspector_role)
        if not pg_scratch.is_scratch_of(staged, tenant):
            raise InvalidInput(f"{staged[:60]!r} is not a staging database of {tenant}")
        with self._connections.session(staged, user=None, password=None, autocommit=True) as conn:
            pg_swap.finish_staged(
                conn, tenant, staged, role, region, schema_version, inspector_role, self.clock
            )
        self._connections.with_admin(
            f"grant access to {staged}",
            lambda conn: pg_swap.grant_database(conn, staged, role, inspector_role),
        )
        aside = pg_scratch.new_name(tenant)
        self._connections.with_admin(
            f"swap {staged} in as {dbname}",
            lambda conn: pg_swap.swap_databases(conn, self.cluster, dbname, staged, aside),
        )
        why = self._connections.with_admin(
            f"drop {aside}", lambda conn: pg_scratch.drop_database(conn, aside)
        )
        if why is None:
            return None
        return (
            f"the replaced database, renamed {aside}, could not be dropped: {why}; the next"
            f" verification, backup run or fleet check on cluster {self.cluster!r} drops it"
        )

    def sweep_scratch(self, tenant: str | None = None) -> ScratchSweep:
        """Drop the scratch databases (of ``tenant``, else all) no live run holds.

        Raises: InvalidInput, Unavailable.
        """
        return self._connections.with_admin(
            "sweep scratch databases",
            lambda conn: pg_scratch.sweep_scratch(conn, self.cluster, tenant),
        )

    def close(self) -> None:
        """Close the admin connection; the store reconnects if used again."""
        self._connections.close()


_: type[TenantStore] = PostgresTenantStore
