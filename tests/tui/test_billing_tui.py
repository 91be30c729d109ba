"""Billing in the TUI, on SQLite and PostgreSQL: the Tenants screen's licence column and its
filter (``b``), read with the page in one joined query; the dashboard's billing card (one
aggregate, "not connected" with the hint when there is no ``[billing]``); a tenant's billing
section, in full for the billing role and the licence state only for a viewer or an operator,
as the service cuts it.

The billing facts a sync would store are written to the catalog directly; Stripe is never
asked (the screens read the catalog only)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from tui_helpers import FROZEN_NOW, console_app, screen_text, screen_words, settle, story

from aptien_ops.backends.sql_catalog import billing as billing_adapter
from aptien_ops.composition import Console
from aptien_ops.domain import TenantQuery, TenantState
from aptien_ops.domain.billing import LicenceState, TenantBilling
from aptien_ops.permissions import MATRIX, Action
from aptien_ops.screens.dashboard import DashboardScreen
from aptien_ops.screens.tenant_detail import TenantDetailScreen
from aptien_ops.services.billing import parse_state_filter
from aptien_ops.services.billing_results import BillingSummary, NotConnected

pytestmark = pytest.mark.tui

#: The demo tenants' billing: every licence group, one ending soon without renewing.
LICENCES: dict[str, tuple[LicenceState, int, bool]] = {
    # tenant: (licence, period ends in N days, cancels at the period's end)
    "acme-gmbh": (LicenceState.ACTIVE, 20, False),
    "anatolia-foods": (LicenceState.ACTIVE, 12, True),  # ends within 30 days
    "deccan-pharma": (LicenceState.TRIALING, 9, False),
    "gotham-legal": (LicenceState.CANCELED, -3, False),
    "lagos-fintech": (LicenceState.PAST_DUE, 4, False),
    "maple-health": (LicenceState.UNPAID, -10, False),
    "nile-textiles": (LicenceState.PAST_DUE, 2, False),
    "outback-mining": (LicenceState.ACTIVE, 60, True),  # ends, but not within 30 days
}


def connect(config: Path) -> None:
    """``[billing]`` in the sandbox's config (a key by name; nothing here reaches Stripe)."""
    section = '\n[billing]\napi_key_env = "APTIEN_TEST_STRIPE_KEY"\nnotice_days = [30, 7]\n'
    config.write_text(config.read_text(encoding="utf-8") + section, encoding="utf-8")


def bill(console: Console) -> None:
    """Link the tenants of :data:`LICENCES` and store what a sync would have."""
    with console.ctx.catalog.transaction() as tx:
        for n, (tenant, (state, days, cancels)) in enumerate(sorted(LICENCES.items())):
            tx.billing.link(TenantBilling(tenant, f"cus_Demo{n}"))
            tx.billing.save(
                TenantBilling(
                    tenant,
                    f"cus_Demo{n}",
                    f"sub_Demo{n}",
                    state,
                    FROZEN_NOW + timedelta(days=days),
                    cancels,
                    f"INV-{n:04d}",
                    4900,
                    "eur",
                    "open" if state in (LicenceState.PAST_DUE, LicenceState.UNPAID) else "paid",
                    FROZEN_NOW - timedelta(days=5),
                    f"evt_Demo{n}",
                    FROZEN_NOW,
                )
            )


@pytest.fixture
def billed(frozen: None, demo_tenants: None, open_as: Callable[..., Console]) -> None:
    bill(open_as(None))


@pytest.fixture
def connected(sandbox: Path) -> None:
    connect(sandbox)


@pytest.fixture
def per_row_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every read of one tenant's billing row (``tx.billing.get``/``statuses``)."""
    reads: list[str] = []
    repo = billing_adapter.SqlBilling
    get, statuses = repo.get, repo.statuses

    def counted_get(self: Any, tenant: str, **kwargs: Any) -> Any:
        reads.append(f"get {tenant}")
        return get(self, tenant, **kwargs)

    def counted_statuses(self: Any, **kwargs: Any) -> Any:
        reads.append(f"statuses {kwargs.get('tenant')}")
        return statuses(self, **kwargs)

    monkeypatch.setattr(repo, "get", counted_get)
    monkeypatch.setattr(repo, "statuses", counted_statuses)
    yield reads


async def card_in_view(pilot: Pilot[Any]) -> None:
    """Scroll the dashboard to its billing card (below the fold at 80x24, after partners)."""
    pilot.app.screen.query_one("#dashboard-billing").scroll_visible(animate=False)
    await settle(pilot)


