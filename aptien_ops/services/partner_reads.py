"""Partners: reading the register (list, show, candidates for a tenant, check, summary).

One part of :class:`aptien_ops.services.partners.PartnerService`; changes to the register
are in ``partner_changes``, assignments and shares in ``partner_links``. Every date is a UTC
calendar date: "today" is the UTC date of the console's clock. Viewing is open to all staff
(``partner.view``: no personal data of a client, only the partners' business contacts).
"""

from __future__ import annotations

import builtins
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from aptien_ops.config import region_or_fail
from aptien_ops.domain import Tenant, parse_choice, validate_tenant_name
from aptien_ops.domain.partner_rules import (
    Fault,
    check_report,
    fit_fault,
    in_force_until,
    lapse,
    partner_fault,
    tenant_fault,
)
from aptien_ops.domain.partners import (
    Agreement,
    Assignment,
    AssignmentFacts,
    Partner,
    PartnerKind,
    PartnerStatus,
    utc_date,
    validate_partner_name,
)
from aptien_ops.errors import InvalidInput, NotFound, OpsError
from aptien_ops.permissions import Action
from aptien_ops.ports import CatalogTx
from aptien_ops.regions import RegionResolver
from aptien_ops.services.context import OpsContext, existing_tenant
from aptien_ops.services.partner_results import (
    AgreementRow,
    AssignmentRow,
    Candidate,
    CheckReport,
    PartnerDetail,
    PartnerRow,
    PartnerSummary,
    ShareRow,
)

#: The longest look-ahead ``--expiring-within`` takes (ten years).
MAX_WITHIN_DAYS = 3650


def existing_partner(tx: CatalogTx, name: str, *, for_update: bool = False) -> Partner:
    """The partner ``name``. Raises: NotFound (pointing at ``partner list``)."""
    partner = tx.partners.get(name, for_update=for_update)
    if partner is None:
        raise NotFound(f"no partner named {name}", hint="aptien-ops partner list")
    return partner


def parse_role(value: str) -> PartnerKind:
    """Raises: InvalidInput naming sales and expert."""
    return parse_choice(PartnerKind, value, "partner role")


def within_days(value: int | None, default: int) -> int:
    """Raises: InvalidInput outside 0 … 3650."""
    days = default if value is None else value
    if not 0 <= days <= MAX_WITHIN_DAYS:
        raise InvalidInput(f"the number of days must be between 0 and {MAX_WITHIN_DAYS}")
    return days


Grouped = dict[str, list[Agreement]]


def by_partner(agreements: Iterable[Agreement]) -> Grouped:
    grouped: dict[str, list[Agreement]] = defaultdict(list)
    for a in agreements:
        grouped[a.partner].append(a)
    return grouped


@dataclass(frozen=True)
class RegisterSnapshot:
    """The whole register as read in one transaction, for the rules to judge on ``on``."""

    on: date
    partners: list[Partner]
    agreements: Grouped
    facts: list[AssignmentFacts]


