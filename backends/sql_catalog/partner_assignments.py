"""Partners assigned to tenants (the history kept), and every contact card shared."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import exists, insert, or_, select, update

from aptien_ops.backends import catalog_schema as s
from aptien_ops.backends.sql_catalog.base import Repository
from aptien_ops.backends.sql_catalog.errors import guarded
from aptien_ops.backends.sql_catalog.partners import coverage, kinds, new_id
from aptien_ops.domain.partners import (
    AgreementStatus,
    Assignment,
    AssignmentFacts,
    Coverage,
    PartnerKind,
    PartnerStatus,
    Share,
)
from aptien_ops.errors import NotFound
from aptien_ops.ports import AssignmentRepository

_A = s.partner_assignments.c
_ASSIGNMENT_COLUMNS = (
    _A.id,
    _A.partner,
    _A.tenant,
    _A.role,
    _A.reason,
    _A.assigned_by,
    _A.assigned_at,
    _A.ended_at,
    _A.ended_by,
    _A.end_reason,
)


def _assignment(row: Any) -> Assignment:
    return Assignment(row[0], row[1], row[2], PartnerKind(row[3]), *row[4:10])


def in_force_on(on: date) -> Any:
    """EXISTS an active agreement of the outer query's partner in force on ``on`` (both
    bounds inclusive)."""
    g = s.partner_agreements.c
    return exists().where(
        g.partner == s.partners.c.name,
        g.status == str(AgreementStatus.ACTIVE),
        g.effective_from <= on,
        or_(g.expires_on.is_(None), g.expires_on >= on),
    )


class SqlPartnerAssignments(Repository):
    """Implements :class:`aptien_ops.ports.AssignmentRepository`."""

    @guarded
    def assignments(
        self, *, tenant: str | None = None, partner: str | None = None, open_only: bool = False
    ) -> list[Assignment]:
        stmt = select(*_ASSIGNMENT_COLUMNS).order_by(_A.id)
        if tenant is not None:
            stmt = stmt.where(_A.tenant == tenant)
        if partner is not None:
            stmt = stmt.where(_A.partner == partner)
        if open_only:
            stmt = stmt.where(_A.ended_at.is_(None))
        return [_assignment(row) for row in self.conn.execute(stmt)]

    @guarded
    def insert(self, assignment: Assignment) -> int:
        result = self.conn.execute(
            insert(s.partner_assignments).values(
                partner=assignment.partner,
                tenant=assignment.tenant,
                role=str(assignment.role),
                reason=assignment.reason,
                assigned_by=assignment.assigned_by,
                assigned_at=assignment.assigned_at,
            )
        )
        return new_id(result, "assignment")

    @guarded
    def end(self, assignment_id: int, at: datetime, by: str, reason: str) -> None:
        stmt = (
            update(s.partner_assignments)
            .where(_A.id == assignment_id, _A.ended_at.is_(None))
            .values(ended_at=at, ended_by=by, end_reason=reason)
        )
        if self.conn.execute(stmt).rowcount == 0:
            raise NotFound(f"no open assignment with id {assignment_id}")

    @guarded
    def end_for_tenant(self, tenant: str, at: datetime, by: str, reason: str) -> int:
        stmt = (
            update(s.partner_assignments)
            .where(_A.tenant == tenant, _A.ended_at.is_(None))
            .values(ended_at=at, ended_by=by, end_reason=reason)
        )
        return int(self.conn.execute(stmt).rowcount)

    @guarded
    def facts(
        self, on: date, *, tenant: str | None = None, partner: str | None = None
    ) -> list[AssignmentFacts]:
        t, p = s.tenants.c, s.partners.c
        stmt = (
            select(
                *_ASSIGNMENT_COLUMNS,
                t.country,
                t.region,
                t.state,
                p.status,
                p.kinds,
                p.countries,
                p.regions,
                p.review_due,
                in_force_on(on).label("in_force"),
            )
            .select_from(
                s.partner_assignments.join(s.tenants, t.name == _A.tenant).join(
                    s.partners, p.name == _A.partner
                )
            )
            .where(_A.ended_at.is_(None))
            .order_by(_A.id)
        )
        if tenant is not None:
            stmt = stmt.where(_A.tenant == tenant)
        if partner is not None:
            stmt = stmt.where(_A.partner == partner)
        # Many assignments share a partner: its coverage and kinds are parsed once.
        seen: dict[tuple[str, str, str], tuple[Coverage, frozenset[PartnerKind]]] = {}
        out: list[AssignmentFacts] = []
        for row in self.conn.execute(stmt):
            key = (row.kinds, row.countries, row.regions)
            if key not in seen:
                seen[key] = (coverage(row.countries, row.regions), kinds(row.kinds))
            where, what = seen[key]
            out.append(
                AssignmentFacts(
                    _assignment(row),
                    row.country,
                    row.region,
                    row.state,
                    PartnerStatus(row.status),
                    what,
                    where,
                    row.review_due,
                    bool(row.in_force),
                )
            )
        return out

    @guarded
    def add_share(self, share: Share) -> int:
        result = self.conn.execute(
            insert(s.partner_shares).values(
                partner=share.partner,
                tenant=share.tenant,
                reason=share.reason,
                shared_by=share.shared_by,
                shared_at=share.shared_at,
            )
        )
        return new_id(result, "share")

    @guarded
    def shares(self, *, tenant: str | None = None, partner: str | None = None) -> list[Share]:
        h = s.partner_shares.c
        stmt = select(h.id, h.partner, h.tenant, h.reason, h.shared_by, h.shared_at).order_by(
            h.id.desc()
        )
        if tenant is not None:
            stmt = stmt.where(h.tenant == tenant)
        if partner is not None:
            stmt = stmt.where(h.partner == partner)
        return [Share(*row) for row in self.conn.execute(stmt)]


_: type[AssignmentRepository] = SqlPartnerAssignments
