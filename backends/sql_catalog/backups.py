"""The index of the region stores' backups, and their verifications."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from aptien_ops.backends import catalog_schema as s
from aptien_ops.backends.sql_catalog.backup_due import counts_of, items_of
from aptien_ops.backends.sql_catalog.backup_query import page_of, tally_of
from aptien_ops.backends.sql_catalog.base import Repository
from aptien_ops.backends.sql_catalog.errors import guarded
from aptien_ops.backends.sql_catalog.text_filter import grep_clause, minute_text
from aptien_ops.backup_policy import BackupRecord, manifest_from_json
from aptien_ops.domain import VerifyResult
from aptien_ops.domain.backup_index import BackupQuery, DueCount, DueFact, DueRule, IndexTally
from aptien_ops.errors import NotFound
from aptien_ops.ports import BackupIndex


def _record(row: Any) -> BackupRecord:
    return BackupRecord(
        row.id,
        row.tenant,
        row.region,
        row.cluster,
        row.created_at,
        row.finished_at,
        row.plaintext_size,
        row.ciphertext_size,
        row.ciphertext_sha256,
        manifest_from_json(row.manifest),
        row.state,
        row.pruned_at,
    )


class SqlBackupIndex(Repository):
    """Implements :class:`aptien_ops.ports.BackupIndex`."""

    @guarded
    def insert(self, record: BackupRecord) -> bool:
        """Index a backup; one indexed already is left as it is. Returns whether it was new."""
        stmt = self.upsert(s.backups).values(
            id=record.id,
            tenant=record.tenant,
            region=record.region,
            cluster=record.cluster,
            created_at=record.created_at,
            finished_at=record.finished_at,
            plaintext_size=record.plaintext_size,
            ciphertext_size=record.ciphertext_size,
            ciphertext_sha256=record.ciphertext_sha256,
            state=record.state,
            pruned_at=record.pruned_at,
            manifest=record.manifest_json(),
        )
        return bool(self.conn.execute(stmt.on_conflict_do_nothing(index_elements=["id"])).rowcount)

    @guarded
    def get(self, backup_id: str) -> BackupRecord | None:
        row = self.conn.execute(select(s.backups).where(s.backups.c.id == backup_id)).first()
        return _record(row) if row is not None else None

    @guarded
    def all(
        self, *, tenant: str | None = None, include_pruned: bool = False, grep: str | None = None
    ) -> list[BackupRecord]:
        """Indexed backups, oldest first; with ``grep``, those whose id, tenant, region,
        cluster or time of creation holds it."""
        b = s.backups.c
        stmt = select(s.backups).order_by(b.created_at, b.id)
        if tenant is not None:
            stmt = stmt.where(b.tenant == tenant)
        if not include_pruned:
            stmt = stmt.where(b.state == "complete")
        if grep:
            shown = (b.id, b.tenant, b.region, b.cluster, minute_text(b.created_at, pg=self.tx.pg))
            stmt = stmt.where(grep_clause(shown, grep))
        return [_record(row) for row in self.conn.execute(stmt)]

    @guarded
    def ids(
        self, *, tenant: str | None = None, region: str | None = None, state: str | None = None
    ) -> set[str]:
        """The id of every indexed backup (of ``tenant``, of ``region``, in ``state``; pruned
        ones too unless ``state`` says)."""
        b = s.backups.c
        stmt = select(b.id)
        for column, value in ((b.tenant, tenant), (b.region, region), (b.state, state)):
            stmt = stmt if value is None else stmt.where(column == value)
        return set(self.conn.scalars(stmt))

    @guarded
    def mark_pruned(self, backup_id: str, at: datetime) -> None:
        """Raises: NotFound if the backup is not indexed."""
        stmt = (
            update(s.backups)
            .where(s.backups.c.id == backup_id)
            .values(state="pruned", pruned_at=at)
        )
        if self.conn.execute(stmt).rowcount == 0:
            raise NotFound(f"backup {backup_id} is not in the catalog")

    @guarded
    def add_verification(self, result: VerifyResult) -> None:
        """Record one verification of an indexed backup (stamped: ``result.at`` is set)."""
        assert result.at is not None, "the service stamps a verification before storing it"
        self.conn.execute(
            insert(s.backup_verifications).values(
                backup_id=result.backup_id,
                at=result.at,
                level=result.level,
                ok=result.ok,
                detail=result.detail,
                operator=result.operator,
            )
        )

    @guarded
    def verifications(
        self, *, tenant: str | None = None, ids: Collection[str] | None = None
    ) -> list[VerifyResult]:
        """Verifications (of one tenant's backups, of the backups ``ids``, or all), oldest
        first."""
        v, b = s.backup_verifications.c, s.backups.c
        stmt = select(v.backup_id, v.level, v.ok, v.detail, v.at, v.operator).order_by(v.at, v.id)
        if tenant is not None:
            stmt = stmt.join(s.backups, b.id == v.backup_id).where(b.tenant == tenant)
        if ids is not None:
            stmt = stmt.where(v.backup_id.in_(list(ids)))
        return [
            VerifyResult(bid, level, bool(ok), detail, at, op)
            for bid, level, ok, detail, at, op in self.conn.execute(stmt)
        ]

    @guarded
    def page(
        self,
        query: BackupQuery,
        rules: Sequence[DueRule],
        *,
        offset: int,
        limit: int,
        missing: Collection[str] = (),
    ) -> list[BackupRecord]:
        """The complete backups ``query`` finds, newest first, ``limit`` from ``offset``."""
        stmt = page_of(query, rules, missing, offset, limit, pg=self.tx.pg)
        return [_record(row) for row in self.conn.execute(stmt)]

    @guarded
    def tally(
        self, query: BackupQuery, rules: Sequence[DueRule], *, missing: Collection[str] = ()
    ) -> IndexTally:
        """What ``query`` finds, counted in one query."""
        row = self.conn.execute(tally_of(query, rules, missing, pg=self.tx.pg)).one()
        return IndexTally(*(int(n or 0) for n in row))

    @guarded
    def due(
        self,
        rules: Sequence[DueRule],
        *,
        region: str | None = None,
        kind: str | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> list[DueFact]:
        """What is due (of ``kind``), most urgent first, ``limit`` from ``offset``."""
        stmt = items_of(rules, region, kind, offset, limit, pg=self.tx.pg)
        return [
            DueFact(kind, tenant, region, why, bool(overdue), since, backup_id)
            for kind, tenant, region, why, overdue, since, backup_id in self.conn.execute(stmt)
        ]

    @guarded
    def due_counts(self, rules: Sequence[DueRule], *, region: str | None = None) -> list[DueCount]:
        """What is due, counted per region."""
        return [DueCount(*row) for row in self.conn.execute(counts_of(rules, region))]


_: type[BackupIndex] = SqlBackupIndex
