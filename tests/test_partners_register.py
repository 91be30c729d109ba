"""The partner register on both catalogs: eligibility on UTC days (the first and last day an
agreement is in force), assignment rules (exit 5 naming the rule), lapse computed from the
register, reviews, checks, candidates and the dashboard's counts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from partner_world import PartnerWorld

from aptien_ops.domain import TenantState
from aptien_ops.domain.partner_rules import add_months, in_force_until
from aptien_ops.domain.partners import Agreement, AgreementStatus
from aptien_ops.errors import Conflict, Forbidden, InvalidInput, NotFound
from aptien_ops.services.partners import PartnerUpdate


@pytest.fixture
def world(catalog_config: Path) -> Iterator[PartnerWorld]:
    w = PartnerWorld(catalog_config)
    yield w
    w.close()


def _eligible(world: PartnerWorld, name: str) -> bool:
    [row] = [r for r in world.as_("vic").partners.list() if r.name == name]
    return row.eligible


def test_an_agreement_is_in_force_from_its_first_to_its_last_utc_day(world: PartnerWorld) -> None:
    world.partner(agreement=(date(2027, 3, 10), date(2027, 3, 20)))
    for day, expected in [
        (date(2027, 3, 9), False),
        (date(2027, 3, 10), True),
        (date(2027, 3, 20), True),
        (date(2027, 3, 21), False),
    ]:
        for hour in (0, 23):  # the whole UTC day, either end of it
            world.at(day, hour)
            assert _eligible(world, "nordic-sales") is expected, (day, hour)
    world.at(date(2027, 3, 21))
    [row] = world.as_("vic").partners.list()
    assert row.ineligible_reason == "no agreement in force on 2027-03-21"


def test_assignment_is_refused_naming_the_rule_that_fails(world: PartnerWorld) -> None:
    world.tenant("acme-gmbh", "DE")
    world.tenant("maple-inc", "CA", "us")
    world.tenant("gone-gmbh", "DE", state=TenantState.CANCELLED)
    world.partner("nordic-sales")
    world.partner("paper-only", agreement=None)
    assign = world.pat.partners.assign
    cases = [
        (("paper-only", "acme-gmbh", "sales"), "agreement"),
        (("nordic-sales", "acme-gmbh", "expert"), "kind"),
        (("nordic-sales", "maple-inc", "sales"), "coverage"),
        (("nordic-sales", "gone-gmbh", "sales"), "tenant-state"),
    ]
    for (partner, tenant, role), rule in cases:
        with pytest.raises(Conflict, match=rf"\(rule: {rule}\)") as refused:
            assign(partner, tenant, role, "new client")
        assert refused.value.exit_code == 5
    row = assign("nordic-sales", "acme-gmbh", "sales", "new client")
    assert (row.state, row.assignment.assigned_by) == ("active", "pat")
    with pytest.raises(Conflict, match="already"):
        assign("nordic-sales", "acme-gmbh", "sales", "again")


def test_unknown_partner_or_tenant_is_not_found(world: PartnerWorld) -> None:
    world.tenant("acme-gmbh")
    world.partner()
    with pytest.raises(NotFound):
        world.pat.partners.assign("no-such-partner", "acme-gmbh", "sales", "x")
    with pytest.raises(NotFound):
        world.pat.partners.assign("nordic-sales", "no-such-tenant", "sales", "x")
    with pytest.raises(NotFound):
        world.as_("vic").partners.show("no-such-partner")


def test_only_the_partner_manager_changes_the_register_all_staff_view_it(
    world: PartnerWorld,
) -> None:
    world.partner()
    world.tenant("acme-gmbh")
    for who in ("ada", "olga", "vic"):
        with pytest.raises(Forbidden):
            world.as_(who).partners.assign("nordic-sales", "acme-gmbh", "sales", "x")
        with pytest.raises(Forbidden):
            world.as_(who).partners.end("nordic-sales", "x")
        assert [r.name for r in world.as_(who).partners.list()] == ["nordic-sales"]


def test_an_assignment_lapses_when_its_partner_stops_being_eligible(world: PartnerWorld) -> None:
    world.tenant("acme-gmbh", "DE")
    world.partner(agreement=(date(2027, 1, 1), date(2027, 4, 30)))
    world.pat.partners.assign("nordic-sales", "acme-gmbh", "sales", "new client")
    vic = world.as_("vic").partners
    assert vic.check(within=10).lapsed == ()
    warned = vic.check(within=60)
    assert warned.expiring[0].expires_on == date(2027, 4, 30)
    assert (warned.out_of_policy, warned.breaches, warned.warnings) == (False, 0, 1)
    world.at(date(2027, 5, 1))
    report = vic.check()
    assert [(x.tenant, x.fault.rule) for x in report.lapsed] == [("acme-gmbh", "agreement")]
    assert report.out_of_policy
    [row] = vic.assignments(tenant="acme-gmbh")
    assert (row.state, row.lapse_rule) == ("lapsed", "agreement")
    # A renewal restores it: lapse is computed, never stored.
    world.pat.partners.agreement_add(
        "nordic-sales", "PA-2", signed_on=date(2027, 5, 1), effective_from=date(2027, 5, 1)
    )
    assert vic.check().lapsed == ()


def test_coverage_change_suspension_and_overdue_review_lapse_assignments(
    world: PartnerWorld,
) -> None:
    world.tenant("acme-gmbh", "DE")
    world.partner()
    pat = world.pat.partners
    pat.assign("nordic-sales", "acme-gmbh", "sales", "new client")
    vic = world.as_("vic").partners
    pat.update("nordic-sales", PartnerUpdate(coverage=("AT",)))
    assert [x.fault.rule for x in vic.check().lapsed] == ["coverage"]
    pat.update("nordic-sales", PartnerUpdate(coverage=("eu",)))
    assert vic.check().lapsed == ()
    pat.update("nordic-sales", PartnerUpdate(status="suspended", reason="audit"))
    assert [x.fault.rule for x in vic.check().lapsed] == ["status"]
    pat.update("nordic-sales", PartnerUpdate(status="active"))
    # Added on 2027-03-01: the first review is due a year later, then 30 days of grace.
    world.at(date(2027, 12, 31))
    world.pat.partners.agreement_add(
        "nordic-sales", "PA-2", signed_on=date(2027, 12, 1), effective_from=date(2028, 1, 1)
    )
    world.at(date(2028, 3, 31))
    assert vic.check().lapsed == ()
    assert [o.partner for o in vic.check().overdue] == ["nordic-sales"]
    world.at(date(2028, 4, 1))
    assert [x.fault.rule for x in vic.check().lapsed] == ["review"]
    pat.review("nordic-sales", "pass", notes="fine")
    assert vic.check().lapsed == () and vic.check().overdue == ()


def test_a_failed_review_suspends_the_partner(world: PartnerWorld) -> None:
    world.partner()
    review = world.pat.partners.review("nordic-sales", "fail", notes="no DPA")
    assert review.next_due == date(2028, 3, 1)
    detail = world.as_("vic").partners.show("nordic-sales")
    assert (str(detail.partner.status), detail.eligible) == ("suspended", False)
    assert detail.partner.status_reason == "review failed on 2027-03-01"


def test_ending_a_partner_ends_its_assignments_and_keeps_the_history(world: PartnerWorld) -> None:
    world.tenant("acme-gmbh")
    world.partner()
    world.pat.partners.assign("nordic-sales", "acme-gmbh", "sales", "new client")
    world.pat.partners.end("nordic-sales", "contract terminated")
    [row] = world.as_("vic").partners.assignments(tenant="acme-gmbh", include_ended=True)
    assert (row.state, row.assignment.ended_by) == ("ended", "pat")
    assert world.as_("vic").partners.assignments(tenant="acme-gmbh") == []
    with pytest.raises(Conflict):
        world.pat.partners.end("nordic-sales", "again")


def test_candidates_put_the_eligible_first_and_say_why_the_others_are_not(
    world: PartnerWorld,
) -> None:
    world.tenant("acme-gmbh", "DE")
    world.partner("zeta-sales")
    world.partner("alpha-experts", kinds=("expert",))
    world.partner("us-sales", coverage=("us",))
    found = world.as_("vic").partners.candidates("acme-gmbh", "sales")
    assert [(c.name, c.eligible, c.rule) for c in found] == [
        ("zeta-sales", True, None),
        ("alpha-experts", False, "kind"),
        ("us-sales", False, "coverage"),
    ]


def test_summary_counts_what_check_reports(world: PartnerWorld) -> None:
    world.tenant("acme-gmbh")
    world.partner(agreement=(date(2027, 1, 1), date(2027, 3, 20)))
    world.partner("paper-only", agreement=None)
    world.pat.partners.assign("nordic-sales", "acme-gmbh", "sales", "new client")
    summary = world.as_("vic").partners.summary()
    assert summary.as_json() == {
        "partners": 2,
        "eligible": 1,
        "open_assignments": 1,
        "lapsed": 0,
        "expiring": 1,
        "overdue": 0,
        "out_of_policy": False,
        "warning": True,
    }


def test_list_filters_by_region_country_status_and_expiry(world: PartnerWorld) -> None:
    world.partner("de-sales", coverage=("DE",))
    world.partner("eu-sales", coverage=("eu",))
    world.partner("us-sales", coverage=("US",), agreement=(date(2027, 1, 1), date(2027, 3, 5)))
    vic = world.as_("vic").partners
    assert [r.name for r in vic.list(region="eu")] == ["de-sales", "eu-sales"]
    assert [r.name for r in vic.list(country="FR")] == ["eu-sales"]
    assert [r.name for r in vic.list(expiring_within=7)] == ["us-sales"]
    assert [r.name for r in vic.list(status="suspended")] == []
    with pytest.raises(InvalidInput):
        vic.list(status="sleeping")
    with pytest.raises(InvalidInput):
        vic.list(region="mars")


def test_bad_partner_input_is_refused_before_anything_is_written(world: PartnerWorld) -> None:
    from aptien_ops.services.partners import PartnerInput

    add = world.pat.partners.add
    for bad in [
        PartnerInput("Bad Name", "X", ("sales",), ("DE",)),
        PartnerInput("ok-name", "X", ("seller",), ("DE",)),
        PartnerInput("ok-name", "X", ("sales",), ("XX",)),
        PartnerInput("ok-name", "X", ("sales",), ("mars",)),
        PartnerInput("ok-name", "X", ("sales",), ()),
        PartnerInput("ok-name", "X", ("sales",), ("DE",), contact_phone="call me"),
    ]:
        with pytest.raises(InvalidInput):
            add(bad)
    assert world.as_("vic").partners.list() == []


def test_in_force_until_follows_renewals_and_months_end_on_short_months() -> None:
    def agreement(n: int, start: date, end: date | None) -> Agreement:
        from datetime import UTC, datetime

        at = datetime(2027, 1, 1, tzinfo=UTC)
        return Agreement(n, "p", f"A{n}", start, start, end, None, AgreementStatus.ACTIVE, at, "x")

    first = agreement(1, date(2027, 1, 1), date(2027, 6, 30))
    renewal = agreement(2, date(2027, 7, 1), date(2028, 6, 30))
    assert in_force_until([first], date(2027, 3, 1)) == (date(2027, 6, 30), "A1")
    assert in_force_until([first, renewal], date(2027, 3, 1)) == (date(2028, 6, 30), "A2")
    assert in_force_until([first, agreement(3, date(2027, 7, 1), None)], date(2027, 3, 1)) is None
    assert in_force_until([renewal], date(2027, 3, 1)) is None
    assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert add_months(date(2027, 11, 15), 3) == date(2028, 2, 15)
