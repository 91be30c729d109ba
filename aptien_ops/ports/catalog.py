"""The catalog (control-plane database): one transaction, one small repository per record group.

A use case opens one transaction and reaches each group of records through it
(``tx.tenants``, ``tx.operators``, ``tx.approvals``, ``tx.opslog``, ``tx.backups``, …), so
everything it changes commits or rolls back together. A new group of records gets its own
repository protocol here, its own module in the SQL adapter, and an attribute on
:class:`CatalogTx` (``docs/architecture.md`` walks through it).

Every repository method may raise ``Unavailable`` (the catalog went away) and ``Conflict``
(a uniqueness or serialisation conflict with a concurrent operator); none raises a driver
exception.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol

from aptien_ops.backup_policy import BackupRecord
from aptien_ops.domain import (
    Approval,
    ApprovalState,
    CatalogInfo,
    CatalogInstall,
    ClusterLoad,
    ListedTenant,
    Operator,
    OpsLogEntry,
    OpsLogHead,
    StateChange,
    StepRecord,
    Tenant,
    TenantCount,
    TenantQuery,
    TenantState,
    TenantTally,
    VerifyResult,
)
from aptien_ops.domain.backup_index import BackupQuery, DueCount, DueFact, DueRule, IndexTally
from aptien_ops.ports.billing import BillingRepository
from aptien_ops.ports.incidents import IncidentRepository, IncidentScopeRepository
from aptien_ops.ports.op_notices import NoticeRepository
from aptien_ops.ports.outbox import BreachOutbox
from aptien_ops.ports.partners import AssignmentRepository, PartnerRepository


class TenantRepository(Protocol):
    """The tenants of every region, one row each (purged ones stay as tombstones)."""

    def get(self, name: str, *, for_update: bool = False) -> Tenant | None:
        """The tenant, or None; ``for_update`` locks its row until commit."""
        ...

    def all(self, *, region: str | None = None, state: TenantState | None = None) -> list[Tenant]:
        """Tenants by name, optionally of one region and/or state."""
        ...

    def rows_json(self, *, region: str | None = None, state: TenantState | None = None) -> str:
        """:meth:`all` as one JSON array text in ``Tenant.as_json()``'s keys, ASCII only.

        The hot path of ``tenant list --json``: the database writes the JSON.
        """
        ...

    def page(self, query: TenantQuery, *, offset: int, limit: int) -> list[ListedTenant]:
        """At most ``limit`` of the tenants ``query`` finds, in its order, from ``offset``,
        each with its licence state (one query: the tenants joined with their billing)."""
        ...

    def position(self, name: str, query: TenantQuery) -> int | None:
        """How many tenants ``query`` finds before ``name`` in its order (None: it does not
        find ``name``)."""
        ...

    def tally(self, query: TenantQuery) -> TenantTally:
        """How many tenants ``query`` finds, and how many its region holds (one aggregate)."""
        ...

    def counts(self) -> list[TenantCount]:
        """Tenants per region and state, ordered by both."""
        ...

    def cluster_loads(self) -> list[ClusterLoad]:
        """Live (not purged) tenants per cluster; clusters known to the catalog show 0."""
        ...

    def insert(self, tenant: Tenant) -> None:
        """Raises: Conflict if the name is taken."""
        ...

    def update(self, tenant: Tenant, *, by: str) -> Tenant:
        """Store ``tenant`` if its row is at its version (bumped). Raises: NotFound, Stale."""
        ...


class TenantHistory(Protocol):
    """What happened to each tenant: provisioning steps done, and every change of state."""

    def steps(self, tenant: str) -> list[StepRecord]:
        """Completed provisioning steps, in the order they were done."""
        ...

    def mark_step(self, tenant: str, step: str, at: datetime, detail: str | None = None) -> None:
        """Record a completed step (idempotent: a step done twice keeps its first record)."""
        ...

    def state_changes(self, tenant: str) -> list[StateChange]:
        """Every transition, oldest first (kept after purge, for accountability)."""
        ...

    def last_entered(self, state: str) -> dict[str, datetime]:
        """When each tenant last entered ``state``, by tenant (one read for the whole fleet;
        tenants that never did are absent)."""
        ...

    def add_state_change(self, tenant: str, change: StateChange) -> None: ...


class TenantSecrets(Protocol):
    """Small secrets of a tenant, sealed with its region's key (``owner_password``,
    ``backup_identity``). Destroying one is crypto-shredding: it is scrubbed from the
    catalog's files after commit, as far as the database allows."""

    def get(self, tenant: str, kind: str) -> str | None: ...

    def put(self, tenant: str, kind: str, sealed: str) -> None:
        """Store (or replace) a sealed secret."""
        ...

    def destroy(self, tenant: str, kind: str) -> None:
        """Delete it for good (idempotent)."""
        ...


