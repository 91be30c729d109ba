"""Incidents: the incident rows, their timelines and their reports to the authority."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy import insert, select, update

from aptien_ops.backends import catalog_incidents as s
from aptien_ops.backends.sql_catalog.base import Repository
from aptien_ops.backends.sql_catalog.errors import guarded
from aptien_ops.backends.sql_catalog.partners import new_id, split
from aptien_ops.domain.incidents import (
    Incident,
    IncidentReport,
    IncidentStatus,
    Nature,
    Phase,
    ReportFormat,
    Risk,
    Severity,
    TimelineEntry,
    TimelineKind,
)
from aptien_ops.errors import Conflict, NotFound
from aptien_ops.ports import IncidentRepository

_I = s.incidents.c


def _incident(row: Any) -> Incident:
    return Incident(
        row.id,
        row.title,
        Nature(row.nature),
        row.happened_from,
        row.happened_to,
        row.aware_at,
        row.deadline_at,
        Severity(row.severity),
        Risk(row.risk_to_people),
        row.risk_rationale,
        split(row.data_categories),
        split(row.subject_categories),
        row.approx_people,
        row.approx_records,
        row.consequences,
        row.measures_taken,
        row.measures_proposed,
        row.dpo_contact,
        IncidentStatus(row.status),
        row.delay_reasons,
        row.created_by,
        row.created_at,
        row.updated_by,
        row.updated_at,
    )


def _values(incident: Incident) -> dict[str, object]:
    values = incident.as_json()
    for key in ("happened_from", "happened_to", "aware_at", "deadline_at"):
        values[key] = getattr(incident, key)
    values["created_at"], values["updated_at"] = incident.created_at, incident.updated_at
    values["data_categories"] = ",".join(incident.data_categories)
    values["subject_categories"] = ",".join(incident.subject_categories)
    return values


class SqlIncidents(Repository):
    """Implements :class:`aptien_ops.ports.IncidentRepository`."""

    @guarded
    def get(self, incident_id: str, *, for_update: bool = False) -> Incident | None:
        stmt = select(s.incidents).where(_I.id == incident_id)
        row = self.conn.execute(stmt.with_for_update() if for_update else stmt).first()
        return _incident(row) if row is not None else None

    @guarded
    def all(self, *, statuses: Iterable[IncidentStatus] | None = None) -> list[Incident]:
        stmt = select(s.incidents).order_by(_I.aware_at.desc(), _I.id)
        if statuses is not None:
            stmt = stmt.where(_I.status.in_([str(x) for x in statuses]))
        return [_incident(row) for row in self.conn.execute(stmt)]

    @guarded
    def last_number(self, year: int) -> int:
        prefix = f"INC-{year:04d}-"
        ids = self.conn.execute(select(_I.id).where(_I.id.startswith(prefix))).scalars()
        return max((int(i[len(prefix) :]) for i in ids if i[len(prefix) :].isdigit()), default=0)

    @guarded
    def insert(self, incident: Incident) -> None:
        try:
            self.conn.execute(insert(s.incidents).values(_values(incident)))
        except sa_exc.IntegrityError:
            raise Conflict(
                f"incident {incident.id} exists already", hint="open it again: a new id is taken"
            ) from None

    @guarded
    def update(self, incident: Incident) -> None:
        stmt = update(s.incidents).where(_I.id == incident.id).values(_values(incident))
        if self.conn.execute(stmt).rowcount == 0:
            raise NotFound(f"no incident {incident.id}")

    @guarded
    def set_status(self, incident_id: str, status: IncidentStatus, at: datetime, by: str) -> None:
        stmt = (
            update(s.incidents)
            .where(_I.id == incident_id)
            .values(status=str(status), updated_at=at, updated_by=by)
        )
        if self.conn.execute(stmt).rowcount == 0:
            raise NotFound(f"no incident {incident_id}")

    @guarded
    def timeline(self, incident_id: str) -> list[TimelineEntry]:
        t = s.incident_timeline.c
        stmt = select(s.incident_timeline).where(t.incident_id == incident_id)
        return [
            TimelineEntry(
                row.id, row.incident_id, row.at, row.operator, TimelineKind(row.kind), row.text
            )
            for row in self.conn.execute(stmt.order_by(t.at, t.id))
        ]

    @guarded
    def add_timeline(self, entry: TimelineEntry) -> int:
        values = {
            "incident_id": entry.incident_id,
            "at": entry.at,
            "operator": entry.operator,
            "kind": str(entry.kind),
            "text": entry.text,
        }
        return new_id(self.conn.execute(insert(s.incident_timeline).values(values)), "entry")

    @guarded
    def reports(self, incident_id: str | None = None) -> list[IncidentReport]:
        r = s.incident_reports.c
        stmt = select(s.incident_reports).order_by(r.incident_id, r.id)
        if incident_id is not None:
            stmt = stmt.where(r.incident_id == incident_id)
        return [
            IncidentReport(
                row.id,
                row.incident_id,
                Phase(row.phase),
                ReportFormat(row.format),
                row.sha256,
                row.recorded_by,
                row.recorded_at,
                row.reference,
            )
            for row in self.conn.execute(stmt)
        ]

    @guarded
    def add_report(self, report: IncidentReport) -> int:
        values = {
            "incident_id": report.incident_id,
            "phase": str(report.phase),
            "format": str(report.format),
            "sha256": report.sha256,
            "recorded_by": report.recorded_by,
            "recorded_at": report.recorded_at,
            "reference": report.reference,
        }
        return new_id(self.conn.execute(insert(s.incident_reports).values(values)), "report")


_: type[IncidentRepository] = SqlIncidents
