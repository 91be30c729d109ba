"""The ops log's entries and its signed head."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Select, func, insert, select, update
from sqlalchemy import exc as sa_exc

from aptien_ops.backends import catalog_schema as s
from aptien_ops.backends.sql_catalog.base import Repository
from aptien_ops.backends.sql_catalog.errors import RACE, guarded
from aptien_ops.backends.sql_catalog.text_filter import grep_clause, iso_minute_text, number_text
from aptien_ops.domain import OpsLogEntry, OpsLogHead
from aptien_ops.errors import Conflict, InternalError
from aptien_ops.opslog import head_missing
from aptien_ops.ports import OpsLogRepository


class SqlOpsLog(Repository):
    """Implements :class:`aptien_ops.ports.OpsLogRepository`."""

    @guarded
    def head(self, *, for_update: bool = False) -> OpsLogHead | None:
        """The signed head; ``OpsLogHead(0, "", "")`` on a new catalog, None if the row is gone.

        With ``for_update`` the head row stays locked until commit, so concurrent appenders
        queue (``FOR UPDATE`` on PostgreSQL; SQLite's write transaction is already exclusive).
        """
        h = s.opslog_head.c
        stmt = select(h.seq, h.hmac, h.signature).where(h.id == 1)
        row = self.conn.execute(stmt.with_for_update() if for_update else stmt).first()
        return OpsLogHead(row.seq, row.hmac, row.signature) if row is not None else None

    @guarded
    def append(self, entry: OpsLogEntry, head: OpsLogHead) -> None:
        """Append ``entry`` and move the head to ``head``.

        Raises:
            Conflict: another appender got there first (the head is no longer at seq - 1).
            IntegrityFailure: the head row is gone (the log was wiped behind the console).
        """
        if head.seq != entry.seq:
            raise InternalError(f"ops log head seq {head.seq} does not match entry seq {entry.seq}")
        h = s.opslog_head.c
        moved = self.conn.execute(
            update(s.opslog_head)
            .where(h.id == 1, h.seq == entry.seq - 1)
            .values(seq=head.seq, hmac=head.hmac, signature=head.signature)
        )
        if moved.rowcount != 1:
            if self.conn.execute(select(h.id).where(h.id == 1)).first() is None:
                raise head_missing()
            raise Conflict(RACE)
        self.conn.execute(insert(s.opslog).values(entry.as_json()))

    @guarded
    def entries(self, *, limit: int | None = None, newest_first: bool = False) -> list[OpsLogEntry]:
        """Entries ordered by seq (descending with ``newest_first``), then cut to ``limit``."""
        seq = s.opslog.c.seq
        stmt = select(s.opslog).order_by(seq.desc() if newest_first else seq)
        if limit is not None:
            stmt = stmt.limit(limit)
        return [OpsLogEntry(*row) for row in self.conn.execute(stmt)]

    @guarded
    def page(
        self,
        *,
        limit: int,
        before: int | None = None,
        after: int | None = None,
        grep: str | None = None,
    ) -> list[OpsLogEntry]:
        """Newest first; ``after`` reads up from the older end (the primary key serves both).
        With ``grep``, only the entries whose shown columns hold it."""
        seq = s.opslog.c.seq
        if after is not None:
            stmt = self._grep(select(s.opslog), grep).where(seq > after).order_by(seq).limit(limit)
            return [OpsLogEntry(*row) for row in self.conn.execute(stmt)][::-1]
        stmt = self._grep(select(s.opslog), grep).order_by(seq.desc()).limit(limit)
        if before is not None:
            stmt = stmt.where(seq < before)
        return [OpsLogEntry(*row) for row in self.conn.execute(stmt)]

    @guarded
    def count(self, *, newer_than: int | None = None, grep: str | None = None) -> int:
        stmt = self._grep(select(func.count()).select_from(s.opslog), grep)
        if newer_than is not None:
            stmt = stmt.where(s.opslog.c.seq > newer_than)
        return int(self.conn.execute(stmt).scalar_one())

    @staticmethod
    def _grep(stmt: Select[Any], grep: str | None) -> Select[Any]:
        """Entries whose row (seq, minute, operator, action, outcome, target, approval) holds
        ``grep``, as the ops log's lists show them."""
        if not grep:
            return stmt
        o = s.opslog.c
        shown = (
            number_text(o.seq),
            iso_minute_text(o.at),
            o.operator,
            o.action,
            o.outcome,
            o.target,
            number_text(o.approval_id),
        )
        return stmt.where(grep_clause(shown, grep))

    @guarded
    def for_approval(self, approval_id: int) -> list[OpsLogEntry]:
        """The entries that name ``approval_id``, by seq (an index serves it)."""
        o = s.opslog.c
        stmt = select(s.opslog).where(o.approval_id == approval_id).order_by(o.seq)
        return [OpsLogEntry(*row) for row in self.conn.execute(stmt)]

    def stream(self) -> Iterator[OpsLogEntry]:
        """Every entry in seq order, fetched in batches. Consume it inside the transaction."""
        stmt = select(s.opslog).order_by(s.opslog.c.seq)
        try:
            for row in self.conn.execute(stmt.execution_options(yield_per=1000)):
                yield OpsLogEntry(*row)
        except sa_exc.SQLAlchemyError as exc:
            raise self.tx.error(exc) from None


_: type[OpsLogRepository] = SqlOpsLog
