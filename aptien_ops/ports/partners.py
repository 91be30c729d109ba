"""The partner register in the catalog: ``tx.partners`` (partners, their agreements and
reviews) and ``tx.partner_assignments`` (assignments to tenants and contact shares).

Like every catalog repository, each method may raise ``Unavailable`` and ``Conflict``
(a concurrent operator); none raises a driver exception. Dates are UTC calendar dates.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol

from aptien_ops.domain.partner_batch import NewAgreements, NewPartners
from aptien_ops.domain.partners import (
    Agreement,
    Assignment,
    AssignmentFacts,
    Partner,
    Review,
    Share,
)


class PartnerRepository(Protocol):
    """The register: one row per partner (ended ones stay), its agreements and reviews."""

    def get(self, name: str, *, for_update: bool = False) -> Partner | None:
        """The partner, or None; ``for_update`` locks its row until commit, which serialises
        every change of its eligibility with every assignment to it."""
        ...

    def all(self) -> list[Partner]:
        """Every partner, by name."""
        ...

    def insert(self, partner: Partner) -> None:
        """Raises: Conflict if the name is taken."""
        ...

    def insert_many(self, partners: NewPartners) -> None:
        """Insert them all at once (an import). Raises: Conflict if a name is taken."""
        ...

    def update(self, partner: Partner) -> None:
        """Store every field. Raises: NotFound."""
        ...

    def agreements(self, partner: str | None = None) -> list[Agreement]:
        """The agreements of ``partner`` (None: of every partner), by partner and id."""
        ...

    def add_agreement(self, agreement: Agreement) -> int:
        """Store it (its ``id`` is ignored); returns the new id.
        Raises: Conflict if the partner has an agreement with that reference."""
        ...

    def add_agreements(self, agreements: NewAgreements) -> None:
        """Store them all at once (an import). Raises: Conflict (a partner's reference is
        taken, or no such partner)."""
        ...

    def end_agreement(self, agreement_id: int, at: datetime, by: str, reason: str) -> None:
        """Mark it ended. Raises: NotFound."""
        ...

    def reviews(self, partner: str) -> list[Review]:
        """Its reviews, oldest first."""
        ...

    def add_review(self, review: Review) -> int:
        """Store it (its ``id`` is ignored); returns the new id."""
        ...


class AssignmentRepository(Protocol):
    """Partners assigned to tenants (history kept), and every contact card shared."""

    def assignments(
        self, *, tenant: str | None = None, partner: str | None = None, open_only: bool = False
    ) -> list[Assignment]:
        """Assignments of a tenant and/or a partner (neither: all), by id."""
        ...

    def insert(self, assignment: Assignment) -> int:
        """Store it (its ``id`` is ignored); returns the new id."""
        ...

    def end(self, assignment_id: int, at: datetime, by: str, reason: str) -> None:
        """End an open assignment. Raises: NotFound (no such open assignment)."""
        ...

    def end_for_tenant(self, tenant: str, at: datetime, by: str, reason: str) -> int:
        """End every open assignment of ``tenant``; returns how many."""
        ...

    def facts(
        self, on: date, *, tenant: str | None = None, partner: str | None = None
    ) -> list[AssignmentFacts]:
        """Every open assignment (of ``tenant`` and/or ``partner``, if given) with what the
        lapse rule needs, including whether its partner has an agreement in force on ``on``:
        one query, by id."""
        ...

    def add_share(self, share: Share) -> int:
        """Record a share (its ``id`` is ignored); returns the new id."""
        ...

    def shares(self, *, tenant: str | None = None, partner: str | None = None) -> list[Share]:
        """Shares of a tenant and/or with a partner (neither: all), newest first."""
        ...
