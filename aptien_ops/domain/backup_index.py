"""What a list of backups and the due list ask the catalog's backup index, and what it
answers: a page and its counts, what is due and its counts, worked out by the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aptien_ops.domain.tenants import TenantState

#: Tenants whose database exists and may be backed up.
BACKED_UP_STATES = (TenantState.ACTIVE, TenantState.SUSPENDED, TenantState.CANCELLED)
#: Why a tenant needs a backup, as the catalog's due query answers it.
CANCELLED, FAILED, NONE_YET, STALE = 1, 2, 3, 4


@dataclass(frozen=True)
class BackupQuery:
    """Which backups a list shows, newest first: one region (None: all), and those whose id,
    tenant, region, cluster, time of creation (to the minute) or status holds ``grep``."""

    region: str | None = None
    grep: str | None = None


@dataclass(frozen=True)
class IndexTally:
    """What a :class:`BackupQuery` finds in the index, counted in one pass: backups found
    (``matches``) of those in the region (``total``), the tenants they belong to, those whose
    latest verification failed, and those missing from the stores (their status reads
    "missing", not "failed")."""

    matches: int
    total: int
    tenants: int
    failed: int
    missing: int = 0


@dataclass(frozen=True)
class DueRule:
    """A region's backup policy at one moment, as the due query applies it: a tenant whose
    last good backup is no later than ``backup_before`` is due; a backup created before
    ``verify_before`` and not verified at one of ``levels`` is overdue. ``region`` None: the
    rule of every region no other rule names."""

    region: str | None
    backup_before: datetime
    verify_before: datetime
    levels: tuple[str, ...]


@dataclass(frozen=True)
class DueFact:
    """One due item as the catalog answers it. ``kind`` ``backup``: ``why`` says which rule
    (:data:`CANCELLED`, :data:`FAILED`, :data:`NONE_YET`, :data:`STALE`), ``since`` the time it
    counts from (cancelled, created, last good backup), ``backup_id`` the failed backup;
    ``verify``: the backup and its time of creation."""

    kind: str
    tenant: str
    region: str
    why: int
    overdue: bool
    since: datetime | None
    backup_id: str | None


@dataclass(frozen=True)
class DueCount:
    """What is due in one region, counted: items, overdue backups and verifications, and the
    tenants due a backup."""

    region: str
    due: int = 0
    late_backups: int = 0
    late_checks: int = 0
    backups: int = 0
