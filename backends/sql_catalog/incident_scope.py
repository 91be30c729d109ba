"""Incident scope snapshots: the header, the per-tenant counts, the recipients."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import Table, and_, delete, insert, or_, select

from aptien_ops.backends import catalog_incidents as s
from aptien_ops.backends.sql_catalog.base import Repository
from aptien_ops.backends.sql_catalog.errors import guarded
from aptien_ops.backends.sql_catalog.partners import split
from aptien_ops.domain.incidents import Recipient, ScopeHeader, ScopeTenant
from aptien_ops.ports import IncidentScopeRepository

_R = s.incident_scope.c
#: Recipients written per ``executemany``.
_BATCH = 5000


def _recipient(row: Any) -> Recipient:
    return Recipient(row.incident_id, row.tenant, row.region, row.user_ref, row.email, row.language)


class SqlIncidentScope(Repository):
    """Implements :class:`aptien_ops.ports.IncidentScopeRepository`."""

    @guarded
    def header(self, incident_id: str) -> ScopeHeader | None:
        h = s.incident_scopes.c
        row = self.conn.execute(
            select(s.incident_scopes).where(h.incident_id == incident_id)
        ).first()
        if row is None:
            return None
        return ScopeHeader(
            row.incident_id,
            row.selection,
            split(row.targets),
            row.window_from,
            row.window_to,
            bool(row.logged_in_during_window),
            row.tenants,
            row.people,
            row.sha256,
            row.taken_by,
            row.taken_at,
        )

    @guarded
    def tenants(self, incident_id: str) -> list[ScopeTenant]:
        t = s.incident_scope_tenants.c
        stmt = (
            select(t.tenant, t.region, t.people)
            .where(t.incident_id == incident_id)
            .order_by(t.region, t.tenant)
        )
        return [ScopeTenant(r.tenant, r.region, r.people) for r in self.conn.execute(stmt)]

    @guarded
    def replace(
        self,
        header: ScopeHeader,
        tenants: Iterable[ScopeTenant],
        recipients: Iterable[Recipient],
    ) -> None:
        incident = header.incident_id
        for table in (s.incident_scope, s.incident_scope_tenants, s.incident_scopes):
            self.conn.execute(delete(table).where(table.c.incident_id == incident))
        values = header.as_json()
        values.update(
            incident_id=incident,
            targets=",".join(header.targets),
            window_from=header.window_from,
            window_to=header.window_to,
            taken_at=header.taken_at,
        )
        self.conn.execute(insert(s.incident_scopes).values(values))
        self._insert(
            s.incident_scope_tenants,
            [
                {
                    "incident_id": incident,
                    "tenant": t.tenant,
                    "region": t.region,
                    "people": t.people,
                }
                for t in tenants
            ],
        )
        batch: list[dict[str, object]] = []
        for r in recipients:
            batch.append({"incident_id": incident, **r.as_json()})
            if len(batch) >= _BATCH:
                self._insert(s.incident_scope, batch)
                batch = []
        self._insert(s.incident_scope, batch)

    def _insert(self, table: Table, rows: list[dict[str, object]]) -> None:
        """One ``executemany`` of ``rows`` (all with the same keys)."""
        if rows:
            self.insert_columns(table, {key: [r[key] for r in rows] for key in rows[0]})

    @guarded
    def recipients(
        self, incident_id: str, *, after: tuple[str, str] | None = None, limit: int = 1000
    ) -> list[Recipient]:
        stmt = select(s.incident_scope).where(_R.incident_id == incident_id)
        if after is not None:
            tenant, user_ref = after
            stmt = stmt.where(
                or_(_R.tenant > tenant, and_(_R.tenant == tenant, _R.user_ref > user_ref))
            )
        stmt = stmt.order_by(_R.tenant, _R.user_ref).limit(limit)
        return [_recipient(row) for row in self.conn.execute(stmt)]

    def each_recipient(self, incident_id: str, page: int = 1000) -> Iterator[Recipient]:
        after: tuple[str, str] | None = None
        while True:
            rows = self.recipients(incident_id, after=after, limit=page)
            yield from rows
            if len(rows) < page:
                return
            after = (rows[-1].tenant, rows[-1].user_ref)

    @guarded
    def languages(self, incident_id: str) -> list[tuple[str, str | None]]:
        stmt = select(_R.region, _R.language).where(_R.incident_id == incident_id).distinct()
        pairs = [(r.region, r.language) for r in self.conn.execute(stmt)]
        return sorted(pairs, key=lambda p: (p[0], p[1] or ""))


_: type[IncidentScopeRepository] = SqlIncidentScope
