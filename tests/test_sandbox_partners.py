"""The sandbox's partner register: realistic partners in both regions, in every state the policy
knows, written the same on SQLite and PostgreSQL catalogs for the same day, once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aptien_ops.composition import Console, open_console
from aptien_ops.domain import Tenant, TenantState
from aptien_ops.sandbox import DEMO_TENANTS
from aptien_ops.sandbox_partners import DEMO_COMPANIES, DEMO_PARTNERS

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
#: Demo tenants the operator has changed since: partners are assigned to neither.
CANCELLED = "gotham-legal"


@pytest.fixture
def admin(catalog_config: Path) -> Iterator[Console]:
    """A console on a sandbox catalog (SQLite or PostgreSQL) holding the demo tenants."""
    console = open_console(catalog_config, clock=lambda: NOW)
    with console.ctx.catalog.transaction() as tx:
        for name, country, contact, email in DEMO_TENANTS:
            region = console.regions.resolve(country).region
            state = TenantState.CANCELLED if name == CANCELLED else TenantState.ACTIVE
            tx.tenants.insert(Tenant(name, country, region, None, state, contact, email, NOW, NOW))
    yield console
    console.close()


def _names() -> list[str]:
    return [name for name, *_ in DEMO_TENANTS]


def test_the_register_has_every_state_in_both_regions(admin: Console) -> None:
    seeded = admin.seeding.seed_partners(_names())
    assert seeded.partners == len(DEMO_PARTNERS)
    rows = {r.name: r for r in admin.partners.list()}
    assert set(rows) == {p.name for p in DEMO_PARTNERS}
    assert rows["nordic-sales"].eligible and rows["nordic-sales"].kinds == ("sales",)
    assert {str(r.status) for r in rows.values()} == {"active", "suspended", "ended"}
    expiring = sorted(n for n, r in rows.items() if r.expiring and r.eligible)
    assert expiring == ["atlas-partners", "rhein-consulting"]
    assert rows["pacific-experts"].review_overdue and rows["pacific-experts"].eligible
    assert not rows["meridian-advisory"].eligible
    regions = {admin.regions.resolve(n[1]).region for n in DEMO_TENANTS}
    reached = {
        admin.regions.resolve(entry).region if len(entry) == 2 and entry.isupper() else entry
        for r in rows.values()
        if r.eligible
        for entry in r.coverage
    }
    assert regions <= reached  # eligible partners in both regions


def test_one_assignment_has_lapsed_and_a_few_cards_were_shared(admin: Console) -> None:
    seeded = admin.seeding.seed_partners(_names())
    report = admin.partners.check()
    assert [(x.partner, x.tenant) for x in report.lapsed] == [
        ("meridian-advisory", "lagos-fintech")
    ]
    assert seeded.shares == len(admin.partners.shares()) == 3
    assigned = admin.partners.assignments()
    assert len(assigned) == seeded.assignments
    assert CANCELLED not in {row.assignment.tenant for row in assigned}
    summary = admin.partners.summary()
    assert (summary.lapsed, summary.expiring, summary.overdue) == (1, 2, 1)


def test_demo_tenants_get_their_contact_card(admin: Console) -> None:
    admin.seeding.seed_partners(_names())
    acme = admin.tenants.show("acme-gmbh")
    assert (acme.company, acme.contact_phone) == DEMO_COMPANIES["acme-gmbh"]


def test_a_second_run_adds_nothing(admin: Console) -> None:
    first = admin.seeding.seed_partners(_names())
    again = admin.seeding.seed_partners(_names())
    assert first.assignments >= 5 and first.contact_cards == len(DEMO_TENANTS) - 1
    assert (again.partners, again.assignments, again.shares, again.contact_cards) == (0, 0, 0, 0)


def test_dates_follow_the_injected_clock(admin: Console) -> None:
    admin.seeding.seed_partners(_names())
    rhein = admin.partners.show("rhein-consulting")
    assert rhein.on.isoformat() == "2026-06-01"
    assert rhein.in_force_until is not None and rhein.in_force_until.isoformat() == "2026-06-13"


def test_seeding_partners_is_one_ops_log_entry(admin: Console) -> None:
    before = len(admin.opslog.list(limit=1000))
    admin.seeding.seed_partners(_names())
    entries = admin.opslog.list(limit=1000)
    assert len(entries) == before + 1
    assert entries[0].action == "sandbox.seed" and entries[0].outcome == "ok"
