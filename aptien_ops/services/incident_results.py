"""What the incident service returns: frozen dataclasses with ``as_json()``, for the CLI and
the Incidents screen alike. Times are UTC (``…Z``)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from aptien_ops.domain.incidents import (
    Countdown,
    Incident,
    IncidentReport,
    IncidentStatus,
    Risk,
    ScopeHeader,
    ScopeTenant,
    Severity,
    TimelineEntry,
)
from aptien_ops.domain.values import iso


def clock_words(c: Countdown) -> str:
    """The clock as ``breach list`` and the Incidents screen word it: ``41h 07m left``,
    ``23h 10m left (under 24h)``, ``OVERDUE by 3h 12m``, ``reported in time``."""
    if c.overdue:
        return f"OVERDUE by {c.text.removeprefix('overdue by ')}"
    if c.urgent:
        return f"{c.text} (under 24h)"
    return c.text


@dataclass(frozen=True)
class IncidentRow:
    """One incident of ``breach list``, with its clock at the time of the read."""

    id: str
    title: str
    status: IncidentStatus
    severity: Severity
    risk_to_people: Risk
    aware_at: datetime
    countdown: Countdown

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "title": self.title,
            "status": str(self.status),
            "severity": str(self.severity),
            "risk_to_people": str(self.risk_to_people),
            "aware_at": iso(self.aware_at),
            "clock": self.countdown.as_json(),
        }


@dataclass(frozen=True)
class ScopeCounts:
    """A scope snapshot as counts: its header, per tenant and per region (never a person)."""

    header: ScopeHeader
    tenants: tuple[ScopeTenant, ...]

    @property
    def regions(self) -> dict[str, int]:
        """People per region, by region."""
        counts: dict[str, int] = defaultdict(int)
        for t in self.tenants:
            counts[t.region] += t.people
        return dict(sorted(counts.items()))

    def as_json(self) -> dict[str, object]:
        return {
            **self.header.as_json(),
            "per_region": self.regions,
            "per_tenant": [t.as_json() for t in self.tenants],
        }


@dataclass(frozen=True)
class IncidentDetail:
    """One incident: its record, clock, timeline, reports and scope counts."""

    incident: Incident
    countdown: Countdown
    timeline: tuple[TimelineEntry, ...]
    reports: tuple[IncidentReport, ...]
    scope: ScopeCounts | None

    @property
    def id(self) -> str:
        return self.incident.id

    def as_json(self) -> dict[str, object]:
        return {
            **self.incident.as_json(),
            "clock": self.countdown.as_json(),
            "timeline": [e.as_json() for e in self.timeline],
            "reports": [r.as_json() for r in self.reports],
            "scope": self.scope.as_json() if self.scope else None,
        }


@dataclass(frozen=True)
class BreachCheck:
    """``breach check``: every incident whose clock runs, and those past or near 72 hours."""

    at: datetime
    running: tuple[IncidentRow, ...]

    @property
    def overdue(self) -> tuple[IncidentRow, ...]:
        return tuple(r for r in self.running if r.countdown.overdue)

    @property
    def urgent(self) -> tuple[IncidentRow, ...]:
        return tuple(r for r in self.running if r.countdown.urgent)

    def as_json(self) -> dict[str, object]:
        return {
            "at": iso(self.at),
            "running": [r.as_json() for r in self.running],
            "overdue": [r.id for r in self.overdue],
            "urgent": [r.id for r in self.urgent],
        }
