"""A page of the backup index and a page of what is due, each with its counts: what the
Backups screen and the dashboard read, the same in a fleet of 10 or of 10,000 tenants.

The catalog filters, judges, orders, cuts and counts (one query for the page, one aggregate
for its counts); Python makes rows and due items of the page only.
"""

from __future__ import annotations

from dataclasses import dataclass

from aptien_ops.backup_policy import DueItem, check
from aptien_ops.config import region_or_fail
from aptien_ops.domain.backup_index import BackupQuery, DueCount, IndexTally
from aptien_ops.domain.free_text import GREP
from aptien_ops.errors import InvalidInput
from aptien_ops.permissions import Action
from aptien_ops.ports import CatalogTx
from aptien_ops.services.backups.catalogue import BackupCatalogue, BackupRow, store_notes
from aptien_ops.services.backups.common import by_backup
from aptien_ops.services.context import OpsContext

#: The most backups (or due items) one page holds.
PAGE_LIMIT = 500


@dataclass(frozen=True)
class BackupPage:
    """Backups newest first from position ``offset`` of the ``tally.matches`` that ``query``
    finds, with what the operator should know about the index (as the listing's notes)."""

    query: BackupQuery
    rows: tuple[BackupRow, ...]
    offset: int
    tally: IndexTally
    notes: tuple[str, ...] = ()

    def as_json(self) -> dict[str, object]:
        return {
            "region": self.query.region,
            "grep": self.query.grep,
            "offset": self.offset,
            "matches": self.tally.matches,
            "total": self.tally.total,
            "tenants": self.tally.tenants,
            "failed": self.tally.failed,
            "missing": self.tally.missing,
            "backups": [r.as_json() for r in self.rows],
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class DuePage:
    """The most urgent due items (of one region, or all), what is due counted per region, and
    the first tenant due a backup (a dialog's suggestion; "" when none is)."""

    items: tuple[DueItem, ...]
    counts: tuple[DueCount, ...]
    first_backup: str = ""

    @property
    def due(self) -> int:
        return sum(c.due for c in self.counts)

    @property
    def late(self) -> int:
        return sum(c.late_backups + c.late_checks for c in self.counts)

    @property
    def backups(self) -> int:
        """Tenants due a backup."""
        return sum(c.backups for c in self.counts)

    def as_json(self) -> dict[str, object]:
        return {
            "items": [i.as_json() for i in self.items],
            "due": self.due,
            "late": self.late,
            "backups": self.backups,
            "first_backup": self.first_backup or None,
        }


def _limited(limit: int, offset: int = 0) -> None:
    if not 1 <= limit <= PAGE_LIMIT:
        raise InvalidInput(f"a page holds 1 to {PAGE_LIMIT} items, not {limit}")
    if offset < 0:
        raise InvalidInput(f"a page starts at position 0 or later, not {offset}")


class BackupPages:
    def __init__(self, ctx: OpsContext, catalogue: BackupCatalogue) -> None:
        self.ctx = ctx
        self.catalogue = catalogue

    def page(self, query: BackupQuery, *, offset: int = 0, limit: int = 100) -> BackupPage:
        """At most ``limit`` of the complete backups ``query`` finds, newest first from
        position ``offset``, with their status and last verification, and their counts: one
        page of the index and one aggregate, however large it is. The region's stores are
        listed as the listing lists them (their notes; "missing" statuses).

        Raises: InvalidInput (limit, offset, region, grep too long), Forbidden, Unavailable.
        """
        _limited(limit, offset)
        if query.region is not None:
            region_or_fail(self.ctx.settings, query.region)
        query = BackupQuery(query.region, GREP.optional(query.grep) or None)
        target = query.region or "backups"
        # Authorised before the region's stores are listed: a refusal touches no store.
        self.ctx.view(Action.BACKUP_VIEW, target, lambda tx: None)
        regions = [query.region] if query.region else list(self.ctx.settings.regions)
        stored = self.catalogue.stored(regions, None)
        rules = self.catalogue.due_rules(self.ctx.now())

        def read(tx: CatalogTx) -> BackupPage:
            indexed = tx.backups.ids()
            complete = tx.backups.ids(region=query.region, state="complete")
            missing = sorted(complete - stored.keys())
            unindexed = sorted(stored.keys() - indexed)
            tally = tx.backups.tally(query, rules, missing=missing)
            start = min(offset, max(0, tally.matches - limit))
            records = tx.backups.page(query, rules, offset=start, limit=limit, missing=missing)
            verified = by_backup(tx.backups.verifications(ids=[r.id for r in records]))
            gone, rows = set(missing), []
            for record in records:
                level = self.catalogue.stores.policy(record.region).verify_level
                checked = check(record, verified.get(record.id, []), level)
                status = "missing" if record.id in gone else checked.status
                rows.append(BackupRow(record, status, checked.last))
            notes = tuple(store_notes(unindexed, missing))
            return BackupPage(query, tuple(rows), start, tally, notes)

        return self.ctx.view(Action.BACKUP_VIEW, target, read)

    def due_page(self, region: str | None = None, *, limit: int = 40) -> DuePage:
        """The ``limit`` most urgent due items (of ``region``), and what is due counted: the
        catalog works it out, so only the items shown are made.

        Raises: InvalidInput (limit, unknown region), Forbidden.
        """
        _limited(limit)
        if region is not None:
            region_or_fail(self.ctx.settings, region)
        now = self.ctx.now()
        rules, due = self.catalogue.due_rules(now), self.catalogue.due_items

        def read(tx: CatalogTx) -> DuePage:
            items = due(tx, region, limit=limit, now=now)
            counts = tx.backups.due_counts(rules, region=region)
            first = next((i.tenant for i in items if i.kind == "backup"), "")
            if not first and any(c.backups for c in counts):
                first = due(tx, region, limit=1, kind="backup", now=now)[0].tenant
            return DuePage(tuple(items), tuple(counts), first)

        return self.ctx.view(Action.BACKUP_VIEW, region or "backups", read)