class TestOnBothCatalogs:
    @pytest.fixture
    def sandbox(self, catalog_config: Path) -> Path:
        return catalog_config

    @story
    async def test_the_tenants_list_shows_each_licence_and_filters_by_group(
        self, billed: None, open_as: Callable[..., Console], per_row_reads: list[str]
    ) -> None:
        async with console_app(open_as("olga"), screen="2") as (app, pilot):
            screen = app.screen
            licences = {t.name: t.licence for t in screen.window.rows}
            assert licences["lagos-fintech"] == LicenceState.PAST_DUE
            assert licences["savanna-logistics"] == LicenceState.NONE  # not linked
            text = screen_text(app)
            assert "Licence" in text and "! past_due" in text and "✓ active" in text
            await pilot.press("b")  # non-payment
            await settle(pilot)
            assert [t.name for t in screen.window.rows] == [
                "lagos-fintech",
                "maple-health",
                "nile-textiles",
            ]
            assert "licence non-payment" in screen_words(app)
            assert "of 3 tenants (of 12)" in screen_words(app)
            await pilot.press("b")  # expired
            await settle(pilot)
            assert [t.name for t in screen.window.rows] == ["gotham-legal"]
            for _ in range(3):  # pending (none here), good, then none: the tenants not linked
                await pilot.press("b")
                await settle(pilot)
            assert {t.licence for t in screen.window.rows} == {LicenceState.NONE}
            assert len(screen.window.rows) == 4
            await pilot.press("b")  # every licence again
            await settle(pilot)
            assert len(screen.window.rows) == 12
        # The licences came with the pages: no tenant's billing was read on its own.
        assert per_row_reads == []

    @story
    async def test_the_dashboard_counts_past_due_unpaid_and_ending(
        self, billed: None, connected: None, open_as: Callable[..., Console]
    ) -> None:
        async with console_app(open_as("vic"), screen="1") as (app, pilot):
            assert isinstance(app.screen, DashboardScreen)
            await card_in_view(pilot)
            words = screen_words(app)
            assert "Billing: licences and payments" in words
            assert "2 past due · 1 unpaid · 1 ending within 30 days, not renewing" in words
            assert "of 8 linked tenants" in words

    @story
    async def test_a_viewer_and_an_operator_see_the_licence_state_only(
        self, billed: None, connected: None, open_as: Callable[..., Console]
    ) -> None:
        for operator in ("vic", "olga"):
            async with console_app(open_as(operator)) as (app, pilot):
                app.push_screen(TenantDetailScreen("lagos-fintech"))
                await settle(pilot)
                words = screen_words(app)
                assert "licence ! past_due (non-payment)" in words, operator
                assert "period ends 2025-03-18 · renews" in words
                assert "cus_" not in words and "INV-" not in words and "49.00" not in words

    @story
    async def test_the_billing_role_sees_everything_kept(
        self, billed: None, connected: None, open_as: Callable[..., Console]
    ) -> None:
        async with console_app(open_as("bill")) as (app, pilot):
            app.push_screen(TenantDetailScreen("lagos-fintech"))
            await settle(pilot)
            words = screen_words(app)
            assert "licence ! past_due (non-payment)" in words
            assert "customer cus_Demo4 · subscription sub_Demo4" in words
            assert "invoice INV-0004 · 49.00 EUR · open · due 2025-03-09" in words


def test_the_page_joins_filters_orders_and_counts_by_licence(
    billed: None, open_as: Callable[..., Console]
) -> None:
    tenants = open_as("vic").tenants
    page = tenants.page(TenantQuery(order="licence"), offset=0, limit=50)
    keys = [(str(t.licence), t.name) for t in page.tenants]
    assert keys == sorted(keys) and len(keys) == 12
    expired = tenants.page(TenantQuery(licences=parse_state_filter("expired")), limit=5)
    assert [t.name for t in expired.tenants] == ["gotham-legal"]
    assert (expired.tally.matches, expired.tally.total) == (1, 12)
    eu_unlinked = TenantQuery(region="eu", licences=frozenset({LicenceState.NONE}))
    found = tenants.page(eu_unlinked, around="savanna-logistics")
    assert [t.name for t in found.tenants] == ["nordlicht-as", "savanna-logistics"]
    assert found.as_json()["tenants"][0]["licence"] == "none"  # type: ignore[index]


def test_the_summary_is_not_connected_without_a_billing_section(
    billed: None, open_as: Callable[..., Console]
) -> None:
    summary = open_as("vic").billing.summary()
    assert isinstance(summary, NotConnected)
    assert summary.message == "not connected" and "[billing]" in summary.hint


def test_the_summary_leaves_out_purged_tenants_and_splits_by_region(
    billed: None, connected: None, open_as: Callable[..., Console]
) -> None:
    admin = open_as(None)
    summary = admin.billing.summary()
    assert isinstance(summary, BillingSummary) and summary.within_days == 30
    eu, us = summary.of(["eu"]), summary.of(["us"])
    assert (eu.past_due, eu.unpaid, eu.ending, eu.linked) == (2, 0, 1, 4)
    assert (us.past_due, us.unpaid, us.ending, us.linked) == (0, 1, 0, 4)
    with admin.ctx.catalog.transaction() as tx:
        nile = tx.tenants.get("nile-textiles")
        assert nile is not None
        tx.tenants.update(replace(nile, state=TenantState.PURGED), by="test")
    after = admin.billing.summary()
    assert isinstance(after, BillingSummary) and after.of().past_due == 1
    tombstone = admin.billing.section("nile-textiles")  # its detail still opens
    assert tombstone.status.licence == LicenceState.NONE and tombstone.not_connected is None


def test_every_one_who_lists_tenants_may_see_their_licence_state() -> None:
    """The Tenants list shows the licence state to whoever may list the tenants."""
    assert MATRIX[Action.TENANT_VIEW] <= MATRIX[Action.BILLING_STATE]


@story
async def test_the_dashboard_says_not_connected_with_the_hint(
    billed: None, open_as: Callable[..., Console]
) -> None:
    async with console_app(open_as("vic"), screen="1") as (app, pilot):
        await card_in_view(pilot)
        words = screen_words(app)
        assert "billing not connected — add [billing] with api_key_file" in words
        assert "Error" not in words
