"""A tenant's life in the TUI: open it with Enter, suspend with a reason, resume, cancel with a
retention, reinstate it within that, and request its purge by typing its name; only what state
and roles allow is offered."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from textual.widgets import Input, Static
from tui_helpers import (
    console_app,
    footer,
    from_palette,
    open_tenant,
    palette_titles,
    screen_text,
    screen_words,
    settle,
    story,
)

from aptien_ops.composition import Console
from aptien_ops.domain import TenantState
from aptien_ops.errors import PendingApproval
from aptien_ops.screens.lifecycle_modals import RetainDaysModal, TypeNameToPurgeModal
from aptien_ops.screens.modals import ConfirmModal, ReasonModal
from aptien_ops.screens.tenant_detail import TenantDetailScreen
from aptien_ops.screens.tenants import TenantsScreen

from cli_runner import run_cli

pytestmark = pytest.mark.tui

LIFECYCLE = ("Suspend", "Resume", "Cancel", "Purge")


@pytest.fixture
def acme(provisioned: Callable[..., str]) -> str:
    return provisioned("acme-gmbh", "DE", "Greta Vogel", "greta@acme.example")


def offered(app) -> set[str]:  # type: ignore[no-untyped-def]
    shown = footer(app)
    return {action for action in LIFECYCLE if f" {action} " in f" {shown} "}


def state_of(console: Console, name: str) -> TenantState:
    return console.tenants.show(name).state


@story
async def test_enter_opens_the_tenant_with_its_steps_history_schema_and_size(
    open_as: Callable[..., Console], acme: str
) -> None:
    async with console_app(open_as("olga")) as (app, pilot):
        await open_tenant(pilot)
        shown = screen_text(app)
        assert "country DE Germany · region eu · cluster eu-sandbox-1" in shown
        assert "schema v3 · size " in shown and " kB" in shown
        for step in ("reserve", "database", "backup-identity", "active"):
            assert f"✓ {step} " in shown
        assert "provisioning → active" in shown
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, TenantsScreen)


@story
async def test_suspend_asks_a_reason_and_resume_lets_the_tenant_in_again(
    open_as: Callable[..., Console], acme: str
) -> None:
    async with console_app(open_as("olga")) as (app, pilot):
        await open_tenant(pilot)
        assert offered(app) == {"Suspend", "Cancel"}  # olga is an operator: purge is for admins
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, ReasonModal)
        await pilot.press(*"invoice 2025-113 unpaid", "enter")
        await settle(pilot)
        assert "acme-gmbh suspended: its logins stop; backups go on" in app.notices_of(
            "information"
        )
        assert "suspended — invoice 2025-113 unpaid" in screen_text(app)
        assert offered(app) == {"Resume", "Cancel"}
        assert state_of(open_as("ada"), acme) == TenantState.SUSPENDED

        await pilot.press("u")
        await settle(pilot)
        assert offered(app) == {"Suspend", "Cancel"}
        assert "suspended → active" in screen_text(app)
    history = open_as("ada").tenants.detail(acme).history
    assert [(h.to_state, h.reason) for h in history[-2:]] == [
        ("suspended", "invoice 2025-113 unpaid"),
        ("active", None),
    ]


@story
async def test_purge_needs_the_exact_name_and_then_waits_for_a_second_admin(
    open_as: Callable[..., Console], acme: str
) -> None:
    async with console_app(open_as("ada")) as (app, pilot):
        await open_tenant(pilot)
        assert "Purge" not in offered(app)  # only a cancelled tenant can be purged
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, RetainDaysModal)
        assert app.screen.query_one(Input).value == "30"  # the configured default
        await pilot.press("0", "enter")  # replaces the selected default
        await settle(pilot)
        assert offered(app) == {"Purge"}

        await pilot.press("p")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, TypeNameToPurgeModal)
        await pilot.press(*"acme", "enter")  # a wrong name does nothing
        await settle(pilot)
        assert app.screen is dialog
        assert "that is not the tenant's name: nothing was requested" in screen_words(app)
        assert open_as("sam").approvals.list("pending") == []

        await pilot.press(*"-gmbh", "enter")
        await settle(pilot)
        assert isinstance(app.screen, TenantDetailScreen)
        assert (
            "purge request #1 recorded; another admin must approve in Approvals"
            in app.notices_of("warning")
        )
        assert re.search(r"purge request #1 by ada .* awaits a second admin", screen_text(app))
        assert offered(app) == set()  # one request at a time
    [request] = open_as("sam").approvals.list("pending")
    assert (request.action, request.target, request.requested_by) == ("tenant.purge", acme, "ada")
    assert state_of(open_as("ada"), acme) == TenantState.CANCELLED  # nothing dropped yet


@story
async def test_purging_before_the_retention_end_also_asks_why(
    open_as: Callable[..., Console], acme: str
) -> None:
    async with console_app(open_as("ada")) as (app, pilot):
        await open_tenant(pilot)
        await pilot.press("c")
        await pilot.pause()
        await pilot.press("enter")  # keep the default 30 days
        await settle(pilot)
        assert "retained until " in screen_text(app)
        await pilot.press("p")
        await pilot.pause()
        await pilot.press(*"acme-gmbh", "enter")
        await pilot.pause()
        assert isinstance(app.screen, TypeNameToPurgeModal)  # the reason is still missing
        await pilot.press(*"the client asked for deletion", "enter")
        await settle(pilot)
        assert isinstance(app.screen, TenantDetailScreen)
    [request] = open_as("sam").approvals.list("pending")
    assert request.params == {"before_retention_end": "the client asked for deletion"}


@story
async def test_a_viewer_sees_no_lifecycle_actions(
    open_as: Callable[..., Console], acme: str
) -> None:
    async with console_app(open_as("vic")) as (app, pilot):
        await open_tenant(pilot)
        assert offered(app) == set()
        assert "changing a tenant needs the operator or admin role" in screen_text(app)
        titles = palette_titles(app)
        # Only the tabs, which tell a viewer why their data is not shown.
        changes = [t for t in titles if t.endswith(("tenant", "tenant (request)"))]
        assert changes == ["Open tenant"]  # opening changes nothing
        assert "Show tenant logins" in titles and "Show tenant change audit" in titles
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, TenantDetailScreen)
    assert state_of(open_as("ada"), acme) == TenantState.ACTIVE


@story
async def test_read_only_hides_every_lifecycle_action(
    open_as: Callable[..., Console], acme: str
) -> None:
    async with console_app(open_as("ada", read_only=True), screen="2") as (app, pilot):
        assert "Provision" not in footer(app)
        await open_tenant(pilot)
        assert offered(app) == set()
        assert "read-only: lifecycle actions are not offered" in screen_text(app)
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, TenantDetailScreen)


@story
async def test_the_palette_suspends_the_highlighted_tenant(
    open_as: Callable[..., Console], acme: str
) -> None:
    async with console_app(open_as("olga")) as (app, pilot):
        await from_palette(pilot, "suspend tenant")
        assert isinstance(app.screen, ReasonModal)
        assert isinstance(app.screen_stack[-2], TenantDetailScreen)
        await pilot.press(*"security incident", "enter")
        await settle(pilot)
    assert state_of(open_as("ada"), acme) == TenantState.SUSPENDED


@story
async def test_the_palette_says_why_a_state_does_not_allow_an_action(
    open_as: Callable[..., Console], acme: str
) -> None:
    async with console_app(open_as("olga")) as (app, pilot):
        await from_palette(pilot, "resume tenant")
        assert isinstance(app.screen, TenantDetailScreen)
        assert (
            "cannot resume acme-gmbh: it is active (resume needs a tenant that is suspended)"
            in app.notices_of("warning")
        )


@story
async def test_on_an_open_tenant_the_palette_acts_on_that_tenant(
    open_as: Callable[..., Console], acme: str, provisioned: Callable[..., str]
) -> None:
    provisioned("maple-health", "CA")
    async with console_app(open_as("olga"), screen="2") as (app, pilot):
        await pilot.press("down", "enter")  # maple-health, the second row
        await settle(pilot)
        await from_palette(pilot, "cancel tenant")
        assert isinstance(app.screen, RetainDaysModal) and app.screen.tenant == "maple-health"
        await pilot.press("escape")
        await settle(pilot)
        await from_palette(pilot, "provision tenant")
        assert type(app.screen).__name__ == "ProvisionModal"
        assert isinstance(app.screen_stack[-2], TenantsScreen)  # back from the tenant to the list


@story
async def test_a_cancelled_tenant_is_reinstated_with_i_while_it_is_retained(
    open_as: Callable[..., Console], acme: str
) -> None:
    open_as("olga").lifecycle.cancel(acme, 30)
    async with console_app(open_as("olga")) as (app, pilot):
        await open_tenant(pilot)
        assert "Reinstate" in footer(app)
        await pilot.press("i")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("y")
        await settle(pilot)
        assert "acme-gmbh reinstated: active again" in app.notices_of("information")
        assert "cancelled → active" in screen_text(app)
        assert "Reinstate" not in footer(app) and offered(app) == {"Suspend", "Cancel"}
    assert state_of(open_as("ada"), acme) == TenantState.ACTIVE


@story
async def test_reinstate_is_not_offered_once_the_retention_has_ended(
    open_as: Callable[..., Console], acme: str
) -> None:
    open_as("olga").lifecycle.cancel(acme, 0)
    async with console_app(open_as("olga")) as (app, pilot):
        await open_tenant(pilot)
        assert "Reinstate" not in footer(app)
        await pilot.press("i")
        await pilot.pause()
        assert isinstance(app.screen, TenantDetailScreen)
    assert state_of(open_as("ada"), acme) == TenantState.CANCELLED


@story
async def test_approving_a_purge_restates_what_goes_and_the_history_names_both_admins(
    open_as: Callable[..., Console], acme: str
) -> None:
    ada = open_as("ada")
    ada.backups.run([acme])
    ada.lifecycle.cancel(acme, 30)
    with pytest.raises(PendingApproval):
        ada.lifecycle.purge(acme, before_retention_end="the client asked for deletion")
    async with console_app(open_as(None), screen="4") as (app, pilot):  # the other admin
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        words = screen_words(app)
        for restated in (
            f"tenant {acme} (DE), region eu, cluster eu-sandbox-1: its database and owner role",
            "1 backup of it: unreadable for ever",
            "because: the client asked for deletion",
        ):
            assert restated in words
        await pilot.press("y")
        await settle(pilot)
        await open_tenant(pilot)
        history = " ".join(str(app.screen.query_one("#detail-history", Static).content).split())
    approver = open_as(None).ctx.identity.operator
    assert f"purge approved (#1) by {approver}" in history
    assert "purge requested (#1) by ada: before the retention end: the client asked" in history
    for command in ("show", "history"):
        shown = run_cli("tenant", command, acme, config=open_as(None).settings.source).stdout
        assert re.search(
            r"purge requested \(#1\) +ada +before the retention end: the client", shown
        )
        assert re.search(rf"purge approved \(#1\) +{approver} ", shown + " ")
