"""Clusters and keys: each cluster's tenant databases, and the keys that seal tenant secrets."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from aptien_ops.config import RegionSettings
from aptien_ops.domain import ScratchSweep


class DbConnection(Protocol):
    """A DB-API 2 connection to one tenant database (``sqlite3`` or ``psycopg``): only the
    adapter that opened it, or a sandbox adapter of the same kind, uses its driver's API."""

    def commit(self) -> None: ...
    def rollback(self) -> None: ...


@dataclass(frozen=True)
class DatabaseFacts:
    """What a cluster itself says about one tenant database, read without connecting to it
    (``TenantStore.cluster_facts``): ``fleet check`` compares these with the catalog."""

    tenant: str
    schema_version: int | None
    """The version the schema steps recorded where the cluster shows it (PostgreSQL: the
    database's comment; SQLite: the file header's ``user_version``); None if none is."""
    login: bool | None
    """Whether the tenant's own role may log in (SQLite: the platform's ``suspended`` flag);
    None when there is no such role (PostgreSQL) or no schema yet (SQLite)."""
    owner: str
    """Who owns it: the database's owner role, or the file's owner and mode."""
    access: tuple[str, ...] = ()
    """What is wrong with who may reach it, one phrase each (owned by another role, CONNECT
    granted to PUBLIC, the region's inspector unable to connect, a file others may read);
    empty when it is as provisioning left it."""
    unreadable: str | None = None
    """Why the cluster could not tell the rest (a file that is not a database); None if it
    could."""


@dataclass(frozen=True)
class ClusterPrivileges:
    """What a cluster's admin may do of what the console needs, as the cluster itself says
    (``aptien-ops doctor``)."""

    admin: str
    """Who acts on the cluster: the admin role (PostgreSQL) or the account writing its
    directory (SQLite)."""
    held: tuple[str, ...]
    """What the console needs and the admin has: on PostgreSQL ``CREATEDB``, ``CREATEROLE``
    and membership of ``pg_signal_backend`` (to end the sessions autovacuum holds on a
    scratch database before dropping it); on SQLite, writing its directory."""
    missing: tuple[str, ...] = ()
    """What the console needs and the admin lacks, in the same words."""
    grant: str = ""
    """What gives the admin the missing ones, for the operator to run (empty when none)."""
    note: str = ""
    """Anything worth saying even when nothing is missing (a superuser: more than needed)."""


