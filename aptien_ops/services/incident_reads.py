"""Incidents: reading them (list, show, check) with their 72-hour clocks.

One part of :class:`aptien_ops.services.incidents.IncidentService`. Viewing needs ``security``
or ``admin`` (``breach.view``: the incident and its counts, never a recipient); a refusal is
logged, a read is not. Every clock is computed at ``ctx.now()``, the injected clock.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from aptien_ops.domain.incidents import (
    UNREPORTED,
    Countdown,
    Incident,
    IncidentReport,
    IncidentStatus,
    TimelineEntry,
    TimelineKind,
    countdown,
    validate_incident_id,
)
from aptien_ops.domain.values import parse_choice
from aptien_ops.errors import NotFound
from aptien_ops.permissions import Action
from aptien_ops.ports import CatalogTx
from aptien_ops.services.context import OpsContext
from aptien_ops.services.incident_results import (
    BreachCheck,
    IncidentDetail,
    IncidentRow,
    ScopeCounts,
)

if TYPE_CHECKING:
    from aptien_ops.services.inspection import InspectionService


def existing_incident(tx: CatalogTx, incident_id: str, *, for_update: bool = False) -> Incident:
    """The incident. Raises: NotFound (pointing at ``breach list``)."""
    incident = tx.incidents.get(incident_id, for_update=for_update)
    if incident is None:
        raise NotFound(f"no incident {incident_id}", hint="aptien-ops breach list")
    return incident


def first_reports(reports: Iterable[IncidentReport]) -> dict[str, IncidentReport]:
    """Each incident's first report (the one that stopped its clock)."""
    first: dict[str, IncidentReport] = {}
    for r in reports:
        first.setdefault(r.incident_id, r)
    return first


class IncidentReads:
    def __init__(self, ctx: OpsContext, inspection: Callable[[], InspectionService]) -> None:
        self.ctx = ctx
        #: The inspection service, whose readers read the people of a scope (built on use).
        self.inspection = inspection

    def entry(
        self, incident_id: str, kind: TimelineKind, text: str, at: datetime | None = None
    ) -> TimelineEntry:
        """A timeline line by the acting operator, at ``at`` (default: now)."""
        me = self.ctx.identity.operator
        return TimelineEntry(0, incident_id, at or self.ctx.now(), me, kind, text)

    def clock_of(self, incident: Incident, first: IncidentReport | None) -> Countdown:
        return countdown(incident, self.ctx.now(), first.recorded_at if first else None)

    def _rows(
        self, incidents: list[Incident], first: dict[str, IncidentReport]
    ) -> list[IncidentRow]:
        return [
            IncidentRow(
                i.id,
                i.title,
                i.status,
                i.severity,
                i.risk_to_people,
                i.aware_at,
                self.clock_of(i, first.get(i.id)),
            )
            for i in incidents
        ]

    def list(
        self, *, status: str | None = None, everything: bool = False
    ) -> builtins.list[IncidentRow]:
        """Incidents, newest awareness first: those not closed (``everything``: all; ``status``:
        of that status), each with its clock. Raises: InvalidInput (status), Forbidden."""
        if status is not None:
            statuses: Iterable[IncidentStatus] | None = (
                parse_choice(IncidentStatus, status, "incident status"),
            )
        elif everything:
            statuses = None
        else:
            statuses = [s for s in IncidentStatus if s != IncidentStatus.CLOSED]

        def read(tx: CatalogTx) -> builtins.list[IncidentRow]:
            return self._rows(
                tx.incidents.all(statuses=statuses), first_reports(tx.incidents.reports())
            )

        return self.ctx.view(Action.BREACH_VIEW, "incidents", read)

    def show(self, incident_id: str) -> IncidentDetail:
        """One incident with its clock, timeline, reports and scope counts.
        Raises: InvalidInput (id), NotFound, Forbidden."""
        validate_incident_id(incident_id)
        return self.ctx.view(
            Action.BREACH_VIEW, incident_id, lambda tx: self.detail(tx, incident_id)
        )

    def detail(self, tx: CatalogTx, incident_id: str) -> IncidentDetail:
        incident = existing_incident(tx, incident_id)
        reports = tuple(tx.incidents.reports(incident_id))
        header = tx.incident_scope.header(incident_id)
        scope = (
            ScopeCounts(header, tuple(tx.incident_scope.tenants(incident_id)))
            if header is not None
            else None
        )
        return IncidentDetail(
            incident,
            self.clock_of(incident, reports[0] if reports else None),
            tuple(tx.incidents.timeline(incident_id)),
            reports,
            scope,
        )

    def check(self) -> BreachCheck:
        """Every incident whose clock still runs (no report yet), soonest deadline first; the
        CLI exits 7 when one is overdue. Raises: Forbidden."""
        now = self.ctx.now()

        def read(tx: CatalogTx) -> BreachCheck:
            rows = self._rows(tx.incidents.all(statuses=UNREPORTED), {})
            rows.sort(key=lambda r: (r.countdown.deadline_at, r.id))
            return BreachCheck(now, tuple(rows))

        return self.ctx.view(Action.BREACH_VIEW, "incidents", read)