class OperatorRepository(Protocol):
    """Aptien staff who may use the console, and their roles."""

    def get(self, name: str) -> Operator | None: ...

    def all(self, *, for_update: bool = False) -> list[Operator]:
        """Every operator, by name (``for_update``: their rows locked until commit)."""
        ...

    def insert(self, operator: Operator) -> None:
        """Raises: Conflict if the operator exists."""
        ...

    def set_roles(self, op: Operator, roles: frozenset[str], *, by: str, at: datetime) -> Operator:
        """Replace the roles if its row is at ``op.version``. Raises: NotFound, Stale."""
        ...


class ApprovalRepository(Protocol):
    """Four-eyes requests and their decisions."""

    def insert(
        self, action: str, target: str, params: dict[str, object], requested_by: str, at: datetime
    ) -> int:
        """Record a pending request; returns its id (never reused)."""
        ...

    def get(self, approval_id: int, *, for_update: bool = False) -> Approval | None: ...

    def all(self, state: ApprovalState | None = None, *, grep: str | None = None) -> list[Approval]:
        """Requests by id, optionally in one state; with ``grep``, only those one of whose
        shown columns holds that text (case-insensitive, a literal: no wildcards)."""
        ...

    def decide(
        self, approval: Approval, state: ApprovalState, by: str, at: datetime, reason: str | None
    ) -> None:
        """If its row is at ``approval.version`` (bumped). Raises: NotFound, Stale."""
        ...


class OpsLogRepository(Protocol):
    """The ops log's entries and its signed head (kept outside the entries' table)."""

    def head(self, *, for_update: bool = False) -> OpsLogHead | None:
        """The signed head; with ``for_update`` it serialises appenders until commit."""
        ...

    def append(self, entry: OpsLogEntry, head: OpsLogHead) -> None:
        """Append ``entry`` and move the head. Raises: Conflict (another appender won)."""
        ...

    def entries(self, *, limit: int | None = None, newest_first: bool = False) -> list[OpsLogEntry]:
        """Entries by seq (descending with ``newest_first``), cut to ``limit``."""
        ...

    def page(
        self,
        *,
        limit: int,
        before: int | None = None,
        after: int | None = None,
        grep: str | None = None,
    ) -> list[OpsLogEntry]:
        """At most ``limit`` entries, newest first: those just older than seq ``before``, or
        just newer than seq ``after`` (``after=0``: the oldest), or else the newest. Keyset
        paging on ``seq``: as fast on the millionth page as on the first. With ``grep``, only
        entries one of whose shown columns holds that text (case-insensitive, a literal)."""
        ...

    def count(self, *, newer_than: int | None = None, grep: str | None = None) -> int:
        """How many entries there are (with a seq above ``newer_than``, holding ``grep``)."""
        ...

    def stream(self) -> Iterator[OpsLogEntry]:
        """Every entry in ``seq`` order, fetched in batches; consume it inside the transaction."""
        ...

    def for_approval(self, approval_id: int) -> list[OpsLogEntry]:
        """The entries that name ``approval_id`` (its request, its decisions), by seq."""
        ...


