"""The partner register: partners, their agreements and their reviews."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import CursorResult, insert, select, update
from sqlalchemy import exc as sa_exc

from aptien_ops.backends import catalog_schema as s
from aptien_ops.backends.sql_catalog.base import Repository
from aptien_ops.backends.sql_catalog.errors import guarded
from aptien_ops.domain.partner_batch import NewAgreements, NewPartners
from aptien_ops.domain.partners import (
    Agreement,
    AgreementStatus,
    Coverage,
    Partner,
    PartnerKind,
    PartnerStatus,
    Review,
    ReviewOutcome,
)
from aptien_ops.errors import Conflict, InternalError, NotFound
from aptien_ops.ports import PartnerRepository


def joined(values: Iterable[object]) -> str:
    """A set of tags, codes or kinds as the column holds it: sorted, comma-separated."""
    return ",".join(sorted(str(v) for v in values))


def new_id(result: CursorResult[Any], what: str) -> int:
    key = result.inserted_primary_key
    if key is None:
        raise InternalError(f"the catalog returned no id for the new {what}")
    return int(key[0])


T = TypeVar("T")


def split(text: str) -> tuple[str, ...]:
    return tuple(text.split(",")) if text else ()


def coverage(countries: str, regions: str) -> Coverage:
    return Coverage(frozenset(split(countries)), frozenset(split(regions)))


def kinds(text: str) -> frozenset[PartnerKind]:
    return frozenset(PartnerKind(k) for k in split(text))


_P = s.partners.c
_PARTNER_COLUMNS = (
    _P.name,
    _P.legal_name,
    _P.kinds,
    _P.expertise,
    _P.countries,
    _P.regions,
    _P.contact_name,
    _P.contact_email,
    _P.contact_phone,
    _P.status,
    _P.status_reason,
    _P.review_due,
    _P.created_at,
    _P.created_by,
    _P.updated_at,
    _P.updated_by,
)


def _partner(row: Any) -> Partner:
    return Partner(
        row.name,
        row.legal_name,
        kinds(row.kinds),
        split(row.expertise),
        coverage(row.countries, row.regions),
        row.contact_name,
        row.contact_email,
        row.contact_phone,
        PartnerStatus(row.status),
        row.status_reason,
        row.review_due,
        row.created_at,
        row.created_by,
        row.updated_at,
        row.updated_by,
    )


def partner_values(partner: Partner) -> dict[str, object]:
    return {
        "name": partner.name,
        "legal_name": partner.legal_name,
        "kinds": joined(partner.kinds),
        "expertise": ",".join(partner.expertise),
        "countries": joined(partner.coverage.countries),
        "regions": joined(partner.coverage.regions),
        "contact_name": partner.contact_name,
        "contact_email": partner.contact_email,
        "contact_phone": partner.contact_phone,
        "status": str(partner.status),
        "status_reason": partner.status_reason,
        "review_due": partner.review_due,
        "created_at": partner.created_at,
        "created_by": partner.created_by,
        "updated_at": partner.updated_at,
        "updated_by": partner.updated_by,
    }


def _new_partner_columns(batch: NewPartners) -> dict[str, Sequence[object]]:
    """The ``partners`` rows of ``batch``, column by column; a value shared by many rows
    (kinds, expertise, coverage) is turned into the column's text once."""
    n = len(batch)
    return {
        "name": batch.names,
        "legal_name": batch.legal_names,
        "kinds": _each(batch.kinds, joined),
        "expertise": _each(batch.expertise, ",".join),
        "countries": _each(batch.coverage, lambda c: joined(c.countries)),
        "regions": _each(batch.coverage, lambda c: joined(c.regions)),
        "contact_name": batch.contact_names,
        "contact_email": batch.contact_emails,
        "contact_phone": batch.contact_phones,
        "status": [str(PartnerStatus.ACTIVE)] * n,
        "status_reason": [None] * n,
        "review_due": [batch.review_due] * n,
        "created_at": [batch.at] * n,
        "created_by": [batch.by] * n,
        "updated_at": [batch.at] * n,
        "updated_by": [batch.by] * n,
    }


def _each(values: Sequence[T], text: Callable[[T], str]) -> list[str]:
    """``text`` of each value, worked out once per distinct object (an import's rows share
    the objects of the cells that repeat)."""
    distinct = {id(v): v for v in values}
    done = {key: text(v) for key, v in distinct.items()}
    return list(map(done.__getitem__, map(id, values)))


def _agreement(row: Any) -> Agreement:
    return Agreement(
        row.id,
        row.partner,
        row.reference,
        row.signed_on,
        row.effective_from,
        row.expires_on,
        row.document_sha256,
        AgreementStatus(row.status),
        row.created_at,
        row.created_by,
        row.ended_at,
        row.ended_by,
        row.end_reason,
    )


