"""What backups exist and what they need: the listing, what is due, reconciling the index with
the stores, and retention (prune)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from aptien_ops.backup_policy import (
    BackupRecord,
    Checked,
    DueItem,
    PruneDecision,
    check,
    due_item,
    retention,
)
from aptien_ops.config import VERIFY_LEVELS, BackupPolicy, region_or_fail
from aptien_ops.domain import VerifyResult, validate_tenant_name
from aptien_ops.domain.backup_index import BackupQuery, DueRule
from aptien_ops.domain.free_text import GREP
from aptien_ops.errors import NotFound, OpsError
from aptien_ops.permissions import Action
from aptien_ops.ports import CatalogTx
from aptien_ops.services.backups.common import RegionStores, by_backup
from aptien_ops.services.context import OpsContext, existing_tenant
from aptien_ops.wording import plural


@dataclass(frozen=True)
class BackupRow:
    """One indexed backup, with its status (``verified``, ``unverified``, ``failed``,
    ``missing`` from the store, ``pruned``) and its last verification."""

    record: BackupRecord
    status: str
    last_verification: VerifyResult | None

    def as_json(self) -> dict[str, object]:
        last = self.last_verification.as_json() if self.last_verification else None
        return {**self.record.as_json(), "status": self.status, "last_verification": last}


#: What :meth:`BackupCatalogue.listing` reads in one transaction: the backups, the ids of
#: those the text matched, every indexed id, the verifications, the tenant's region.
_Read = tuple[list[BackupRecord], set[str], set[str], list[VerifyResult], str | None]
#: Every status a backup's row can show.
STATUSES = ("verified", "unverified", "failed", "missing", "pruned")


@dataclass(frozen=True)
class BackupListing:
    """Backups oldest first, and what the operator should know about the index."""

    rows: list[BackupRow]
    notes: list[str] = field(default_factory=list)
    grep: str | None = None
    """The text the rows were found by (None: every backup)."""


@dataclass(frozen=True)
class RegionAttention:
    """A region's backups that need an operator's eye: due items (overdue backups and
    verifications among them) and backups whose last verification failed."""

    region: str
    due: int = 0
    late_backups: int = 0
    late_checks: int = 0
    failed: int = 0

    def as_json(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class ReconcileReport:
    """What ``backup reconcile`` found: backups indexed from the stores, indexed backups
    missing from them, and stale partial files of crashed runs it removed."""

    indexed: list[str]
    missing: list[str]
    cleaned: list[str]

    def as_json(self) -> dict[str, object]:
        return {"indexed": self.indexed, "missing": self.missing, "cleaned": self.cleaned}


def store_notes(unindexed: list[str], missing: list[str]) -> list[str]:
    """What a listing says of backups the stores hold and the index lacks, and the reverse
    (each sorted)."""
    notes = []
    if unindexed:
        shown = ", ".join(unindexed[:5])
        notes.append(
            f"not in the catalog's index but in the store: {plural(len(unindexed), 'backup')},"
            f" {shown}"
            " (aptien-ops backup reconcile)"
        )
    if missing:
        shown = ", ".join(missing[:5])
        notes.append(
            f"in the catalog but missing from the store: {plural(len(missing), 'backup')}, {shown}"
        )
    return notes


class BackupCatalogue:
    def __init__(self, ctx: OpsContext, stores: RegionStores) -> None:
        self.ctx = ctx
        self.stores = stores

    def checked(self, tx: CatalogTx) -> dict[str, list[Checked]]:
        """Every indexed backup with its verification state, per tenant."""
        verified = by_backup(tx.backups.verifications())
        out: dict[str, list[Checked]] = {}
        for record in tx.backups.all():
            level = self.stores.policy(record.region).verify_level
            out.setdefault(record.tenant, []).append(
                check(record, verified.get(record.id, []), level)
            )
        return out

    # -- listing ----------------------------------------------------------------------------

    def listing(
        self, tenant: str | None = None, *, include_pruned: bool = False, grep: str | None = None
    ) -> BackupListing:
        """Backups with their status and last verification, as the catalog indexes them; a
        note says when the stores hold backups the index does not (``backup reconcile``).

        With ``grep``, only the backups whose id, tenant, region, cluster, time of creation
        or status holds that text (the size and the last verification are not searched);
        the note of missing files then counts those backups only.

        A pure read: it lists the stores' manifests but writes nothing.
        Raises: InvalidInput, NotFound (unknown tenant), Forbidden, Unavailable.
        """
        if tenant is not None:
            validate_tenant_name(tenant)
        needle = GREP.optional(grep)
        # A status is computed, not stored: a text that names one needs every backup read.
        statuses = {st for st in STATUSES if needle and needle.lower() in st}

        def read(tx: CatalogTx) -> _Read:
            region = existing_tenant(tx, tenant).region if tenant is not None else None
            records = tx.backups.all(tenant=tenant, include_pruned=True, grep=needle)
            found = {r.id for r in records}
            if statuses:
                records = tx.backups.all(tenant=tenant, include_pruned=True)
            indexed = tx.backups.ids(tenant=tenant) if needle else found
            return records, found, indexed, tx.backups.verifications(tenant=tenant), region

        records, found, indexed, verifications, only = self.ctx.view(
            Action.BACKUP_VIEW, tenant or "backups", read
        )
        regions = [only] if only else list(self.ctx.settings.regions)
        stored = self.stored(regions, tenant)
        unindexed = sorted(bid for bid in stored if bid not in indexed)
        missing = self._missing(records, regions, stored)
        notes = store_notes(unindexed, missing)
        verified = by_backup(verifications)
        rows = []
        for record in records:
            if record.state == "pruned" and not include_pruned:
                continue
            level = self.stores.policy(record.region).verify_level
            checked = check(record, verified.get(record.id, []), level)
            status = "missing" if record.id in missing else checked.status
            rows.append(BackupRow(record, status, checked.last))
        if statuses:
            rows = [r for r in rows if r.status in statuses or r.record.id in found]
        return BackupListing(rows, notes, needle)

    def stored(self, regions: list[str], tenant: str | None) -> dict[str, BackupRecord]:
        """The backups each region's store holds (valid signed manifests), by id."""
        return {
            m.backup_id: BackupRecord.from_manifest(m)
            for region in regions
            for m in self.stores.repository(region).manifests(tenant)
            if m.region == region
        }

    @staticmethod
    def _missing(
        records: list[BackupRecord], regions: list[str], stored: dict[str, BackupRecord]
    ) -> list[str]:
        return sorted(
            r.id
            for r in records
            if r.state == "complete" and r.region in regions and r.id not in stored
        )

    # -- reconcile --------------------------------------------------------------------------

    def reconcile(self, region: str | None = None) -> ReconcileReport:
        """Bring the catalog's index in line with the stores (of ``region``, or all): index
        what the stores hold, report what they lost, remove stale partial files of crashed
        runs. Logged; ``backup run`` and ``fleet check`` run it too.

        Raises: InvalidInput (region), Forbidden, Unavailable (a store or the catalog).
        """
        if region is not None:
            region_or_fail(self.ctx.settings, region)
        regions = [region] if region else list(self.ctx.settings.regions)
        with self.ctx.audited(Action.BACKUP_RECONCILE, region or "backups") as attempt:
            cleaned = [f for r in regions for f in self.stores.repository(r).clean_partials()]
            stored = self.stored(regions, None)
            with attempt.transaction() as tx:
                # Ids only, of these regions: not every record of every region (fleet check
                # and each backup run reconcile one region at a time, with the index growing).
                indexed = set().union(*(tx.backups.ids(region=r) for r in regions))
                complete = set().union(
                    *(tx.backups.ids(region=r, state="complete") for r in regions)
                )
                # A stored backup indexed under another region (never written so) is left
                # as it is: looked up one by one, as there are few new ones.
                new = [
                    record
                    for bid, record in sorted(stored.items())
                    if bid not in indexed and tx.backups.get(bid) is None
                ]
                for record in new:
                    tx.backups.insert(record)
                report = ReconcileReport(
                    [r.id for r in new], sorted(complete - stored.keys()), cleaned
                )
                attempt.ok(
                    indexed=len(report.indexed), missing=len(report.missing), cleaned=cleaned
                )
        return report

    def unreconciled(self, region: str) -> tuple[list[BackupRecord], list[BackupRecord]]:
        """What :meth:`reconcile` would find in ``region`` without changing anything: the
        backups its store holds that the index lacks, and the indexed ones the store lacks
        (``fleet check`` run by an operator who may not reconcile).

        Raises: InvalidInput (region), Forbidden, Unavailable (the store).
        """
        region_or_fail(self.ctx.settings, region)
        records = self.ctx.view(
            Action.BACKUP_VIEW, region, lambda tx: tx.backups.all(include_pruned=True)
        )
        stored = self.stored([region], None)
        indexed = {r.id for r in records}
        missing = set(self._missing(records, [region], stored))
        unindexed = [record for bid, record in sorted(stored.items()) if bid not in indexed]
        return unindexed, [r for r in records if r.id in missing]

    # -- due ----------------------------------------------------------------------------------

    def due(self, *, region: str | None = None) -> list[DueItem]:
        """Tenants that need a backup and backups that need verifying, overdue ones first.

        Raises: InvalidInput (unknown region), Forbidden.
        """
        if region is not None:
            region_or_fail(self.ctx.settings, region)
        return self.ctx.view(
            Action.BACKUP_VIEW, region or "backups", lambda tx: self.due_items(tx, region)
        )

    def attention(self) -> list[RegionAttention]:
        """What needs an operator's eye, counted per region (the dashboard's card): what is
        due, what of it is overdue, and the backups whose last verification failed. Counted
        by the catalog (one grouped query for what is due, one count per region for what
        failed); the stores are opened (a store that cannot be is reported as the listing
        reports it) but not listed.

        Raises: Forbidden, InvalidInput or Unavailable (a region's store).
        """
        rules = self.due_rules(self.ctx.now())

        def read(tx: CatalogTx) -> list[RegionAttention]:
            due = {c.region: c for c in tx.backups.due_counts(rules)}
            failed = {
                region: tx.backups.tally(BackupQuery(region), rules).failed
                for region in self.ctx.settings.regions
            }
            return [
                RegionAttention(
                    region,
                    due=due[region].due if region in due else 0,
                    late_backups=due[region].late_backups if region in due else 0,
                    late_checks=due[region].late_checks if region in due else 0,
                    failed=failed.get(region, 0),
                )
                for region in sorted({*due, *failed})
            ]

        counted = self.ctx.view(Action.BACKUP_VIEW, "backups", read)
        for region in self.ctx.settings.regions:
            self.stores.repository(region)
        return counted

    def due_rules(self, now: datetime) -> tuple[DueRule, ...]:
        """Each configured region's policy at ``now`` as the catalog's due query applies it
        (and the default policy for a region the configuration does not name)."""

        def rule(region: str | None, policy: BackupPolicy) -> DueRule:
            levels = VERIFY_LEVELS[VERIFY_LEVELS.index(policy.verify_level) :]
            return DueRule(
                region,
                now - timedelta(hours=policy.interval_hours),
                now - timedelta(hours=policy.verify_within_hours),
                levels,
            )

        named = [rule(r, self.stores.policy(r)) for r in self.ctx.settings.regions]
        return (*named, rule(None, BackupPolicy()))

    def due_items(
        self,
        tx: CatalogTx,
        region: str | None,
        *,
        limit: int | None = None,
        kind: str | None = None,
        now: datetime | None = None,
    ) -> list[DueItem]:
        """What is due (of ``kind``) at ``now`` (the clock's), most urgent first (at most
        ``limit``): worked out by the catalog, so only the items returned are made here."""
        now = now or self.ctx.now()
        facts = tx.backups.due(self.due_rules(now), region=region, kind=kind, limit=limit)
        return [due_item(f, self.stores.policy(f.region), now) for f in facts]

    # -- prune ----------------------------------------------------------------------------------

    def prune(
        self,
        *,
        dry_run: bool = True,
        confirm: Callable[[list[PruneDecision]], None] | None = None,
        region: str | None = None,
    ) -> list[PruneDecision]:
        """Apply retention (GFS, legal holds, cancelled tenants' retention, purged tenants).

        With ``dry_run`` nothing is deleted (and viewers may ask). Otherwise ``confirm`` is
        called with what would be deleted (it raises to cancel); ``region`` keeps to that
        region's backups (a job of the queue prunes one region). Returns every decision.
        Raises: Forbidden, InvalidInput (cancelled), Unavailable (a store; what was deleted
        before it is recorded, and pruning again completes it).
        """
        action = Action.BACKUP_VIEW if dry_run else Action.BACKUP_PRUNE
        params = {"dry_run": dry_run, **({"region": region} if region else {})}
        decisions = self.ctx.view(
            action, region or "backups", lambda tx: self._plan_prune(tx, region), params
        )
        doomed: dict[str, list[PruneDecision]] = {}
        for d in decisions:
            if not d.keep:
                doomed.setdefault(d.tenant, []).append(d)
        if dry_run or not doomed:
            return decisions
        if confirm is not None:
            confirm([d for d in decisions if not d.keep])
        errors: list[OpsError] = []
        for tenant, items in sorted(doomed.items()):
            try:
                self._prune_tenant(tenant, items)
            except OpsError as exc:
                errors.append(exc)
        if errors:
            raise errors[0]
        return decisions

    def _plan_prune(self, tx: CatalogTx, only: str | None = None) -> list[PruneDecision]:
        now = self.ctx.now()
        tenants = {t.name: t for t in tx.tenants.all()}
        decisions: list[PruneDecision] = []
        for name, backups in sorted(self.checked(tx).items()):
            region = backups[0].record.region
            if only is not None and region != only:
                continue
            if region not in self.ctx.settings.regions:
                why = ("region not in the configuration",)
                decisions += [
                    PruneDecision(c.record.id, name, c.record.created_at, True, why)
                    for c in backups
                ]
                continue
            decisions += retention(tenants.get(name), backups, self.stores.policy(region), now)
        return decisions

    def _prune_tenant(self, tenant: str, items: list[PruneDecision]) -> None:
        """One tenant's doomed backups: deleted from the store, then marked pruned (one
        attempt). Raises: the first store error, after recording what was deleted before it."""
        params = {"backups": [d.backup_id for d in items]}
        with self.ctx.audited(Action.BACKUP_PRUNE, tenant, params) as attempt:
            with self.ctx.catalog.read() as tx:
                records = [r for d in items if (r := tx.backups.get(d.backup_id)) is not None]
            deleted: list[str] = []
            failure: OpsError | None = None
            for record in records:
                try:
                    self.stores.repository(record.region).delete(record.manifest)
                except NotFound:
                    pass  # gone already (an earlier prune stopped before recording it)
                except OpsError as exc:
                    failure = failure or exc
                    continue
                deleted.append(record.id)
            with attempt.transaction() as tx:
                for backup_id in deleted:
                    tx.backups.mark_pruned(backup_id, self.ctx.now())
                if failure is None:
                    attempt.ok(deleted=len(deleted))
            if failure is not None:
                attempt.params.update(deleted=len(deleted))
                raise failure
