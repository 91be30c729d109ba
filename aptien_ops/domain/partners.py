"""Partners: the register's records (a partner, its agreements and reviews), assignments to
tenants and contact shares. The rules that judge them are in ``partner_rules``.

Every date here is a calendar date in UTC: an agreement "in force on 2027-03-31" is in force
for the whole of that UTC day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum

from aptien_ops.domain.values import iso
from aptien_ops.errors import InvalidInput

#: A partner's slug: the same shape as a tenant's name.
PARTNER_NAME = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")
#: A region named in a partner's coverage (the config's region names).
REGION_NAME = re.compile(r"^[a-z][a-z0-9-]{0,15}$")


class PartnerKind(StrEnum):
    """What a partner is to a client: its regional sales representative, or an expert."""

    SALES = "sales"
    EXPERT = "expert"


class PartnerStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    ENDED = "ended"


class AgreementStatus(StrEnum):
    ACTIVE = "active"
    ENDED = "ended"


class ReviewOutcome(StrEnum):
    PASS = "pass"
    CONDITIONS = "conditions"
    FAIL = "fail"


def utc_date(moment: datetime) -> date:
    """The UTC calendar date of ``moment`` (every partner rule counts in UTC days)."""
    return moment.date() if moment.utcoffset() is None else moment.astimezone(UTC).date()


def day(value: date | None) -> str | None:
    """``YYYY-MM-DD``, as every output shows a date."""
    return value.isoformat() if value is not None else None


def validate_partner_name(name: str) -> str:
    """Raises: InvalidInput with the rule spelled out (the name is never echoed raw)."""
    if not isinstance(name, str) or not PARTNER_NAME.fullmatch(name):
        shown = repr(name[:45] + ("..." if len(name) > 45 else "")) if isinstance(name, str) else ""
        raise InvalidInput(
            f"invalid partner name {shown}".strip(),
            hint="3-40 characters: lower-case a-z, digits and '-', starting with a letter, "
            "not ending with '-'",
        )
    return name


@dataclass(frozen=True)
class Coverage:
    """Where a partner may act: ISO country codes, whole data regions, or both."""

    countries: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()

    def covers(self, country: str, region: str) -> bool:
        return country in self.countries or region in self.regions

    @property
    def entries(self) -> tuple[str, ...]:
        """Regions first, then countries, each sorted: ``("eu", "CA", "US")``."""
        return (*sorted(self.regions), *sorted(self.countries))

    def __str__(self) -> str:
        return ", ".join(self.entries) or "nowhere"

    def as_json(self) -> dict[str, object]:
        return {"countries": sorted(self.countries), "regions": sorted(self.regions)}


@dataclass(frozen=True)
class Partner:
    """One business partner of the register."""

    name: str
    legal_name: str
    kinds: frozenset[PartnerKind]
    expertise: tuple[str, ...]
    coverage: Coverage
    contact_name: str | None
    contact_email: str | None
    contact_phone: str | None
    status: PartnerStatus
    status_reason: str | None
    review_due: date
    """When its next review is due (the last review's, or one interval after it was added)."""
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str

    @property
    def kind_text(self) -> str:
        """``sales``, ``expert`` or ``sales+expert``."""
        return "+".join(k for k in PartnerKind if k in self.kinds)

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "legal_name": self.legal_name,
            "kinds": [str(k) for k in PartnerKind if k in self.kinds],
            "expertise": list(self.expertise),
            **self.coverage.as_json(),
            "contact_name": self.contact_name,
            "contact_email": self.contact_email,
            "contact_phone": self.contact_phone,
            "status": str(self.status),
            "status_reason": self.status_reason,
            "review_due": day(self.review_due),
            "created_at": iso(self.created_at),
            "created_by": self.created_by,
            "updated_at": iso(self.updated_at),
            "updated_by": self.updated_by,
        }


@dataclass(frozen=True)
class Agreement:
    """A signed partnership agreement; in force from ``effective_from`` to ``expires_on``
    (both inclusive, UTC days) while not ended."""

    id: int
    partner: str
    reference: str
    signed_on: date
    effective_from: date
    expires_on: date | None
    document_sha256: str | None
    status: AgreementStatus
    created_at: datetime
    created_by: str
    ended_at: datetime | None = None
    ended_by: str | None = None
    end_reason: str | None = None

    def in_force(self, on: date) -> bool:
        if self.status != AgreementStatus.ACTIVE or on < self.effective_from:
            return False
        return self.expires_on is None or on <= self.expires_on

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "partner": self.partner,
            "reference": self.reference,
            "signed_on": day(self.signed_on),
            "effective_from": day(self.effective_from),
            "expires_on": day(self.expires_on),
            "document_sha256": self.document_sha256,
            "status": str(self.status),
            "created_at": iso(self.created_at),
            "created_by": self.created_by,
            "ended_at": iso(self.ended_at),
            "ended_by": self.ended_by,
            "end_reason": self.end_reason,
        }


@dataclass(frozen=True)
class Review:
    id: int
    partner: str
    reviewed_on: date
    outcome: ReviewOutcome
    notes: str | None
    next_due: date
    reviewed_by: str
    recorded_at: datetime

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "partner": self.partner,
            "reviewed_on": day(self.reviewed_on),
            "outcome": str(self.outcome),
            "notes": self.notes,
            "next_due": day(self.next_due),
            "reviewed_by": self.reviewed_by,
            "recorded_at": iso(self.recorded_at),
        }


@dataclass(frozen=True)
class Assignment:
    """A partner made a tenant's contact person (``role`` sales or expert); kept when ended."""

    id: int
    partner: str
    tenant: str
    role: PartnerKind
    reason: str
    assigned_by: str
    assigned_at: datetime
    ended_at: datetime | None = None
    ended_by: str | None = None
    end_reason: str | None = None

    @property
    def open(self) -> bool:
        """Not ended (it may still have lapsed: see ``partner_rules``)."""
        return self.ended_at is None

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "partner": self.partner,
            "tenant": self.tenant,
            "role": str(self.role),
            "reason": self.reason,
            "assigned_by": self.assigned_by,
            "assigned_at": iso(self.assigned_at),
            "ended_at": iso(self.ended_at),
            "ended_by": self.ended_by,
            "end_reason": self.end_reason,
        }


@dataclass(frozen=True)
class Share:
    """A tenant's contact card given to a partner: who, when, why (never the card itself)."""

    id: int
    partner: str
    tenant: str
    reason: str
    shared_by: str
    shared_at: datetime

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "partner": self.partner,
            "tenant": self.tenant,
            "reason": self.reason,
            "shared_by": self.shared_by,
            "shared_at": iso(self.shared_at),
        }


@dataclass(frozen=True)
class AssignmentFacts:
    """What the lapse rule needs about one open assignment, read in one query for all of them:
    the partner's state, its coverage and kinds, the tenant's place, and whether an agreement
    is in force on the day asked."""

    assignment: Assignment
    tenant_country: str
    tenant_region: str
    tenant_state: str
    partner_status: PartnerStatus
    partner_kinds: frozenset[PartnerKind]
    coverage: Coverage
    review_due: date
    in_force: bool