class PartnerReads:
    def __init__(self, ctx: OpsContext, resolver: RegionResolver) -> None:
        self.ctx = ctx
        self.resolver = resolver

    @property
    def grace_days(self) -> int:
        return self.ctx.settings.partners.review_grace_days

    def today(self) -> date:
        """The UTC calendar date of the console's clock."""
        return utc_date(self.ctx.now())

    def _snapshot(self) -> RegisterSnapshot:
        on = self.today()

        def read(tx: CatalogTx) -> RegisterSnapshot:
            agreements = by_partner(tx.partners.agreements())
            return RegisterSnapshot(
                on, tx.partners.all(), agreements, tx.partner_assignments.facts(on)
            )

        return self.ctx.view(Action.PARTNER_VIEW, "partners", read)

    # -- the register ----------------------------------------------------------------------

    def list(
        self,
        *,
        region: str | None = None,
        country: str | None = None,
        status: str | None = None,
        expiring_within: int | None = None,
    ) -> builtins.list[PartnerRow]:
        """Partners by name, with their state today; filtered by coverage of a region or a
        country, by status, or to those whose agreements run out within N days.

        Raises: InvalidInput (a filter), Forbidden."""
        if region is not None:
            region_or_fail(self.ctx.settings, region)
        place = self.resolver.resolve(country) if country is not None else None
        wanted = parse_choice(PartnerStatus, status, "partner status") if status else None
        window = within_days(expiring_within, self.ctx.settings.partners.expiring_within_days)
        snap = self._snapshot()
        lapsed = self._lapsed_by_partner(snap.facts, snap.on)
        open_count: dict[str, int] = defaultdict(int)
        for f in snap.facts:
            open_count[f.assignment.partner] += 1
        rows = []
        for p in snap.partners:
            if wanted is not None and p.status != wanted:
                continue
            if place is not None and not p.coverage.covers(place.country.alpha2, place.region):
                continue
            if region is not None and not self._reaches(p, region):
                continue
            row = self._row(p, snap, window, open_count[p.name], lapsed[p.name])
            if expiring_within is not None and not row.expiring:
                continue
            rows.append(row)
        return rows

    def _reaches(self, partner: Partner, region: str) -> bool:
        """Its coverage names ``region`` or a country of it."""
        if region in partner.coverage.regions:
            return True
        for cc in partner.coverage.countries:
            try:
                if self.resolver.resolve(cc).region == region:
                    return True
            except OpsError:  # a country of a region this config does not have
                continue
        return False

    def _lapsed_by_partner(self, facts: Iterable[AssignmentFacts], on: date) -> dict[str, int]:
        lapsed: dict[str, int] = defaultdict(int)
        for f in facts:
            if lapse(f, on, self.grace_days) is not None:
                lapsed[f.assignment.partner] += 1
        return lapsed

    def _row(
        self, p: Partner, snap: RegisterSnapshot, window: int, open_n: int, lapsed_n: int
    ) -> PartnerRow:
        agreements = snap.agreements.get(p.name, [])
        fault = partner_fault(p, agreements, snap.on, self.grace_days)
        run = in_force_until(agreements, snap.on)
        until = run[0] if run is not None else None
        return PartnerRow(
            p.name,
            p.legal_name,
            tuple(k for k in PartnerKind if k in p.kinds),
            p.coverage.entries,
            p.status,
            fault is None,
            fault.message if fault else None,
            until,
            until is not None and until <= snap.on + timedelta(days=window),
            p.review_due,
            p.status == PartnerStatus.ACTIVE and p.review_due < snap.on,
            open_n,
            lapsed_n,
        )

    def show(self, name: str) -> PartnerDetail:
        """The partner with its agreements, reviews, assignments (open and ended, each with
        its state today) and shares. Raises: InvalidInput, NotFound, Forbidden."""
        validate_partner_name(name)
        on = self.today()

        def read(tx: CatalogTx) -> PartnerDetail:
            partner = existing_partner(tx, name)
            agreements = tx.partners.agreements(name)
            facts = {f.assignment.id: f for f in tx.partner_assignments.facts(on, partner=name)}
            rows = []
            for a in tx.partner_assignments.assignments(partner=name):
                fault = lapse(facts[a.id], on, self.grace_days) if a.id in facts else None
                rows.append(assignment_row(a, fault))
            fault = partner_fault(partner, agreements, on, self.grace_days)
            run = in_force_until(agreements, on)
            return PartnerDetail(
                partner,
                on,
                fault is None,
                fault.message if fault else None,
                run[0] if run else None,
                tuple(AgreementRow(a, a.in_force(on)) for a in agreements),
                tuple(tx.partners.reviews(name)),
                tuple(rows),
                tuple(tx.partner_assignments.shares(partner=name)),
            )

        return self.ctx.view(Action.PARTNER_VIEW, name, read)

    def candidates(self, tenant: str, role: str) -> builtins.list[Candidate]:
        """Every partner not ended, as a ``role`` contact of ``tenant`` today: the eligible
        first, then the others with the first rule they fail; each by name.

        Raises: InvalidInput (name, role), NotFound (tenant), Forbidden."""
        validate_tenant_name(tenant)
        wanted = parse_role(role)
        on = self.today()

        def read(tx: CatalogTx) -> tuple[Tenant, builtins.list[Partner], Grouped, set[str]]:
            client = existing_tenant(tx, tenant)
            assigned = {
                a.partner
                for a in tx.partner_assignments.assignments(tenant=tenant, open_only=True)
                if a.role == wanted
            }
            return client, tx.partners.all(), by_partner(tx.partners.agreements()), assigned

        client, partners, agreements, assigned = self.ctx.view(Action.PARTNER_VIEW, tenant, read)
        out = []
        for p in partners:
            if p.status == PartnerStatus.ENDED:
                continue
            fault = (
                tenant_fault(str(client.state))
                or partner_fault(p, agreements.get(p.name, []), on, self.grace_days)
                or fit_fault(p.kinds, p.coverage, wanted, client.country, client.region)
            )
            out.append(Candidate.of(p, fault, p.name in assigned))
        return sorted(out, key=lambda c: (not c.eligible, c.name))

    # -- checks ------------------------------------------------------------------------------

    def check(self, within: int | None = None) -> CheckReport:
        """Every lapsed assignment, every active partner whose agreements run out within
        ``within`` days (default ``[partners] expiring_within_days``) and every review
        overdue, as of today. Raises: InvalidInput, Forbidden."""
        window = within_days(within, self.ctx.settings.partners.expiring_within_days)
        return self._report(self._snapshot(), window)

    def _report(self, snap: RegisterSnapshot, window: int) -> CheckReport:
        active = [p for p in snap.partners if p.status == PartnerStatus.ACTIVE]
        runs = []
        for p in active:
            run = in_force_until(snap.agreements.get(p.name, []), snap.on)
            if run is not None:
                runs.append((p.name, run[1], run[0]))
        return check_report(
            snap.facts,
            runs,
            [(p.name, p.review_due) for p in active],
            on=snap.on,
            within_days=window,
            grace_days=self.grace_days,
        )

    def summary(self) -> PartnerSummary:
        """The dashboard card: partners (not ended), eligible ones, open and lapsed
        assignments, agreements expiring and reviews overdue. Raises: Forbidden."""
        snap = self._snapshot()
        report = self._report(snap, self.ctx.settings.partners.expiring_within_days)
        live = [p for p in snap.partners if p.status != PartnerStatus.ENDED]
        eligible = sum(
            1
            for p in live
            if partner_fault(p, snap.agreements.get(p.name, []), snap.on, self.grace_days) is None
        )
        return PartnerSummary(
            len(live),
            eligible,
            report.open_assignments,
            len(report.lapsed),
            len(report.expiring),
            len(report.overdue),
        )

    # -- assignments and shares, as recorded ----------------------------------------------------

    def assignments(
        self, *, tenant: str | None = None, partner: str | None = None, include_ended: bool = False
    ) -> builtins.list[AssignmentRow]:
        """Assignments of a tenant and/or a partner (neither: all), oldest first, each with
        its state today. Raises: InvalidInput, NotFound, Forbidden."""
        self._check_names(tenant, partner)
        on = self.today()

        def read(tx: CatalogTx) -> builtins.list[AssignmentRow]:
            self._exist(tx, tenant, partner)
            facts = {
                f.assignment.id: f
                for f in tx.partner_assignments.facts(on, tenant=tenant, partner=partner)
            }
            rows = []
            for a in tx.partner_assignments.assignments(
                tenant=tenant, partner=partner, open_only=not include_ended
            ):
                fault = lapse(facts[a.id], on, self.grace_days) if a.id in facts else None
                rows.append(assignment_row(a, fault))
            return rows

        return self.ctx.view(Action.PARTNER_VIEW, tenant or partner or "partners", read)

    def shares(
        self, *, tenant: str | None = None, partner: str | None = None
    ) -> builtins.list[ShareRow]:
        """Contact cards shared (who, partner, tenant, reason; never the card), newest first.
        Raises: InvalidInput, NotFound, Forbidden."""
        self._check_names(tenant, partner)

        def read(tx: CatalogTx) -> builtins.list[ShareRow]:
            self._exist(tx, tenant, partner)
            found = tx.partner_assignments.shares(tenant=tenant, partner=partner)
            return found

        return self.ctx.view(Action.PARTNER_VIEW, tenant or partner or "partners", read)

    @staticmethod
    def _check_names(tenant: str | None, partner: str | None) -> None:
        if tenant is not None:
            validate_tenant_name(tenant)
        if partner is not None:
            validate_partner_name(partner)

    @staticmethod
    def _exist(tx: CatalogTx, tenant: str | None, partner: str | None) -> None:
        if tenant is not None:
            existing_tenant(tx, tenant)
        if partner is not None:
            existing_partner(tx, partner)


def assignment_row(a: Assignment, fault: Fault | None) -> AssignmentRow:
    if fault is None:
        return AssignmentRow(a, False, None, None)
    return AssignmentRow(a, True, fault.message, fault.rule)
