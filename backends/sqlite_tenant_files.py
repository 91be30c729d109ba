"""Tenant databases as files: the directory a ``sqlite:///<directory>`` cluster URL names, and
the files in it (``tenant_<name>.db``, ``0600``, in a ``0700`` directory) created atomically,
listed, looked at and removed. :class:`~aptien_ops.backends.sqlite_tenants.SqliteTenantStore`
adds the connections, the schema and the restores on top.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import sqlite3
from pathlib import Path

from aptien_ops.backends import tenant_schema
from aptien_ops.backends.sqlite_swap import fsync_path
from aptien_ops.backends.sqlite_tenant_schema import file_facts
from aptien_ops.config import ClusterSettings
from aptien_ops.domain import Clock, utcnow, validate_tenant_name
from aptien_ops.errors import InvalidInput, NotFound, Unavailable
from aptien_ops.ports import ClusterPrivileges, DatabaseFacts

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


class SqliteTenantFiles:
    """A directory of SQLite tenant database files: the file-level half of the store."""

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


def _account_name() -> str:
    import pwd

    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return f"uid {os.geteuid()}"
