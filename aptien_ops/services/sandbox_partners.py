"""The sandbox's partner register written into the catalog (``sandbox init`` and ``sandbox seed``):
the partners of :data:`aptien_ops.sandbox_partners.DEMO_PARTNERS` with their agreements and
reviews, assignments to the tenants given, and a few contact shares; and the demo tenants'
contact cards (company, phone).

Written straight through the repositories, in the seeding's own audited transaction: the
story includes what the services refuse today (an assignment made while its partner's
agreement was in force, lapsed since). Dates come from the injected clock; the same day
gives the same register. A partner there already is left as it is; an assignment is added
only where its tenant has no open one of that role and never had one with that partner.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from aptien_ops.domain import Tenant, TenantState
from aptien_ops.domain.partners import (
    Agreement,
    AgreementStatus,
    Assignment,
    Coverage,
    Partner,
    PartnerKind,
    PartnerStatus,
    Review,
    ReviewOutcome,
    Share,
    utc_date,
)
from aptien_ops.ports import CatalogTx
from aptien_ops.sandbox_partners import DEMO_COMPANIES, DEMO_PARTNERS, DemoPartner

#: How long before the seeding day the demo assignments were made, and shares given.
ASSIGNED_DAYS_AGO = 30
SHARED_DAYS_AGO = 7


@dataclass(frozen=True)
class SeededPartners:
    """What one run added to the register."""

    partners: int
    assignments: int
    shares: int
    contact_cards: int

    def as_json(self) -> dict[str, object]:
        return {
            "partners": self.partners,
            "assignments": self.assignments,
            "shares": self.shares,
            "contact_cards": self.contact_cards,
        }


def seed_partners(
    tx: CatalogTx, tenants: Iterable[Tenant], now: datetime, by: str
) -> SeededPartners:
    """Write the demo register, assign its partners among ``tenants`` and complete the demo
    tenants' contact cards, in ``tx``."""
    today = utc_date(now)
    added = 0
    for demo in DEMO_PARTNERS:
        if tx.partners.get(demo.name) is None:
            _add_partner(tx, demo, today, now, by)
            added += 1
    live = sorted(
        (t for t in tenants if t.state in (TenantState.ACTIVE, TenantState.SUSPENDED)),
        key=lambda t: t.name,
    )
    assignments = shares = 0
    for demo in DEMO_PARTNERS:
        for n, tenant in enumerate(_assignees(tx, demo, live)):
            _assign(tx, demo, tenant, now, by)
            assignments += 1
            if n < demo.shares:
                tx.partner_assignments.add_share(
                    Share(
                        0,
                        demo.name,
                        tenant.name,
                        "the client asked for a local contact",
                        by,
                        now - timedelta(days=SHARED_DAYS_AGO),
                    )
                )
                shares += 1
    cards = _contact_cards(tx, live)
    return SeededPartners(added, assignments, shares, cards)


def _add_partner(tx: CatalogTx, demo: DemoPartner, today: date, now: datetime, by: str) -> None:
    def on(days: int) -> date:
        return today + timedelta(days=days)

    created = now - timedelta(days=-demo.signed)
    tx.partners.insert(
        Partner(
            demo.name,
            demo.legal_name,
            frozenset(PartnerKind(k) for k in demo.kinds),
            demo.expertise,
            Coverage(frozenset(demo.countries), frozenset(demo.regions)),
            *demo.contact,
            PartnerStatus(demo.status),
            demo.status_reason,
            on(demo.review_due),
            created,
            by,
            now,
            by,
        )
    )
    tx.partners.add_agreement(
        Agreement(
            0,
            demo.name,
            demo.agreement,
            on(demo.signed),
            on(demo.signed),
            None if demo.expires is None else on(demo.expires),
            None,
            AgreementStatus.ACTIVE,
            created,
            by,
        )
    )
    tx.partners.add_review(
        Review(
            0,
            demo.name,
            on(demo.reviewed),
            ReviewOutcome(demo.outcome),
            demo.status_reason if demo.outcome == "fail" else "documents and training checked",
            on(demo.review_due),
            by,
            now - timedelta(days=-demo.reviewed),
        )
    )


def _assignees(tx: CatalogTx, demo: DemoPartner, tenants: list[Tenant]) -> list[Tenant]:
    """The first ``demo.assign`` of ``tenants`` it covers that have no open assignment of its
    role, less those of ``tenants`` it was ever assigned to (a second run adds none)."""
    role = PartnerKind(demo.kinds[0])
    names = {t.name for t in tenants}
    had = {a.tenant for a in tx.partner_assignments.assignments(partner=demo.name)} & names
    chosen: list[Tenant] = []
    for tenant in tenants:
        if len(chosen) + len(had) >= demo.assign:
            break
        if tenant.country not in demo.countries and tenant.region not in demo.regions:
            continue
        held = tx.partner_assignments.assignments(tenant=tenant.name, open_only=True)
        if tenant.name in had or any(a.role == role for a in held):
            continue
        chosen.append(tenant)
    return chosen


def _assign(tx: CatalogTx, demo: DemoPartner, tenant: Tenant, now: datetime, by: str) -> None:
    role = PartnerKind(demo.kinds[0])
    why = "regional sales contact" if role == PartnerKind.SALES else "expert the client needs"
    tx.partner_assignments.insert(
        Assignment(
            0, demo.name, tenant.name, role, why, by, now - timedelta(days=ASSIGNED_DAYS_AGO)
        )
    )


def _contact_cards(tx: CatalogTx, tenants: list[Tenant]) -> int:
    """Give the demo tenants without one their company and phone; returns how many."""
    completed = 0
    for tenant in tenants:
        card = DEMO_COMPANIES.get(tenant.name)
        current = tx.tenants.get(tenant.name, for_update=True) if card else None
        if card is None or current is None or current.company or current.contact_phone:
            continue
        company, phone = card
        tx.tenants.update(replace(current, company=company, contact_phone=phone), by="sandbox")
        completed += 1
    return completed
