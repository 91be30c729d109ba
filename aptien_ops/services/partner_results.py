"""What the partner service returns: frozen dataclasses with ``as_json()``, for the CLI and
the Partners screen alike. Dates are UTC calendar dates (``YYYY-MM-DD``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from aptien_ops.domain.partner_rules import CheckReport, Fault
from aptien_ops.domain.partners import (
    Agreement,
    Assignment,
    Partner,
    PartnerKind,
    PartnerStatus,
    Review,
    Share,
    day,
)

__all__ = [
    "AgreementRow",
    "AssignmentRow",
    "Candidate",
    "CheckReport",
    "ContactCard",
    "ImportDiff",
    "PartnerDetail",
    "PartnerRow",
    "PartnerSummary",
    "ShareRow",
]


@dataclass(frozen=True)
class PartnerRow:
    """One partner of ``partner list``, with its state on the day asked (``on``)."""

    name: str
    legal_name: str
    kinds: tuple[PartnerKind, ...]
    coverage: tuple[str, ...]
    """Regions first (``eu``), then countries (``DE``)."""
    status: PartnerStatus
    eligible: bool
    ineligible_reason: str | None
    """Why it is not eligible (status, no agreement in force, review overdue past grace)."""
    in_force_until: date | None
    """The last day its agreements are in force without a gap; None: none in force, or no end."""
    expiring: bool
    """``in_force_until`` falls within the expiring window."""
    review_due: date
    review_overdue: bool
    """Past its due date (it may still be within the grace period)."""
    open_assignments: int
    lapsed_assignments: int

    @property
    def kind_text(self) -> str:
        return "+".join(self.kinds)

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "legal_name": self.legal_name,
            "kinds": [str(k) for k in self.kinds],
            "coverage": list(self.coverage),
            "status": str(self.status),
            "eligible": self.eligible,
            "ineligible_reason": self.ineligible_reason,
            "in_force_until": day(self.in_force_until),
            "expiring": self.expiring,
            "review_due": day(self.review_due),
            "review_overdue": self.review_overdue,
            "open_assignments": self.open_assignments,
            "lapsed_assignments": self.lapsed_assignments,
        }


@dataclass(frozen=True)
class AgreementRow:
    agreement: Agreement
    in_force: bool
    """In force today (UTC)."""

    def as_json(self) -> dict[str, object]:
        return {**self.agreement.as_json(), "in_force": self.in_force}


@dataclass(frozen=True)
class AssignmentRow:
    """An assignment, and whether it holds today: an open one may have lapsed."""

    assignment: Assignment
    lapsed: bool
    lapse_reason: str | None
    lapse_rule: str | None = None

    @property
    def state(self) -> str:
        """``ended``, ``lapsed`` or ``active``."""
        if not self.assignment.open:
            return "ended"
        return "lapsed" if self.lapsed else "active"

    def as_json(self) -> dict[str, object]:
        return {
            **self.assignment.as_json(),
            "state": self.state,
            "lapse_rule": self.lapse_rule,
            "lapse_reason": self.lapse_reason,
        }


#: One contact card shared: who, with which partner, about which tenant, why (never the card).
ShareRow = Share


@dataclass(frozen=True)
class PartnerDetail:
    """``partner show``: the partner, its eligibility today, and everything recorded about it."""

    partner: Partner
    on: date
    eligible: bool
    ineligible_reason: str | None
    in_force_until: date | None
    agreements: tuple[AgreementRow, ...]
    reviews: tuple[Review, ...]
    """Oldest first."""
    assignments: tuple[AssignmentRow, ...]
    """Open and ended, oldest first."""
    shares: tuple[ShareRow, ...]
    """Newest first."""

    def as_json(self) -> dict[str, object]:
        return {
            **self.partner.as_json(),
            "on": day(self.on),
            "eligible": self.eligible,
            "ineligible_reason": self.ineligible_reason,
            "in_force_until": day(self.in_force_until),
            "agreements": [a.as_json() for a in self.agreements],
            "reviews": [r.as_json() for r in self.reviews],
            "assignments": [a.as_json() for a in self.assignments],
            "shares": [s.as_json() for s in self.shares],
        }


@dataclass(frozen=True)
class Candidate:
    """A partner as a candidate contact person of one tenant in one role: eligible, or why not
    (``rule`` and ``reason`` of the first rule that fails)."""

    name: str
    legal_name: str
    kinds: tuple[PartnerKind, ...]
    coverage: tuple[str, ...]
    eligible: bool
    rule: str | None
    reason: str | None
    assigned: bool
    """Already assigned (open) to this tenant in this role."""

    @classmethod
    def of(cls, partner: Partner, fault: Fault | None, assigned: bool) -> Candidate:
        return cls(
            partner.name,
            partner.legal_name,
            tuple(k for k in PartnerKind if k in partner.kinds),
            partner.coverage.entries,
            fault is None,
            fault.rule if fault else None,
            fault.message if fault else None,
            assigned,
        )

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "legal_name": self.legal_name,
            "kinds": [str(k) for k in self.kinds],
            "coverage": list(self.coverage),
            "eligible": self.eligible,
            "rule": self.rule,
            "reason": self.reason,
            "assigned": self.assigned,
        }


@dataclass(frozen=True)
class PartnerSummary:
    """The dashboard's partners card: the same counts as ``partner check``."""

    partners: int
    """In the register and not ended."""
    eligible: int
    open_assignments: int
    lapsed: int
    expiring: int
    overdue: int

    @property
    def out_of_policy(self) -> bool:
        """Lapsed assignments or reviews overdue (``partner check`` exits 7)."""
        return bool(self.lapsed or self.overdue)

    @property
    def warning(self) -> bool:
        """Agreements expiring soon: within policy, but an operator should renew them."""
        return self.expiring > 0

    def as_json(self) -> dict[str, object]:
        return {
            "partners": self.partners,
            "eligible": self.eligible,
            "open_assignments": self.open_assignments,
            "lapsed": self.lapsed,
            "expiring": self.expiring,
            "overdue": self.overdue,
            "out_of_policy": self.out_of_policy,
            "warning": self.warning,
        }


@dataclass(frozen=True)
class ContactCard:
    """What a partner may be given about a client: its company and representative's name,
    e-mail and phone. Nothing else of the tenant's record, ever."""

    company: str | None
    name: str | None
    email: str | None
    phone: str | None

    def as_json(self) -> dict[str, object]:
        return {
            "company": self.company,
            "name": self.name,
            "email": self.email,
            "phone": self.phone,
        }


@dataclass(frozen=True)
class ImportDiff:
    """What ``partner import`` changes (or would, with ``--dry-run``): partner names."""

    added: tuple[str, ...]
    changed: tuple[str, ...]
    ended: tuple[str, ...]
    unchanged: int
    applied: bool

    def as_json(self) -> dict[str, object]:
        return {
            "added": list(self.added),
            "changed": list(self.changed),
            "ended": list(self.ended),
            "unchanged": self.unchanged,
            "applied": self.applied,
        }