def _agreement_values(agreement: Agreement) -> dict[str, object]:
    return {
        "partner": agreement.partner,
        "reference": agreement.reference,
        "signed_on": agreement.signed_on,
        "effective_from": agreement.effective_from,
        "expires_on": agreement.expires_on,
        "document_sha256": agreement.document_sha256,
        "status": str(agreement.status),
        "created_at": agreement.created_at,
        "created_by": agreement.created_by,
    }


def _new_agreement_columns(batch: NewAgreements) -> dict[str, Sequence[object]]:
    n = len(batch)
    return {
        "partner": batch.partners,
        "reference": batch.references,
        "signed_on": batch.signed_on,
        "effective_from": batch.effective_from,
        "expires_on": batch.expires_on,
        "document_sha256": [None] * n,
        "status": [str(AgreementStatus.ACTIVE)] * n,
        "created_at": [batch.at] * n,
        "created_by": [batch.by] * n,
    }


class SqlPartners(Repository):
    """Implements :class:`aptien_ops.ports.PartnerRepository`."""

    @guarded
    def get(self, name: str, *, for_update: bool = False) -> Partner | None:
        stmt = select(*_PARTNER_COLUMNS).where(_P.name == name)
        row = self.conn.execute(stmt.with_for_update() if for_update else stmt).first()
        return _partner(row) if row is not None else None

    @guarded
    def all(self) -> list[Partner]:
        rows = self.conn.execute(select(*_PARTNER_COLUMNS).order_by(_P.name))
        return [_partner(row) for row in rows]

    @guarded
    def insert(self, partner: Partner) -> None:
        try:
            self.conn.execute(insert(s.partners).values(partner_values(partner)))
        except sa_exc.IntegrityError:
            raise Conflict(f"partner {partner.name!r} exists already") from None

    @guarded
    def insert_many(self, partners: NewPartners) -> None:
        if not len(partners):
            return
        try:
            self.insert_columns(s.partners, _new_partner_columns(partners))
        except sa_exc.IntegrityError:
            raise Conflict("a partner of the import exists already") from None

    @guarded
    def update(self, partner: Partner) -> None:
        stmt = update(s.partners).where(_P.name == partner.name).values(partner_values(partner))
        if self.conn.execute(stmt).rowcount == 0:
            raise NotFound(f"partner {partner.name!r} does not exist")

    @guarded
    def agreements(self, partner: str | None = None) -> list[Agreement]:
        g = s.partner_agreements.c
        stmt = select(s.partner_agreements).order_by(g.partner, g.id)
        if partner is not None:
            stmt = stmt.where(g.partner == partner)
        return [_agreement(row) for row in self.conn.execute(stmt)]

    @guarded
    def add_agreements(self, agreements: NewAgreements) -> None:
        if not len(agreements):
            return
        try:
            self.insert_columns(s.partner_agreements, _new_agreement_columns(agreements))
        except sa_exc.IntegrityError:
            raise Conflict("an agreement of the import is recorded already") from None

    @guarded
    def add_agreement(self, agreement: Agreement) -> int:
        values = _agreement_values(agreement)
        try:
            result = self.conn.execute(insert(s.partner_agreements).values(values))
        except sa_exc.IntegrityError:
            raise Conflict(
                f"partner {agreement.partner} has an agreement {agreement.reference!r} already"
            ) from None
        return new_id(result, "agreement")

    @guarded
    def end_agreement(self, agreement_id: int, at: datetime, by: str, reason: str) -> None:
        g = s.partner_agreements.c
        stmt = (
            update(s.partner_agreements)
            .where(g.id == agreement_id)
            .values(status=str(AgreementStatus.ENDED), ended_at=at, ended_by=by, end_reason=reason)
        )
        if self.conn.execute(stmt).rowcount == 0:
            raise NotFound(f"no agreement with id {agreement_id}")

    @guarded
    def reviews(self, partner: str) -> list[Review]:
        r = s.partner_reviews.c
        stmt = select(s.partner_reviews).where(r.partner == partner).order_by(r.id)
        return [
            Review(
                row.id,
                row.partner,
                row.reviewed_on,
                ReviewOutcome(row.outcome),
                row.notes,
                row.next_due,
                row.reviewed_by,
                row.recorded_at,
            )
            for row in self.conn.execute(stmt)
        ]

    @guarded
    def add_review(self, review: Review) -> int:
        result = self.conn.execute(
            insert(s.partner_reviews).values(
                partner=review.partner,
                reviewed_on=review.reviewed_on,
                outcome=str(review.outcome),
                notes=review.notes,
                next_due=review.next_due,
                reviewed_by=review.reviewed_by,
                recorded_at=review.recorded_at,
            )
        )
        return new_id(result, "review")


_: type[PartnerRepository] = SqlPartners
