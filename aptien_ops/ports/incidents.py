"""Incidents in the catalog: ``tx.incidents`` (the incident, its timeline and its reports to
the authority) and ``tx.incident_scope`` (the affected people, as one snapshot per incident).

Like every catalog repository, each method may raise ``Unavailable`` and ``Conflict``
(a concurrent operator); none raises a driver exception. Times are aware UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Protocol

from aptien_ops.domain.incidents import (
    Incident,
    IncidentReport,
    IncidentStatus,
    Recipient,
    ScopeHeader,
    ScopeTenant,
    TimelineEntry,
)


class IncidentRepository(Protocol):
    """One row per incident (closed ones stay), its timeline and its reports."""

    def get(self, incident_id: str, *, for_update: bool = False) -> Incident | None:
        """The incident, or None; ``for_update`` locks its row until commit."""
        ...

    def all(self, *, statuses: Iterable[IncidentStatus] | None = None) -> list[Incident]:
        """Incidents (of ``statuses``, if given), newest awareness first, then by id."""
        ...

    def last_number(self, year: int) -> int:
        """The highest number of an ``INC-<year>-NNNN`` id (0: none yet)."""
        ...

    def insert(self, incident: Incident) -> None:
        """Raises: Conflict if the id is taken."""
        ...

    def update(self, incident: Incident) -> None:
        """Store every field. Raises: NotFound."""
        ...

    def set_status(self, incident_id: str, status: IncidentStatus, at: datetime, by: str) -> None:
        """Set the status alone (``notifying`` when a notice campaign starts). Raises:
        NotFound."""
        ...

    def timeline(self, incident_id: str) -> list[TimelineEntry]:
        """Its timeline, oldest first (by ``at``, then as recorded)."""
        ...

    def add_timeline(self, entry: TimelineEntry) -> int:
        """Store it (its ``id`` is ignored); returns the new id."""
        ...

    def reports(self, incident_id: str | None = None) -> list[IncidentReport]:
        """Reports of the incident (None: of every incident), in the order recorded."""
        ...

    def add_report(self, report: IncidentReport) -> int:
        """Store it (its ``id`` is ignored); returns the new id."""
        ...


class IncidentScopeRepository(Protocol):
    """An incident's scope snapshot: its header, its per-tenant counts and its recipients."""

    def header(self, incident_id: str) -> ScopeHeader | None:
        """The snapshot's header, or None if no scope was taken."""
        ...

    def tenants(self, incident_id: str) -> list[ScopeTenant]:
        """Per tenant of the snapshot, how many people it holds; by region, then tenant."""
        ...

    def replace(
        self,
        header: ScopeHeader,
        tenants: Iterable[ScopeTenant],
        recipients: Iterable[Recipient],
    ) -> None:
        """Make this the incident's snapshot, dropping any earlier one."""
        ...

    def recipients(
        self, incident_id: str, *, after: tuple[str, str] | None = None, limit: int = 1000
    ) -> list[Recipient]:
        """Up to ``limit`` recipients in the stable order (tenant, user_ref), strictly after
        the ``(tenant, user_ref)`` key ``after``: a keyset page."""
        ...

    def each_recipient(self, incident_id: str, page: int = 1000) -> Iterator[Recipient]:
        """Every recipient in the stable order, read a page at a time."""
        ...

    def languages(self, incident_id: str) -> list[tuple[str, str | None]]:
        """The distinct (region, language) pairs of the recipients, sorted."""
        ...
