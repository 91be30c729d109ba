"""When backups are due, and which ones retention keeps: pure functions of facts and the clock.

Nothing here touches a store, the catalog or the time of day; the service passes ``now``.
Calendar buckets (days, ISO weeks, months) are UTC.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from aptien_ops.config import VERIFY_LEVELS, BackupPolicy
from aptien_ops.domain import BackupManifest, Tenant, TenantState, VerifyResult, iso
from aptien_ops.domain.backup_index import CANCELLED, FAILED, NONE_YET, STALE, DueFact
from aptien_ops.errors import InvalidInput

#: ``bk-YYYYMMDDTHHMMSSZ-<6 hex>``: sorts by time, unique without a central counter.
BACKUP_ID = re.compile(r"^bk-\d{8}T\d{6}Z-[0-9a-f]{6}$")
_ID_CHARS = re.compile(r"^[A-Za-z0-9-]{1,64}$")


def new_backup_id(now: datetime, rng: random.Random) -> str:
    """A new id: the time, and 24 random bits from ``rng`` (the context's, seeded in tests)."""
    return f"bk-{now:%Y%m%dT%H%M%S}Z-{rng.getrandbits(24):06x}"


def check_backup_id(backup_id: str) -> str:
    """Raises: InvalidInput for text that cannot be a backup id (an unknown one is NotFound
    later)."""
    if not _ID_CHARS.fullmatch(backup_id or ""):
        raise InvalidInput(
            f"{backup_id[:40]!r} is not a backup id",
            hint="ids look like bk-20250101T020000Z-1a2b3c; see backup list",
        )
    return backup_id


def parse_level(level: str) -> str:
    """Raises: InvalidInput naming the levels."""
    if level not in VERIFY_LEVELS:
        raise InvalidInput(
            f"unknown verify level {level[:30]!r}", hint=f"one of {', '.join(VERIFY_LEVELS)}"
        )
    return level


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


@dataclass(frozen=True)
class BackupRecord:
    """A backup as the catalog indexes it (the store's signed manifest is the truth)."""

    id: str
    tenant: str
    region: str
    cluster: str
    created_at: datetime
    finished_at: datetime
    plaintext_size: int
    ciphertext_size: int
    ciphertext_sha256: str
    manifest: BackupManifest
    state: str = "complete"
    """complete or pruned (the files were deleted by retention)."""
    pruned_at: datetime | None = None

    @classmethod
    def from_manifest(cls, m: BackupManifest) -> BackupRecord:
        return cls(
            m.backup_id,
            m.tenant,
            m.region,
            m.cluster,
            _parse_time(m.started_at),
            _parse_time(m.finished_at),
            m.plaintext_size,
            m.ciphertext_size,
            m.ciphertext_sha256,
            m,
        )

    def manifest_json(self) -> str:
        return json.dumps(self.manifest.as_json(), sort_keys=True, separators=(",", ":"))

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "tenant": self.tenant,
            "region": self.region,
            "cluster": self.cluster,
            "created_at": iso(self.created_at),
            "finished_at": iso(self.finished_at),
            "plaintext_size": self.plaintext_size,
            "ciphertext_size": self.ciphertext_size,
            "ciphertext_sha256": self.ciphertext_sha256,
            "state": self.state,
            "pruned_at": iso(self.pruned_at),
        }


def manifest_from_json(text: str) -> BackupManifest:
    return BackupManifest(**json.loads(text))


@dataclass(frozen=True)
class Checked:
    """A backup with what its verifications say."""

    record: BackupRecord
    last: VerifyResult | None
    bad: bool
    """Its latest verification failed: it must not be counted on."""
    verified: bool
    """It passed the required level (or a stronger one) and has not failed since."""

    @property
    def status(self) -> str:
        if self.record.state == "pruned":
            return "pruned"
        return "failed" if self.bad else "verified" if self.verified else "unverified"


def check(
    record: BackupRecord, verifications: Sequence[VerifyResult], required_level: str
) -> Checked:
    """Judge ``record`` by its verifications (oldest first) against ``required_level``."""
    last = verifications[-1] if verifications else None
    bad = last is not None and not last.ok
    need = VERIFY_LEVELS.index(required_level)
    verified = not bad and any(v.ok and VERIFY_LEVELS.index(v.level) >= need for v in verifications)
    return Checked(record, last, bad, verified)


