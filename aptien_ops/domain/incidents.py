"""Personal-data breaches (GDPR Art. 33/34): an incident, its timeline, the reports made to the
supervisory authority, the affected people (the scope snapshot), and the 72-hour clock.

Every time here is an aware UTC datetime. The clock runs from the moment Aptien became aware
(``aware_at``) to ``aware_at + 72 h`` (``deadline_at``) and stops when a report is recorded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from aptien_ops.domain.values import iso, yearly_id

#: Art. 33(1): the authority hears of a breach within 72 hours of awareness.
REPORT_WITHIN = timedelta(hours=72)
#: Under this much time left, the clock is highlighted.
URGENT_WITHIN = timedelta(hours=24)

#: ``INC-2026-0001``: the year (UTC) Aptien became aware, then a number within that year.
INCIDENT_ID = re.compile(r"^INC-(\d{4})-(\d{4,6})$")


class Nature(StrEnum):
    """Which property of the data was broken."""

    CONFIDENTIALITY = "confidentiality"
    INTEGRITY = "integrity"
    AVAILABILITY = "availability"


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Risk(StrEnum):
    """The risk to people's rights and freedoms: ``unlikely`` (Art. 33(1): no report needed),
    ``risk`` (report to the authority), ``high`` (also inform the people, Art. 34)."""

    UNKNOWN = "unknown"
    UNLIKELY = "unlikely"
    RISK = "risk"
    HIGH = "high"


class IncidentStatus(StrEnum):
    OPEN = "open"
    ASSESSED = "assessed"
    REPORTED = "reported"
    NOTIFYING = "notifying"
    CLOSED = "closed"


#: Statuses whose clock still runs (no report recorded yet).
UNREPORTED = (IncidentStatus.OPEN, IncidentStatus.ASSESSED)


class Phase(StrEnum):
    """A report to the authority: the first, later additions (Art. 33(4)), the last."""

    INITIAL = "initial"
    FOLLOW_UP = "follow-up"
    FINAL = "final"


class ReportFormat(StrEnum):
    MD = "md"
    HTML = "html"
    JSON = "json"


class TimelineKind(StrEnum):
    OPENED = "opened"
    NOTE = "note"
    UPDATED = "updated"
    REPORTED = "reported"
    SCOPED = "scoped"
    NOTIFYING = "notifying"
    CLOSED = "closed"


def validate_incident_id(value: str) -> str:
    """Raises: InvalidInput (the id is quoted at most 30 characters long)."""
    return yearly_id(value, INCIDENT_ID, "incident", "INC-2026-0001")


def incident_id(year: int, number: int) -> str:
    return f"INC-{year:04d}-{number:04d}"


@dataclass(frozen=True)
class Incident:
    """One personal-data breach and what is known of it (Art. 33(3) a–d)."""

    id: str
    title: str
    nature: Nature
    happened_from: datetime | None
    happened_to: datetime | None
    aware_at: datetime
    deadline_at: datetime
    severity: Severity
    risk_to_people: Risk
    risk_rationale: str | None
    data_categories: tuple[str, ...]
    subject_categories: tuple[str, ...]
    approx_people: int | None
    approx_records: int | None
    consequences: str | None
    measures_taken: str | None
    measures_proposed: str | None
    dpo_contact: str | None
    status: IncidentStatus
    delay_reasons: str | None
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "title": self.title,
            "nature": str(self.nature),
            "happened_from": iso(self.happened_from),
            "happened_to": iso(self.happened_to),
            "aware_at": iso(self.aware_at),
            "deadline_at": iso(self.deadline_at),
            "severity": str(self.severity),
            "risk_to_people": str(self.risk_to_people),
            "risk_rationale": self.risk_rationale,
            "data_categories": list(self.data_categories),
            "subject_categories": list(self.subject_categories),
            "approx_people": self.approx_people,
            "approx_records": self.approx_records,
            "consequences": self.consequences,
            "measures_taken": self.measures_taken,
            "measures_proposed": self.measures_proposed,
            "dpo_contact": self.dpo_contact,
            "status": str(self.status),
            "delay_reasons": self.delay_reasons,
            "created_by": self.created_by,
            "created_at": iso(self.created_at),
            "updated_by": self.updated_by,
            "updated_at": iso(self.updated_at),
        }


@dataclass(frozen=True)
class TimelineEntry:
    """A dated line of an incident's timeline: who did or learnt what, when."""

    id: int
    incident_id: str
    at: datetime
    operator: str
    kind: TimelineKind
    text: str

    def as_json(self) -> dict[str, object]:
        return {
            "at": iso(self.at),
            "operator": self.operator,
            "kind": str(self.kind),
            "text": self.text,
        }


@dataclass(frozen=True)
class IncidentReport:
    """A report to the authority, as recorded: the rendered file's digest, not its text."""

    id: int
    incident_id: str
    phase: Phase
    format: ReportFormat
    sha256: str
    recorded_by: str
    recorded_at: datetime
    reference: str | None
    """The authority's case reference, once it gave one."""

    def as_json(self) -> dict[str, object]:
        return {
            "phase": str(self.phase),
            "format": str(self.format),
            "sha256": self.sha256,
            "recorded_by": self.recorded_by,
            "recorded_at": iso(self.recorded_at),
            "reference": self.reference,
        }