class BackupIndex(Protocol):
    """The catalog's index of the region stores (their signed manifests are the truth), and
    the results of verifying them."""

    def insert(self, record: BackupRecord) -> bool:
        """Index a backup; one indexed already is left as it is. Returns whether it was new."""
        ...

    def get(self, backup_id: str) -> BackupRecord | None: ...

    def all(
        self, *, tenant: str | None = None, include_pruned: bool = False, grep: str | None = None
    ) -> list[BackupRecord]:
        """Indexed backups, oldest first; with ``grep``, only those whose id, tenant, region,
        cluster or time of creation holds that text (case-insensitive, a literal)."""
        ...

    def ids(
        self, *, tenant: str | None = None, region: str | None = None, state: str | None = None
    ) -> set[str]:
        """The id of every indexed backup (of ``tenant``, of ``region``, in ``state``; pruned
        ones too unless ``state`` says)."""
        ...

    def mark_pruned(self, backup_id: str, at: datetime) -> None:
        """Raises: NotFound if the backup is not indexed."""
        ...

    def add_verification(self, result: VerifyResult) -> None: ...

    def verifications(
        self, *, tenant: str | None = None, ids: Collection[str] | None = None
    ) -> list[VerifyResult]:
        """Verifications (of one tenant's backups, of the backups ``ids``, or all), oldest
        first."""
        ...

    def page(
        self,
        query: BackupQuery,
        rules: Sequence[DueRule],
        *,
        offset: int,
        limit: int,
        missing: Collection[str] = (),
    ) -> list[BackupRecord]:
        """The complete backups ``query`` finds (``rules``: each region's verifying levels;
        ``missing``: ids the stores lack), newest first, ``limit`` from ``offset``."""
        ...

    def tally(
        self, query: BackupQuery, rules: Sequence[DueRule], *, missing: Collection[str] = ()
    ) -> IndexTally:
        """What ``query`` finds, counted by the catalog in one query."""
        ...

    def due(
        self,
        rules: Sequence[DueRule],
        *,
        region: str | None = None,
        kind: str | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> list[DueFact]:
        """What is due under ``rules`` (in ``region``; of ``kind``), overdue first, then by
        region, tenant, kind and backup, at most ``limit``."""
        ...

    def due_counts(self, rules: Sequence[DueRule], *, region: str | None = None) -> list[DueCount]:
        """What is due under ``rules``, counted per region by the catalog."""
        ...


class PolicyRepository(Protocol):
    """The catalog's own facts (its mode) and the security policy it holds (production)."""

    def mode(self) -> str | None:
        """``sandbox`` or ``production`` as recorded when the catalog was created; None on a
        catalog from before this was recorded."""
        ...

    def record_mode(self, mode: str) -> None:
        """Record the mode once. Raises: Conflict if a mode is recorded already."""
        ...

    def values(self) -> dict[str, str]:
        """Every policy key with its JSON value."""
        ...

    def put(self, key: str, value: str, by: str, at: datetime, approval_id: int | None) -> None:
        """Set one key (JSON text), noting who set it and under which approval."""
        ...


class CatalogTx(Protocol):
    """One catalog transaction: everything done through its repositories commits or rolls
    back together."""

    @property
    def tenants(self) -> TenantRepository: ...
    @property
    def tenant_history(self) -> TenantHistory: ...
    @property
    def secrets(self) -> TenantSecrets: ...
    @property
    def operators(self) -> OperatorRepository: ...
    @property
    def approvals(self) -> ApprovalRepository: ...
    @property
    def opslog(self) -> OpsLogRepository: ...
    @property
    def backups(self) -> BackupIndex: ...
    @property
    def policy(self) -> PolicyRepository: ...
    @property
    def partners(self) -> PartnerRepository: ...
    @property
    def partner_assignments(self) -> AssignmentRepository: ...
    @property
    def breach_outbox(self) -> BreachOutbox: ...
    @property
    def incidents(self) -> IncidentRepository: ...
    @property
    def incident_scope(self) -> IncidentScopeRepository: ...
    @property
    def billing(self) -> BillingRepository: ...
    @property
    def op_notices(self) -> NoticeRepository: ...


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

    def transaction(self, *, durable: bool = True) -> AbstractContextManager[CatalogTx]:
        """A read-write transaction (serialised with other writers where the store needs it).

        ``durable=False`` relaxes only the commit's flush to disk: a committed transaction
        survives the process being killed (``kill -9``), but an OS crash or a power cut may
        lose the last such commits. Only for writes whose loss is harmless and repaired by a
        rerun: the notice outbox's marks (a lost mark resends with the same Message-ID). The
        connection's normal durability is restored afterwards.
        """
        ...

    def read(self) -> AbstractContextManager[CatalogTx]:
        """A read-only transaction."""
        ...

    def exclusive(self, name: str) -> AbstractContextManager[None]:
        """Hold the lock ``name`` against every process and host of this catalog for the
        block; released when it ends or its holder dies. Raises: Conflict (held), Unavailable.
        """
        ...

    def dispose(self) -> None: ...


class CatalogProbe(Protocol):
    """The catalog as ``aptien-ops doctor`` reads it: as it is, never created, upgraded or
    bootstrapped (a new SQLite catalog's file is not even made)."""

    @property
    def url_for_display(self) -> str: ...

    def install_state(self) -> CatalogInstall:
        """The schema's revision and, on PostgreSQL, what the runtime role may do to the ops
        log and whether its append-only triggers are in place (the server's own answers).

        Raises: Unavailable (the catalog cannot be reached).
        """
        ...

    def read(self) -> AbstractContextManager[CatalogTx]:
        """A read-only transaction; only on a schema at this code's revision.

        Raises: Unavailable.
        """
        ...

    def dispose(self) -> None: ...
