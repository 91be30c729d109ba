"""Ports: what the services need from the outside world, as Protocols.

Adapters live in ``backends/`` (one module per real system) and are loaded by name from the
configuration. Every method documents the console errors it raises; adapters translate their
driver's exceptions into those at their edge, so nothing above sees a driver exception.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from aptien_ops.backup_policy import BackupRecord
from aptien_ops.config import ClusterSettings
from aptien_ops.domain import (
    Approval,
    ApprovalState,
    AuditEvent,
    BackupManifest,
    CatalogInfo,
    ClusterLoad,
    LoginEvent,
    Operator,
    OpsLogEntry,
    OpsLogHead,
    StateChange,
    StepRecord,
    Tenant,
    TenantCount,
    TenantState,
    VerifyResult,
)
from aptien_ops.glance import DashboardGlance


class CatalogTx(Protocol):
    """One catalog transaction. Everything done through it commits or rolls back together.

    Every method may raise ``Unavailable`` (the catalog went away) and ``Conflict`` (a
    uniqueness or serialisation conflict with a concurrent operator).
    """

    # tenants
    def tenant(self, name: str, *, for_update: bool = False) -> Tenant | None: ...
    def tenants(
        self, *, region: str | None = None, state: TenantState | None = None
    ) -> list[Tenant]: ...
    def tenant_rows(
        self, *, region: str | None = None, state: TenantState | None = None
    ) -> list[dict[str, Any]]:
        """Tenants as plain JSON-ready dicts, in the keys and order of ``Tenant.as_json()``."""
        ...

    def tenant_rows_json(
        self, *, region: str | None = None, state: TenantState | None = None
    ) -> str:
        """The same rows as one JSON array text, ASCII only (the fast path of ``tenant list --json``)."""
        ...

    def tenant_counts(self) -> list[TenantCount]: ...
    def cluster_loads(self) -> list[ClusterLoad]: ...
    def insert_tenant(self, tenant: Tenant) -> None:
        """Raises: Conflict if the name is taken."""
        ...

    def update_tenant(self, name: str, **changes: Any) -> None:
        """Set columns of the tenant row (any ``Tenant`` field but ``name``)."""
        ...

    def tenant_steps(self, name: str) -> list[StepRecord]: ...
    def mark_step(self, name: str, step: str, at: datetime, detail: str | None = None) -> None:
        """Record a completed step (idempotent: a step done twice keeps its first record)."""
        ...

    def tenant_history(self, name: str) -> list[StateChange]: ...
    def add_state_change(self, name: str, change: StateChange) -> None: ...
    def tenant_secret(self, name: str, kind: str) -> str | None:
        """A sealed secret of the tenant (``owner_password``, ``backup_identity``)."""
        ...

    def set_tenant_secret(self, name: str, kind: str, sealed: str | None) -> None:
        """Store a sealed secret, or destroy it with ``None`` (crypto-shredding)."""
        ...

    # operators
    def operator(self, name: str) -> Operator | None: ...
    def operators(self) -> list[Operator]: ...
    def insert_operator(self, operator: Operator) -> None:
        """Raises: Conflict if the operator exists."""
        ...

    def set_roles(self, name: str, roles: frozenset[str]) -> None: ...

    # approvals
    def insert_approval(
        self, action: str, target: str, params: dict[str, object], requested_by: str, at: datetime
    ) -> int: ...
    def approval(self, approval_id: int, *, for_update: bool = False) -> Approval | None: ...
    def approvals(self, state: ApprovalState | None = None) -> list[Approval]: ...
    def decide_approval(
        self, approval_id: int, state: ApprovalState, by: str, at: datetime, reason: str | None
    ) -> None: ...

    # ops log
    def opslog_head(self, *, for_update: bool = False) -> OpsLogHead | None:
        """The signed head; with ``for_update`` it serialises appenders until commit."""
        ...

    def opslog_append(self, entry: OpsLogEntry, head: OpsLogHead) -> None: ...
    def opslog_entries(
        self, *, limit: int | None = None, newest_first: bool = False
    ) -> list[OpsLogEntry]: ...
    def opslog_iter(self) -> Iterator[OpsLogEntry]:
        """Every entry in ``seq`` order, streamed."""
        ...

    # backups (an index of the region stores; their signed manifests are the truth)
    def insert_backup(self, record: BackupRecord) -> bool:
        """Index a backup; one indexed already is left as it is. Returns whether it was new."""
        ...

    def backup(self, backup_id: str) -> BackupRecord | None: ...
    def backups(
        self, *, tenant: str | None = None, include_pruned: bool = False
    ) -> list[BackupRecord]:
        """Indexed backups, oldest first."""
        ...

    def mark_backup_pruned(self, backup_id: str, at: datetime) -> None:
        """Raises: NotFound if the backup is not indexed."""
        ...

    def add_verification(self, result: VerifyResult) -> None: ...
    def verifications(self, *, tenant: str | None = None) -> list[VerifyResult]:
        """Verifications (of one tenant's backups, or all), oldest first."""
        ...


class Catalog(Protocol):
    """The control-plane database."""

    @property
    def url_for_display(self) -> str:
        """The URL without its password, for messages and the ops log."""
        ...

    def ensure_schema(self) -> CatalogInfo:
        """Create or upgrade the schema to this code's revision.

        Raises:
            Conflict: the catalog was written by a newer aptien-ops.
            Unavailable: the catalog cannot be reached.
        """
        ...

    def transaction(self) -> AbstractContextManager[CatalogTx]:
        """A read-write transaction (serialised with other writers where the store needs it)."""
        ...

    def read(self) -> AbstractContextManager[CatalogTx]:
        """A read-only transaction."""
        ...

    def dispose(self) -> None: ...


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
        """The tenant's schema version, None if it has no schema yet. Raises: NotFound, Unavailable."""
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

    def list_databases(self) -> Sequence[str]:
        """Tenant names of every database on the cluster that looks like a tenant's."""
        ...

    def connect(self, tenant: str) -> AbstractContextManager[Any]:
        """A DB-API connection to the tenant's database as the cluster's admin.

        Raises: NotFound if there is no such database, Unavailable.
        """
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
        """Returns ``(recipient, identity)``: the public ``age1…`` and the secret ``AGE-SECRET-KEY-1…``."""
        ...


class ActivityWriter(Protocol):
    """Writes synthetic platform activity into a tenant database, as the platform would
    (sandbox only). The tenant payload keys it uses live where the console never reads."""

    def __call__(
        self,
        conn: Any,
        dialect: str,
        tenant: str,
        *,
        users: int,
        audit_events: int,
        logins: int,
        seed: int,
        key_dir: Path,
        now: datetime,
        marker: str | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> Any:
        """Returns stats with ``users``, ``logins``, ``audit_events``, ``records``, ``seconds``.

        Raises: Conflict (already seeded), InvalidInput, Unavailable.
        """
        ...


class BackupRepository(Protocol):
    """One region's backup store, with the dump and restore tools of its clusters.

    Files: ``<store>/<tenant>/<backup-id>.dump.zst.age`` and ``.manifest.json`` (signed with the
    region's Ed25519 key, written last). Anything without a valid manifest does not exist.
    """

    region: str

    def create(
        self,
        tenant: str,
        cluster: ClusterSettings,
        recipient: str,
        backup_id: str,
        progress: Callable[[int], None] | None = None,
    ) -> BackupManifest:
        """Dump the tenant (consistent snapshot) → zstd → age to ``recipient`` → the store.

        ``progress`` gets plaintext bytes done. Raises: Unavailable (cluster or store down,
        disk full — nothing partial is left visible), NotFound (the database is missing).
        """
        ...

    def manifests(self, tenant: str | None = None) -> list[BackupManifest]:
        """Valid, signed manifests, oldest first."""
        ...

    def manifest(self, tenant: str, backup_id: str) -> BackupManifest:
        """Raises: NotFound; IntegrityFailure (manifest missing its data, or signature bad)."""
        ...

    def verify(
        self,
        manifest: BackupManifest,
        level: str,
        identity: str | None,
        scratch_cluster: ClusterSettings | None,
    ) -> VerifyResult:
        """quick (no key) | full (identity) | restore (identity + a scratch cluster of the same region).

        Returns a failed result (ok=False, detail says what) rather than raising for a bad backup.
        """
        ...

    def delete(self, manifest: BackupManifest) -> None: ...

    def clean_partials(self) -> list[str]:
        """Remove stale ``.partial`` files of crashed runs; returns what was removed."""
        ...


class InspectionReader(Protocol):
    """Reads login and audit metadata of one tenant database, never a payload column.

    PostgreSQL: connects as the region's inspector role (the server refuses payload reads).
    SQLite: selects the explicit column lists of ``aptien_ops.tenant_schema.METADATA_COLUMNS``.
    """

    def logins(self, tenant: str, query: Any) -> list[LoginEvent]:
        """One page of ``query`` (an ``aptien_ops.inspect_query.Query`` of kind ``logins``):
        ``query.limit`` rows newest first on ``(at, id)``, strictly below ``query.after``.

        Raises: InvalidInput (tenant name), NotFound (no such database), Forbidden (the
        server refused the inspector), Unavailable, ConfigError (no inspector password).
        """
        ...

    def audit(self, tenant: str, query: Any) -> list[AuditEvent]:
        """As :meth:`logins`, for a query of kind ``audit``."""
        ...

    def find_user(self, tenant: str, email: str) -> dict[str, Any] | None:
        """The user with exactly ``email`` (``email``, ``created_at``, ``active``, ``is_admin``,
        ``last_login``, ``last_login_ip``, ``last_attempt``, ``last_attempt_result``), or None.
        Raises as :meth:`logins`."""
        ...

    def ips_seen_before(self, tenant: str, ips: Sequence[str], before: datetime) -> set[str]:
        """Those of ``ips`` with a login event earlier than ``before``. Raises as :meth:`logins`."""
        ...

    def close(self) -> None: ...


class CatalogGlance(Protocol):
    """A light, read-only look at the catalog with the raw driver (no SQLAlchemy): what the
    TUI's first frame shows. Built from the ``CatalogSettings``; connects once per call."""

    def glance(self, operator: str) -> DashboardGlance | None:
        """The dashboard's data for ``operator``, read in one read-only transaction; None when
        the catalog is not ready for it (missing, schema revision other than this code's head,
        ops log not yet signed, or a URL form this adapter does not read).

        Raises: Unavailable (cannot connect or read), ConfigError (unreadable password).
        """
        ...