@dataclass(frozen=True)
class Countdown:
    """Where an incident stands against the 72 hours, at ``now``."""

    deadline_at: datetime
    left: timedelta
    """Time left before the deadline (negative: past it); when stopped, as it was then."""
    stopped_at: datetime | None
    """When the first report was recorded (the clock stopped), or None."""
    running: bool
    """No report yet and the incident is not closed."""

    @property
    def overdue(self) -> bool:
        """Past 72 hours without a report (a report recorded now must say why it is late)."""
        return self.running and self.left < timedelta(0)

    @property
    def urgent(self) -> bool:
        """Running, not overdue, and under 24 hours left."""
        return self.running and timedelta(0) <= self.left < URGENT_WITHIN

    @property
    def late(self) -> bool:
        """Reported after the deadline."""
        return self.stopped_at is not None and self.stopped_at > self.deadline_at

    @property
    def text(self) -> str:
        """``41h 07m left``, ``overdue by 3h 12m``, ``reported in time``, ``reported 2h late``."""
        if self.stopped_at is not None:
            return f"reported {duration(-self.left)} late" if self.late else "reported in time"
        if not self.running:
            return "-"
        if self.left < timedelta(0):
            return f"overdue by {duration(-self.left)}"
        return f"{duration(self.left)} left"

    def as_json(self) -> dict[str, object]:
        return {
            "deadline_at": iso(self.deadline_at),
            "seconds_left": int(self.left.total_seconds()),
            "running": self.running,
            "urgent": self.urgent,
            "overdue": self.overdue,
            "stopped_at": iso(self.stopped_at),
            "late": self.late,
            "text": self.text,
        }


def duration(span: timedelta) -> str:
    """``3d 04h``, ``41h 07m``, ``0h 59m``: hours and minutes, days past 99 hours."""
    minutes = int(span.total_seconds()) // 60
    hours, minutes = divmod(minutes, 60)
    if hours > 99:
        days, hours = divmod(hours, 24)
        return f"{days}d {hours:02d}h"
    return f"{hours}h {minutes:02d}m"


def countdown(incident: Incident, now: datetime, first_report_at: datetime | None) -> Countdown:
    """The incident's clock at ``now``: it runs until a report is recorded (or it is closed)."""
    if first_report_at is not None:
        left = incident.deadline_at - first_report_at
        return Countdown(incident.deadline_at, left, first_report_at, False)
    running = incident.status in UNREPORTED
    return Countdown(incident.deadline_at, incident.deadline_at - now, None, running)


def as_utc(moment: datetime) -> datetime:
    """An aware datetime in UTC (naive means UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class Recipient:
    """One affected person of a scope snapshot: a user of a tenant database (never a payload)."""

    incident_id: str
    tenant: str
    region: str
    user_ref: str
    """The user's id in the tenant database."""
    email: str
    language: str | None
    """The tenant's language if known (a notice defaults to English)."""

    def as_json(self) -> dict[str, object]:
        return {
            "tenant": self.tenant,
            "region": self.region,
            "user_ref": self.user_ref,
            "email": self.email,
            "language": self.language,
        }


@dataclass(frozen=True)
class ScopeTenant:
    """How many people of one tenant a scope found."""

    tenant: str
    region: str
    people: int

    def as_json(self) -> dict[str, object]:
        return {"tenant": self.tenant, "region": self.region, "people": self.people}


@dataclass(frozen=True)
class ScopeHeader:
    """What a scope snapshot was taken of, and what it found; its recipients are stored with
    it (``tx.incident_scope.recipients``) in a stable order: tenant, then user id."""

    incident_id: str
    selection: str
    """``tenants``, ``region`` or ``all``."""
    targets: tuple[str, ...]
    """The tenants or the region named (empty for ``all``)."""
    window_from: datetime | None
    window_to: datetime | None
    logged_in_during_window: bool
    tenants: int
    people: int
    sha256: str
    """Digest of the recipients in their stable order (tenant, user id, e-mail, language)."""
    taken_by: str
    taken_at: datetime

    def as_json(self) -> dict[str, object]:
        return {
            "selection": self.selection,
            "targets": list(self.targets),
            "window_from": iso(self.window_from),
            "window_to": iso(self.window_to),
            "logged_in_during_window": self.logged_in_during_window,
            "tenants": self.tenants,
            "people": self.people,
            "sha256": self.sha256,
            "taken_by": self.taken_by,
            "taken_at": iso(self.taken_at),
        }


@dataclass(frozen=True)
class Exemption:
    """A ground of Art. 34(3) for not informing the people (e.g. the data was encrypted and
    unintelligible), with its rationale, as recorded; a report lists every one."""

    ground: str
    rationale: str
    recorded_by: str
    recorded_at: datetime

    def as_json(self) -> dict[str, object]:
        return {
            "ground": self.ground,
            "rationale": self.rationale,
            "recorded_by": self.recorded_by,
            "recorded_at": iso(self.recorded_at),
        }