class TenantStore(Protocol):
    """One cluster's tenant databases (a PostgreSQL server, or a directory of SQLite files).

    Each tenant database is named ``tenant_<name>`` and, on PostgreSQL, owned by its own
    role ``tenant_<name>_owner`` with ``CONNECT`` revoked from ``PUBLIC``.
    """

    kind: str
    cluster: str

    def ping(self) -> None:
        """Raises: Unavailable if the cluster cannot be reached."""
        ...

    def create_owner_role(self, tenant: str, owner_password: str) -> None:
        """Create (or reset the password of) the tenant's own login role. Idempotent.

        SQLite has no roles: a no-op. Raises: Unavailable, Conflict.
        """
        ...

    def create_database(self, tenant: str, owner_password: str) -> None:
        """Create the tenant's owner role and database. Idempotent: an existing one is kept.

        Raises: Unavailable, Conflict.
        """
        ...

    def apply_schema(self, tenant: str, target_version: int, *, region: str) -> int:
        """Bring the tenant schema up to ``target_version``, one transaction per version step.

        Idempotent; returns the version reached. Raises: NotFound, Unavailable, Conflict.
        """
        ...

    def schema_version(self, tenant: str) -> int | None:
        """The tenant's schema version, None if it has no schema yet.

        Raises: NotFound, Unavailable."""
        ...

    def grant_inspector(self, tenant: str, role: str, password: str | None) -> None:
        """Let ``role`` connect and read metadata columns only (``METADATA_COLUMNS``).

        Creates the role if missing (LOGIN with ``password``, else NOLOGIN). SQLite: a no-op.
        """
        ...

    def set_login(self, tenant: str, allowed: bool) -> None:
        """Allow or refuse new connections of the tenant's own role; refusing also ends its
        open sessions. The cluster admin and the inspector are unaffected."""
        ...

    def size_bytes(self, tenant: str) -> int: ...

    def drop_database(self, tenant: str) -> None:
        """Drop the database and its owner role. Idempotent."""
        ...

    def exists(self, tenant: str) -> bool: ...

    def privileges(self) -> ClusterPrivileges:
        """What the cluster's admin may do of what provisioning, purge and restore
        verification need, asked of the cluster itself; changes nothing.

        Raises: Unavailable if the cluster cannot be reached.
        """
        ...

    def list_databases(self) -> Sequence[str]:
        """Tenant names of every database on the cluster that looks like a tenant's."""
        ...

    def cluster_facts(self, inspector_role: str | None = None) -> Sequence[DatabaseFacts]:
        """:class:`DatabaseFacts` of every database :meth:`list_databases` names, sorted by
        tenant, without a session in any of them: one query of the server's own catalogs
        (PostgreSQL); one directory scan and a short read-only look at each file (SQLite,
        where a file opens in-process in well under a millisecond). With ``inspector_role``,
        a database that role may not connect to says so in its ``access``.

        Raises: InvalidInput (an invalid role name), Unavailable.
        """
        ...

    def connect(self, tenant: str) -> AbstractContextManager[DbConnection]:
        """A DB-API connection to the tenant's database as the cluster's admin.

        Raises: NotFound if there is no such database, Unavailable.
        """
        ...

    def staging(self, tenant: str) -> AbstractContextManager[str]:
        """A new, empty scratch database of ``tenant`` on this cluster to restore its data into
        (PostgreSQL: owned by the tenant's role, which must exist), guarded while the block
        runs so no sweep takes it, and dropped when the block ends unless :meth:`swap_in`
        made it the tenant's database. Yields its name.

        Raises: NotFound (no owner role), Forbidden, Conflict, Unavailable.
        """
        ...

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
        """Make the restored ``staged`` the tenant's database. It is finished first (schema up
        to ``schema_version``, ``tenant_meta`` naming ``tenant`` in ``region``, the grants a
        tenant database has, SQLite's login flag ``login``); then it takes the current
        database's place in one step, the current one set aside and dropped last. The tenant's
        database is at every moment either the old one, untouched, or the restored one.
        Returns a note if something was left behind (dropped by the next sweep), else None.

        Raises: InvalidInput, NotFound, Conflict (the database stays in use: nothing was
        replaced), Forbidden, IntegrityFailure, Unavailable.
        """
        ...

    def sweep_scratch(self, tenant: str | None = None) -> ScratchSweep:
        """Drop the scratch copies on this cluster (of ``tenant``, else all) that no live run
        holds: what killed verifications, restores or backups left, and what a cluster would
        not let go of at the end of a run. Raises: InvalidInput, Unavailable."""
        ...

    def close(self) -> None: ...


class Sealer(Protocol):
    """Seals small secrets (owner passwords, backup identities) with a region's key."""

    def seal(self, plaintext: bytes, context: str) -> str:
        """Authenticated encryption bound to ``context`` (e.g. ``tenant/acme/owner_password``)."""
        ...

    def unseal(self, sealed: str, context: str) -> bytes:
        """Raises: IntegrityFailure if the value was altered, sealed for another context or key."""
        ...


class BackupKeys(Protocol):
    """Generates a tenant's backup identity (age X25519)."""

    def generate(self) -> tuple[str, str]:
        """Returns ``(recipient, identity)``: the public ``age1…`` and the secret
        ``AGE-SECRET-KEY-1…``."""
        ...


@dataclass(frozen=True)
class RegionKeyFiles:
    """A region's two keys after ``keys init``: where they are, which were made just now, and
    the public half of the signing key (PEM) that the disaster-recovery runbook checks
    manifests against."""

    region: str
    sealing_key: Path
    signing_key: Path
    created: tuple[str, ...]
    public_key_pem: str
    fingerprint: str

    def as_json(self) -> dict[str, object]:
        return {
            "region": self.region,
            "sealing_key": str(self.sealing_key),
            "signing_key": str(self.signing_key),
            "created": list(self.created),
            "public_key_pem": self.public_key_pem,
            "fingerprint": self.fingerprint,
        }


class Keyring(Protocol):
    """Creates a region's keys where the configuration says, never replacing one."""

    def init(self, region: RegionSettings) -> RegionKeyFiles:
        """Make the sealing key and the signing key of ``region`` if missing (0600 in a 0700
        directory) and write the signing key's public half beside it (``.sign.pub``, PEM).

        Raises: ConfigError (an existing key file is malformed or not private), Unavailable
        (the directory cannot be written).
        """
        ...
