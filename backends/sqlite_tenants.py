"""Tenant databases as SQLite files in one directory (the ``TenantStore`` port, sandbox).

The cluster URL is ``sqlite:///<directory>`` (four slashes for an absolute path, as in
SQLAlchemy); tenant ``acme`` is the file ``<directory>/tenant_acme.db``. The directory is
``0700`` and each file ``0600``: on SQLite the operating system's file permissions are the
only access boundary, so there is no owner role and the owner password is not used.

The files are created, listed and removed by
:class:`~aptien_ops.backends.sqlite_tenant_files.SqliteTenantFiles`; this module adds the
connections, the schema and the restores.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from aptien_ops.backends import sqlite_scratch, tenant_schema
from aptien_ops.backends.sqlite_swap import finish_copy, replace_file
from aptien_ops.backends.sqlite_tenant_files import SqliteTenantFiles
from aptien_ops.backends.sqlite_tenant_schema import (
    UPSERT_META,
    apply_steps,
    immediate,
    read_version,
)
from aptien_ops.domain import ScratchSweep, validate_tenant_name
from aptien_ops.errors import Conflict, InvalidInput, NotFound, OpsError
from aptien_ops.ports import TenantStore


class SqliteTenantStore(SqliteTenantFiles):
    """A directory of SQLite tenant databases."""

    @contextmanager
    def _opened(self, tenant: str, what: str) -> Iterator[sqlite3.Connection]:
        """The tenant's file in autocommit mode (callers BEGIN themselves); errors translated.

        Raises: InvalidInput, NotFound, Conflict (locked), Unavailable.
        """
        path = self.path(tenant)
        if not self.exists(tenant):
            raise NotFound(
                f"tenant database {path.name} does not exist on cluster {self.cluster!r}"
            )
        try:
            # mode=rw: never create a database by connecting to it.
            conn = sqlite3.connect(
                f"{path.as_uri()}?mode=rw", uri=True, timeout=10, isolation_level=None
            )
        except sqlite3.Error as exc:
            raise self._unavailable(f"open {path.name}", exc) from None
        try:
            yield conn
        except sqlite3.Error as exc:
            raise self._translate(f"{what} {path.name}", exc) from None
        finally:
            conn.close()

    @contextmanager
    def connect(self, tenant: str) -> Iterator[sqlite3.Connection]:
        """A ``sqlite3`` connection to the tenant's file; commits on success, else rolls back.

        Raises: InvalidInput, NotFound if there is no such database, Conflict if the database
        stays locked, Unavailable.
        """
        with self._opened(tenant, "use") as conn:
            conn.isolation_level = "DEFERRED"  # the sqlite3 module's implicit BEGIN, as before
            try:
                yield conn
                conn.commit()
            except BaseException:
                with suppress(sqlite3.Error):
                    conn.rollback()
                raise

    @contextmanager
    def connect_as_owner(self, tenant: str, password: str) -> Iterator[sqlite3.Connection]:
        """Same as :meth:`connect`: SQLite has no roles, so the password is not checked."""
        with self.connect(tenant) as conn:
            yield conn

    # ------------------------------------------------------------------ schema and access

    def create_owner_role(self, tenant: str, owner_password: str) -> None:
        """A no-op: a SQLite file has no roles. Raises: InvalidInput for an invalid name."""
        validate_tenant_name(tenant)

    def apply_schema(self, tenant: str, target_version: int, *, region: str) -> int:
        """Bring the schema up to ``target_version``, one ``BEGIN IMMEDIATE`` per version step.

        The version and the tenant_meta rows are written in the step's own transaction, so a
        crash leaves the previous version; concurrent runs queue on the write lock. A target
        at or below the current version changes nothing. Returns the version reached.

        Raises:
            InvalidInput: invalid tenant name, target or region.
            Conflict: ``target_version`` newer than this code knows; the file stays locked.
            NotFound: no such tenant database.
            IntegrityFailure: tenant_meta is not what this code wrote.
            Unavailable: the file cannot be used, or a step failed (rolled back).
        """
        name = self.path(tenant).name
        tenant_schema.check_target(target_version)
        if not isinstance(region, str) or not region:
            raise InvalidInput(f"tenant {tenant!r}: a region name is required")
        with self._opened(tenant, "apply the schema to") as conn:
            return apply_steps(conn, tenant, name, target_version, region, self.clock)

    def schema_version(self, tenant: str) -> int | None:
        """The version in ``tenant_meta``, None before the first step.

        Raises: InvalidInput, NotFound, IntegrityFailure, Unavailable.
        """
        name = self.path(tenant).name
        with self._opened(tenant, "read the schema version of") as conn:
            return read_version(conn, name)

    def grant_inspector(self, tenant: str, role: str, password: str | None) -> None:
        """Grants nothing: SQLite readers select explicit column lists instead.

        Checks what PostgreSQL would, so callers get the same errors in the sandbox.
        Raises: InvalidInput (tenant or role name), NotFound, Conflict (no schema yet), Unavailable.
        """
        tenant_schema.validate_role_name(role)
        if self.schema_version(tenant) is None:  # the same order of work as on PostgreSQL
            raise Conflict(
                f"tenant database {self.path(tenant).name} has no schema yet",
                hint="apply the schema first",
            )

    def set_login(self, tenant: str, allowed: bool) -> None:
        """Set ``tenant_meta.suspended`` to ``'0'``/``'1'``; the platform refuses a suspended
        tenant's users. Idempotent.

        Raises: InvalidInput, NotFound, Conflict (no schema yet; the file stays locked),
        Unavailable.
        """
        name = self.path(tenant).name
        with self._opened(tenant, "suspend or resume") as conn, immediate(conn):
            if read_version(conn, name) is None:
                raise Conflict(
                    f"tenant database {name} has no schema yet", hint="apply the schema first"
                )
            conn.execute(UPSERT_META, ("suspended", "0" if allowed else "1"))

    def _translate(self, what: str, exc: sqlite3.Error) -> OpsError:
        if isinstance(exc, sqlite3.IntegrityError) or "locked" in str(exc) or "busy" in str(exc):
            return Conflict(
                f"cluster {self.cluster!r}: {what}: {exc}",
                hint="another operation holds it; rerun the command",
            )
        return self._unavailable(what, exc)

    # ------------------------------------------------------------------ restores

    @contextmanager
    def staging(self, tenant: str) -> Iterator[str]:
        """A new, empty scratch file (``scratch/scratch_<tenant>_<hex>.db``) to restore the
        tenant's data into, held while the block runs and removed when it ends unless
        :meth:`swap_in` made it the tenant's database. Yields its name.

        Raises: InvalidInput, Conflict, Unavailable.
        """
        self._ensure_directory()
        try:
            with sqlite_scratch.held_copy(self.cluster, self.directory, tenant) as copy:
                yield copy.name
        except OSError as exc:
            raise self._unavailable(f"scratch copy for {tenant!r}", exc) from None

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
        """Make the restored copy ``staged`` the tenant's database.

        The copy is finished first (schema up to ``schema_version``, ``tenant_meta`` naming
        ``tenant`` in ``region``, the platform's login flag ``login``, WAL mode); then the
        current file is taken out of WAL mode under an exclusive lock (so no ``-wal`` of it can
        be read as the new one's), linked aside, and the copy renamed over it: at every moment
        ``tenant_<name>.db`` is either the old database or the new one. The old one is removed
        last. ``inspector_role`` is not used (SQLite readers select column lists). Returns a
        note if something was left behind, else None.

        Raises: InvalidInput, NotFound (no such copy), Conflict (the database stays in use;
        nothing was changed), IntegrityFailure (the copy's tenant_meta), Unavailable.
        """
        path = self.path(tenant)
        new = sqlite_scratch.path_of(self.directory, staged)
        if not new.is_file():
            raise NotFound(f"scratch copy {staged} does not exist on cluster {self.cluster!r}")
        try:
            finish_copy(new, tenant, staged, region, schema_version, login, self.clock)
        except sqlite3.Error as exc:
            raise self._translate(f"prepare {staged} for", exc) from None
        aside = sqlite_scratch.path_of(self.directory, sqlite_scratch.new_name(tenant))
        return replace_file(self.cluster, path, new, aside, self._unavailable)

    def sweep_scratch(self, tenant: str | None = None) -> ScratchSweep:
        """Remove the scratch copies (of ``tenant``, else all) no live run holds.

        Raises: InvalidInput, Unavailable.
        """
        try:
            return sqlite_scratch.sweep(self.cluster, self.directory, tenant)
        except OSError as exc:
            raise self._unavailable("sweep scratch copies", exc) from None

    def close(self) -> None:
        """Nothing to release: connections live only inside :meth:`connect`."""


_: type[TenantStore] = SqliteTenantStore
