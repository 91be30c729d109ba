"""Tenant databases as SQLite files in one directory (the ``TenantStore`` port, sandbox).

The cluster URL is ``sqlite:///<directory>`` (four slashes for an absolute path, as in
SQLAlchemy); tenant ``acme`` is the file ``<directory>/tenant_acme.db``. The directory is
``0700`` and each file ``0600``: on SQLite the operating system's file permissions are the
only access boundary, so there is no owner role and the owner password is not used.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from aptien_ops.backends import sqlite_scratch, tenant_schema
from aptien_ops.backends.sqlite_swap import finish_copy, fsync_path, replace_file
from aptien_ops.backends.sqlite_tenant_schema import (
    UPSERT_META,
    apply_steps,
    file_facts,
    immediate,
    read_version,
)
from aptien_ops.config import ClusterSettings
from aptien_ops.domain import Clock, ScratchSweep, utcnow, validate_tenant_name
from aptien_ops.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    OpsError,
    Unavailable,
)
from aptien_ops.ports import ClusterPrivileges, DatabaseFacts, TenantStore

DB_PREFIX = "tenant_"
_TENANT_FILE = re.compile(r"^tenant_(.+)\.db$")
#: Files SQLite keeps beside a database; they go with it.
_SIDE_FILES = ("-wal", "-shm", "-journal")


def cluster_directory(url: str) -> Path:
    """The directory a ``sqlite:///<dir>`` cluster URL names.

    Raises: InvalidInput for any other kind of URL.
    """
    prefix = "sqlite:///"
    if not url.startswith(prefix) or "?" in url or len(url) == len(prefix):
        raise InvalidInput(f"not a SQLite cluster URL: {url!r}", hint="use sqlite:///<directory>")
    return Path(url[len(prefix) :]).expanduser().absolute()


class SqliteTenantStore:
    """A directory of SQLite tenant databases."""

    kind = "sqlite"

    def __init__(self, cluster: ClusterSettings, *, clock: Clock = utcnow) -> None:
        """Raises: InvalidInput if the URL is not ``sqlite:///<directory>``."""
        self.cluster = cluster.name
        self.clock = clock
        self.directory = cluster_directory(cluster.url)

    def path(self, tenant: str) -> Path:
        """The tenant's database file. Raises: InvalidInput for an invalid tenant name."""
        return self.directory / f"{DB_PREFIX}{validate_tenant_name(tenant)}.db"

    def _unavailable(self, what: str, exc: OSError | sqlite3.Error) -> Unavailable:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return Unavailable(f"cluster {self.cluster!r}: {what}: {reason} ({self.directory})")

    def _ensure_directory(self) -> None:
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not os.access(self.directory, os.W_OK | os.X_OK):
                raise PermissionError(errno.EACCES, "directory is not writable")
        except OSError as exc:
            raise self._unavailable("cannot use the directory", exc) from None

    # ------------------------------------------------------------------ the port

    def ping(self) -> None:
        """Create the directory if needed and check it is writable. Raises: Unavailable."""
        self._ensure_directory()

    def privileges(self) -> ClusterPrivileges:
        """Whether this account may write the directory (or, before the first tenant, create
        it); changes nothing. Raises: Unavailable if the path is not a directory."""
        me = _account_name()
        existing = self.directory
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir():
            raise Unavailable(f"cluster {self.cluster!r}: {existing} is not a directory")
        need = (
            f"write {self.directory}" if existing == self.directory else f"create {self.directory}"
        )
        if os.access(existing, os.W_OK | os.X_OK):
            return ClusterPrivileges(me, (need,))
        return ClusterPrivileges(me, (), (need,), f"chown {me} {existing} && chmod 700 {existing}")

    def exists(self, tenant: str) -> bool:
        """Raises: InvalidInput for an invalid name, Unavailable if the directory is unusable."""
        path = self.path(tenant)
        try:
            path.stat()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise self._unavailable(f"look up {path.name}", exc) from None
        return True

    def list_databases(self) -> list[str]:
        """Tenant names of every ``tenant_*.db`` file, sorted. Raises: Unavailable."""
        try:
            with os.scandir(self.directory) as entries:
                names = [
                    m.group(1) for e in entries if (m := _TENANT_FILE.match(e.name)) and e.is_file()
                ]
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise self._unavailable("list databases", exc) from None
        return sorted(names)

    def cluster_facts(self, inspector_role: str | None = None) -> list[DatabaseFacts]:
        """Every tenant file's :class:`DatabaseFacts`: its owner and mode from ``stat``, and
        from a read-only open (in-process, ~0.1 ms: there is no server to connect to) the
        header's ``user_version`` and the ``suspended`` flag. The header is read through
        SQLite, not from the file's bytes: a write-ahead log may hold a newer one.

        SQLite has no roles, so ``inspector_role`` is only checked for its name.
        Raises: InvalidInput (an invalid role name), Unavailable (the directory).
        """
        if inspector_role is not None:
            tenant_schema.validate_role_name(inspector_role)
        facts = []
        for name in self.list_databases():
            path = self.directory / f"{DB_PREFIX}{name}.db"
            try:
                info = path.stat()
            except FileNotFoundError:
                continue  # dropped since the scan
            except OSError as exc:
                raise self._unavailable(f"look up {path.name}", exc) from None
            facts.append(file_facts(name, path, info))
        return facts

    def create_database(self, tenant: str, owner_password: str) -> None:
        """Create the tenant's database file atomically; an existing one is kept.

        ``owner_password`` is accepted for the port's sake and ignored: a SQLite file has no
        roles, its ``0600`` mode is the boundary. The file appears complete or not at all: it
        is written as ``*.partial``, synced, then linked into place (``link`` never replaces
        a file a concurrent run already created, unlike ``rename``).

        Raises: InvalidInput, Unavailable.
        """
        path = self.path(tenant)
        self._ensure_directory()
        if self.exists(tenant):
            return
        partial = path.with_name(f"{path.name}.{os.getpid()}-{secrets.token_hex(4)}.partial")
        try:
            os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            conn = sqlite3.connect(partial, isolation_level=None)
            try:
                # WAL: readers (inspection, backups) never block the platform's writers.
                conn.execute("PRAGMA journal_mode=WAL")
            finally:
                conn.close()
            fsync_path(partial)
            try:
                os.link(partial, path)
            except FileExistsError:
                pass  # a concurrent create won; its file is as good as ours
            fsync_path(self.directory)
        except (OSError, sqlite3.Error) as exc:
            raise self._unavailable(f"create {path.name}", exc) from None
        finally:
            for leftover in (partial, *(Path(f"{partial}{s}") for s in _SIDE_FILES)):
                leftover.unlink(missing_ok=True)

    def drop_database(self, tenant: str) -> None:
        """Remove the file, its WAL/shared-memory/journal files and stray partials. Idempotent.

        Raises: InvalidInput, Unavailable.
        """
        path = self.path(tenant)
        try:
            strays = list(self.directory.glob(f"{path.name}.*.partial"))
            for victim in (path, *(Path(f"{path}{s}") for s in _SIDE_FILES), *strays):
                victim.unlink(missing_ok=True)
        except OSError as exc:
            raise self._unavailable(f"drop {path.name}", exc) from None

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

    def size_bytes(self, tenant: str) -> int:
        """The file's size plus its write-ahead log's.

        Raises: InvalidInput, NotFound, Unavailable."""
        path = self.path(tenant)
        total = 0
        for part, required in ((path, True), (Path(f"{path}-wal"), False)):
            try:
                total += part.stat().st_size
            except FileNotFoundError:
                if required:
                    raise NotFound(
                        f"tenant database {path.name} does not exist on cluster {self.cluster!r}"
                    ) from None
            except OSError as exc:
                raise self._unavailable(f"size of {path.name}", exc) from None
        return total

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


def _account_name() -> str:
    import pwd

    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return f"uid {os.geteuid()}"


_: type[TenantStore] = SqliteTenantStore