# ----------------------------------------------------------------------------- due


@dataclass(frozen=True)
class DueItem:
    kind: str
    """``backup`` (the tenant needs a new backup) or ``verify`` (a backup needs verifying)."""
    tenant: str
    region: str
    reason: str
    overdue: bool
    """Past the interval / verification deadline (or the latest backup failed): alert on it."""
    backup_id: str | None = None
    deadline: datetime | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "tenant": self.tenant,
            "region": self.region,
            "backup_id": self.backup_id,
            "reason": self.reason,
            "overdue": self.overdue,
            "deadline": iso(self.deadline),
        }


def _age(delta: timedelta) -> str:
    hours = int(delta.total_seconds() // 3600)
    return (
        f"{hours // 24}d {hours % 24}h"
        if hours >= 24
        else f"{hours}h {int(delta.total_seconds() // 60) % 60}m"
    )


def backup_due(
    tenant: Tenant,
    backups: Sequence[Checked],
    policy: BackupPolicy,
    now: datetime,
    cancelled_at: datetime | None = None,
) -> DueItem | None:
    """Whether ``tenant`` needs a new backup now, and why.

    Due when it has no good backup, when its latest backup failed verification, or when its
    last good backup is older than the interval. A cancelled tenant's data no longer changes:
    it is due only when it has no good backup taken since it was cancelled (``cancelled_at``).
    The catalog's due query (``backends/sql_catalog/backup_due.py``) is this rule in SQL; the
    tests hold the two to the same answers.
    """
    live = [c for c in backups if c.record.state == "complete"]
    good = [c for c in live if not c.bad]
    last_good = max(good, key=lambda c: c.record.created_at, default=None)
    newest = max(live, key=lambda c: c.record.created_at, default=None)
    since = last_good.record.created_at if last_good else tenant.created_at
    interval = timedelta(hours=policy.interval_hours)
    fact = partial(DueFact, "backup", tenant.name, tenant.region, overdue=True)
    if tenant.state == TenantState.CANCELLED and cancelled_at is not None:
        if last_good is not None and last_good.record.created_at >= cancelled_at:
            return None
        return due_item(fact(CANCELLED, since=cancelled_at, backup_id=None), policy, now)
    if newest is not None and newest.bad:
        return due_item(fact(FAILED, since=None, backup_id=newest.record.id), policy, now)
    if last_good is None:
        return due_item(fact(NONE_YET, since=since, backup_id=None), policy, now)
    if now - since >= interval:
        return due_item(fact(STALE, since=since, backup_id=None), policy, now)
    return None


def verification_due(
    tenant: Tenant, backup: Checked, policy: BackupPolicy, now: datetime
) -> DueItem | None:
    """Whether ``backup`` still needs verifying at the policy's level (purged tenants: never)."""
    if (
        backup.record.state != "complete"
        or backup.bad
        or backup.verified
        or tenant.state == TenantState.PURGED
    ):
        return None
    record = backup.record
    fact = DueFact("verify", tenant.name, tenant.region, 0, True, record.created_at, record.id)
    return due_item(fact, policy, now)


def due_item(fact: DueFact, policy: BackupPolicy, now: datetime) -> DueItem:
    """The due item ``fact`` names under ``policy`` at ``now``: why, its deadline, and whether
    it is overdue (worked out again here from the times, whatever ``fact.overdue`` says)."""
    since = fact.since or now
    if fact.kind == "verify":
        deadline = since + timedelta(hours=policy.verify_within_hours)
        late = now > deadline
        reason = f"not verified at level {policy.verify_level}" + (
            f" ({_age(now - deadline)} past the deadline)" if late else ""
        )
        return DueItem("verify", fact.tenant, fact.region, reason, late, fact.backup_id, deadline)
    deadline = since + timedelta(hours=policy.interval_hours)
    if fact.why == CANCELLED:
        reason, overdue = "cancelled; no good backup since then", now >= deadline
    elif fact.why == FAILED:
        reason, overdue, deadline = f"latest backup {fact.backup_id} failed verification", True, now
    elif fact.why == NONE_YET:
        reason, overdue = "no backup yet", now >= deadline
    else:
        reason = f"last good backup {_age(now - since)} ago (interval {policy.interval_hours}h)"
        overdue = True
    return DueItem("backup", fact.tenant, fact.region, reason, overdue, deadline=deadline)


# ----------------------------------------------------------------------------- retention


@dataclass(frozen=True)
class PruneDecision:
    backup_id: str
    tenant: str
    created_at: datetime
    keep: bool
    reasons: tuple[str, ...] = field(default=())

    def as_json(self) -> dict[str, object]:
        return {
            "backup_id": self.backup_id,
            "tenant": self.tenant,
            "created_at": iso(self.created_at),
            "action": "keep" if self.keep else "prune",
            "reasons": list(self.reasons),
        }


def _iso_week(t: datetime) -> str:
    year, week, _ = t.isocalendar()
    return f"{year}-W{week:02d}"


#: (label, policy field, bucket of a time); bucket names sort as time sorts.
_BUCKETS: tuple[tuple[str, str, Callable[[datetime], str]], ...] = (
    ("daily", "keep_daily", lambda t: t.strftime("%Y-%m-%d")),
    ("weekly", "keep_weekly", _iso_week),
    ("monthly", "keep_monthly", lambda t: t.strftime("%Y-%m")),
)


def gfs_keep(backups: Sequence[Checked], policy: BackupPolicy) -> dict[str, list[str]]:
    """Grandfather-father-son: for the newest ``keep_daily`` days that have backups, the newest
    backup of each day; likewise ISO weeks and months. A bucket prefers a verified backup to an
    unverified one, and either to one that failed verification, however much newer (the
    newest is kept anyway, by :func:`retention`). Returns ``{backup id: [why kept]}``."""
    keep: dict[str, list[str]] = {}
    for label, attr, bucket_of in _BUCKETS:
        count = getattr(policy, attr)
        if count <= 0:
            continue
        buckets: dict[str, list[Checked]] = {}
        for c in backups:
            buckets.setdefault(bucket_of(c.record.created_at), []).append(c)
        for key in sorted(buckets, reverse=True)[:count]:
            best = max(buckets[key], key=lambda c: (not c.bad, c.verified, c.record.created_at))
            keep.setdefault(best.record.id, []).append(f"{label} {key}")
    return keep


def retention(
    tenant: Tenant | None, backups: Sequence[Checked], policy: BackupPolicy, now: datetime
) -> list[PruneDecision]:
    """Keep or prune each of one tenant's complete backups (oldest first).

    - a legal hold keeps everything;
    - a cancelled tenant keeps everything until its retention end;
    - a purged tenant's backups are pruned: its identity is destroyed so they are ciphertext
      only, and deleting them also defeats an old catalog copy that still holds the sealed
      identity;
    - otherwise GFS, and the newest backup is always kept.
    - backups of a tenant the catalog does not know are kept (reported, never deleted blind).
    """
    live = sorted(
        (c for c in backups if c.record.state == "complete"), key=lambda c: c.record.created_at
    )

    def every(keep: bool, reason: str) -> list[PruneDecision]:
        return [
            PruneDecision(c.record.id, c.record.tenant, c.record.created_at, keep, (reason,))
            for c in live
        ]

    if tenant is None:
        return every(True, "tenant unknown to the catalog")
    if tenant.name in policy.legal_holds:
        return every(True, "legal hold")
    if tenant.state == TenantState.PURGED:
        return every(False, "tenant purged: its backup identity is destroyed")
    if tenant.state == TenantState.CANCELLED and (
        tenant.retain_until is None or now < tenant.retain_until
    ):
        until = iso(tenant.retain_until) if tenant.retain_until else "purge"
        return every(True, f"cancelled tenant, retained until {until}")
    keep = gfs_keep(live, policy)
    if live:
        keep.setdefault(live[-1].record.id, []).insert(0, "newest")
    return [
        PruneDecision(
            c.record.id,
            c.record.tenant,
            c.record.created_at,
            c.record.id in keep,
            tuple(keep.get(c.record.id, ["outside the retention policy"])),
        )
        for c in live
    ]
