"""The partner policy's rules: who is eligible on a day, who may be assigned to a tenant,
when an assignment lapses, and what ``partner check`` reports.

Lapse is computed, never stored: an open assignment whose partner stops being eligible
(agreement expired or ended, partner suspended or ended, review overdue past the grace
period), whose coverage or kinds no longer fit the tenant, allows nothing from that day on.
Every date is a UTC calendar date.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from aptien_ops.domain.partners import (
    Agreement,
    AssignmentFacts,
    Coverage,
    Partner,
    PartnerKind,
    PartnerStatus,
    day,
)

#: Tenant states a partner may be assigned to (a cancelled tenant's assignments are ended).
ASSIGNABLE_TENANT_STATES = frozenset({"active", "suspended"})


@dataclass(frozen=True)
class Fault:
    """A rule of the policy that fails: ``rule`` is a short stable code (``agreement``,
    ``status``, ``review``, ``kind``, ``coverage``, ``tenant-state``), ``message`` says it."""

    rule: str
    message: str

    def as_json(self) -> dict[str, object]:
        return {"rule": self.rule, "message": self.message}


def add_months(start: date, months: int) -> date:
    """``start`` plus ``months`` calendar months, on the month's last day if it is shorter
    (2027-01-31 + 1 month = 2027-02-28)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(start.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has 28 days")


def review_overdue(review_due: date, on: date, grace_days: int) -> bool:
    """Overdue past the grace period: ``on`` is later than the due date plus ``grace_days``."""
    return on > review_due + timedelta(days=grace_days)


def ineligibility(
    status: PartnerStatus, review_due: date, in_force: bool, on: date, grace_days: int
) -> Fault | None:
    """Why a partner is not eligible on ``on``, or None: it must be active, hold an agreement
    in force that day, and not be overdue for review past the grace period."""
    if status != PartnerStatus.ACTIVE:
        return Fault("status", f"the partner is {status}")
    if not in_force:
        return Fault("agreement", f"no agreement in force on {day(on)}")
    if review_overdue(review_due, on, grace_days):
        return Fault(
            "review",
            f"its review was due on {day(review_due)} (grace {grace_days} days)",
        )
    return None


def partner_fault(
    partner: Partner, agreements: Iterable[Agreement], on: date, grace_days: int
) -> Fault | None:
    """:func:`ineligibility` of a partner, given its agreements."""
    in_force = any(a.in_force(on) for a in agreements)
    return ineligibility(partner.status, partner.review_due, in_force, on, grace_days)


def in_force_until(agreements: Iterable[Agreement], on: date) -> tuple[date, str] | None:
    """The last day of the partner's run of agreements in force from ``on`` (a renewal that
    takes over the next day continues the run) and the reference of the agreement ending it;
    None when none is in force on ``on`` or the run is open-ended."""
    held = list(agreements)
    current = on
    last: tuple[date, str] | None = None
    while True:
        now_in_force = [a for a in held if a.in_force(current)]
        if not now_in_force:
            return last
        if any(a.expires_on is None for a in now_in_force):
            return None
        ending = max(now_in_force, key=lambda a: (a.expires_on or current, a.id))
        assert ending.expires_on is not None
        last = (ending.expires_on, ending.reference)
        current = ending.expires_on + timedelta(days=1)


def fit_fault(
    kinds: frozenset[PartnerKind],
    coverage: Coverage,
    role: PartnerKind,
    country: str,
    region: str,
) -> Fault | None:
    """Why a partner of ``kinds`` and ``coverage`` is no ``role`` contact for a client in
    ``country`` (of ``region``), or None."""
    if role not in kinds:
        return Fault("kind", f"the partner is not a {role} partner")
    if not coverage.covers(country, region):
        return Fault(
            "coverage", f"its coverage ({coverage}) does not include {country} or {region}"
        )
    return None


def tenant_fault(state: str) -> Fault | None:
    if state not in ASSIGNABLE_TENANT_STATES:
        return Fault("tenant-state", f"the tenant is {state}, not active or suspended")
    return None


def lapse(facts: AssignmentFacts, on: date, grace_days: int) -> Fault | None:
    """Why an open assignment has lapsed on ``on``, or None while it holds."""
    return ineligibility(
        facts.partner_status, facts.review_due, facts.in_force, on, grace_days
    ) or fit_fault(
        facts.partner_kinds,
        facts.coverage,
        facts.assignment.role,
        facts.tenant_country,
        facts.tenant_region,
    )


@dataclass(frozen=True)
class LapsedAssignment:
    assignment_id: int
    partner: str
    tenant: str
    role: PartnerKind
    fault: Fault

    def as_json(self) -> dict[str, object]:
        return {
            "assignment": self.assignment_id,
            "partner": self.partner,
            "tenant": self.tenant,
            "role": str(self.role),
            "rule": self.fault.rule,
            "reason": self.fault.message,
            "out_of_policy": True,
        }


@dataclass(frozen=True)
class ExpiringAgreement:
    partner: str
    reference: str
    expires_on: date
    days_left: int

    def as_json(self) -> dict[str, object]:
        return {
            "partner": self.partner,
            "reference": self.reference,
            "expires_on": day(self.expires_on),
            "days_left": self.days_left,
            "out_of_policy": False,
        }


@dataclass(frozen=True)
class OverdueReview:
    partner: str
    review_due: date
    days_overdue: int
    past_grace: bool
    """Overdue past the grace period: the partner is not eligible any more."""

    def as_json(self) -> dict[str, object]:
        return {
            "partner": self.partner,
            "review_due": day(self.review_due),
            "days_overdue": self.days_overdue,
            "past_grace": self.past_grace,
            "out_of_policy": True,
        }


@dataclass(frozen=True)
class CheckReport:
    """``partner check``: lapsed assignments and reviews overdue (out of policy), agreements
    expiring soon (a warning: still in force, nothing is broken yet)."""

    on: date
    within_days: int
    grace_days: int
    lapsed: tuple[LapsedAssignment, ...]
    expiring: tuple[ExpiringAgreement, ...]
    overdue: tuple[OverdueReview, ...]
    open_assignments: int
    """Open assignments examined (lapsed or not)."""

    @property
    def breaches(self) -> int:
        """Findings out of policy: lapsed assignments (an agreement expired, a partner
        suspended or ended, a coverage or kind that no longer fits) and reviews overdue."""
        return len(self.lapsed) + len(self.overdue)

    @property
    def warnings(self) -> int:
        """Findings within policy that need an operator soon: agreements expiring."""
        return len(self.expiring)

    @property
    def out_of_policy(self) -> bool:
        """A breach was found (``partner check`` exits 7); expiring agreements alone are not."""
        return self.breaches > 0

    def as_json(self) -> dict[str, object]:
        return {
            "on": day(self.on),
            "within_days": self.within_days,
            "grace_days": self.grace_days,
            "out_of_policy": self.out_of_policy,
            "breaches": self.breaches,
            "warnings": self.warnings,
            "open_assignments": self.open_assignments,
            "lapsed": [x.as_json() for x in self.lapsed],
            "expiring": [x.as_json() for x in self.expiring],
            "overdue": [x.as_json() for x in self.overdue],
        }


def check_report(
    facts: Iterable[AssignmentFacts],
    agreements: Iterable[tuple[str, str, date]],
    reviews: Iterable[tuple[str, date]],
    *,
    on: date,
    within_days: int,
    grace_days: int,
) -> CheckReport:
    """The report from the open assignments' facts, the active partners' in-force agreements
    with an end date (partner, reference, expires on) and their review due dates."""
    lapsed: list[LapsedAssignment] = []
    examined = 0
    for f in facts:
        examined += 1
        fault = lapse(f, on, grace_days)
        if fault is not None:
            a = f.assignment
            lapsed.append(LapsedAssignment(a.id, a.partner, a.tenant, a.role, fault))
    horizon = on + timedelta(days=within_days)
    expiring = [
        ExpiringAgreement(partner, ref, expires, (expires - on).days)
        for partner, ref, expires in agreements
        if on <= expires <= horizon
    ]
    overdue = [
        OverdueReview(partner, due, (on - due).days, review_overdue(due, on, grace_days))
        for partner, due in reviews
        if due < on
    ]
    return CheckReport(
        on,
        within_days,
        grace_days,
        tuple(sorted(lapsed, key=lambda x: (x.tenant, x.partner, x.assignment_id))),
        tuple(sorted(expiring, key=lambda x: (x.expires_on, x.partner, x.reference))),
        tuple(sorted(overdue, key=lambda x: (x.review_due, x.partner))),
        examined,
    )
