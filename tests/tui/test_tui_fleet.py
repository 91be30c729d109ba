"""The fleet screen: drift between the catalog and the clusters, and schema migration."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from textual.widgets import ProgressBar
from tui_helpers import (
    answer_held,
    console_app,
    footer,
    screen_text,
    screen_words,
    settle,
    story,
    until,
)
from waiting import HANG_GUARD_S

import aptien_ops.services.provisioning
from aptien_ops.composition import Console
from aptien_ops.screens.fleet import FleetScreen, MigrateProgress
from aptien_ops.screens.modals import OpsModal
from aptien_ops.tenant_schema import TENANT_SCHEMA_VERSION

pytestmark = pytest.mark.tui


@pytest.fixture
def behind(provisioned: Callable[..., str], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A tenant provisioned by an older release: its schema is one version behind."""
    with monkeypatch.context() as older:
        older.setattr(
            aptien_ops.services.provisioning, "TENANT_SCHEMA_VERSION", TENANT_SCHEMA_VERSION - 1
        )
        name = provisioned("maple-health", "CA")
    yield name


@story
async def test_fleet_says_no_drift_then_shows_a_dropped_database(
    open_as: Callable[..., Console], provisioned: Callable[..., str]
) -> None:
    provisioned("acme-gmbh", "DE")
    console = open_as("vic")
    async with console_app(console, screen="6") as (app, pilot):
        assert isinstance(app.screen, FleetScreen)
        assert "no drift: the catalog and 2 clusters agree" in screen_text(app)

        open_as("ada").ctx.store("eu-sandbox-1").drop_database("acme-gmbh")
        await pilot.press("c")
        await settle(pilot)
        shown = screen_words(app)
        assert "1 finding of 1 kind on 2 clusters" in shown
        assert "Catalog tenants whose database is missing (1)" in shown
        assert (
            "acme-gmbh eu · eu-sandbox-1 catalog says active, but the database is missing" in shown
        )


@story
async def test_the_region_filter_narrows_the_findings(
    open_as: Callable[..., Console], provisioned: Callable[..., str]
) -> None:
    provisioned("acme-gmbh", "DE")
    open_as("ada").ctx.store("eu-sandbox-1").drop_database("acme-gmbh")
    async with console_app(open_as("vic"), screen="6") as (app, pilot):
        await pilot.press("R", "R")  # eu, then us
        await settle(pilot)
        assert app.region_filter == "us"
        assert "no drift: the catalog and 1 cluster of region us agree" in screen_text(app)


@story
async def test_migrate_upgrades_schemas_behind_with_a_progress_bar(
    open_as: Callable[..., Console], behind: str
) -> None:
    progress: list[tuple[int, int]] = []
    async with console_app(
        open_as("olga"),
        screen="6",
        message_hook=lambda m: (
            isinstance(m, MigrateProgress) and progress.append((m.done, m.total))
        ),
    ) as (app, pilot):
        assert "Schemas behind this version (m migrates) (1)" in screen_words(app)
        assert (
            f"schema version {TENANT_SCHEMA_VERSION - 1} < {TENANT_SCHEMA_VERSION}"
            in screen_words(app)
        )
        await pilot.press("m", "y")
        await settle(pilot)
        assert progress == [(1, 1)]
        bar = app.screen.query_one(ProgressBar)
        assert (bar.total, bar.progress) == (1, 1)
        assert not app.screen.query_one("#fleet-migration").display  # hidden again once done
        assert f"1 tenant at schema v{TENANT_SCHEMA_VERSION}" in app.notices_of("information")
        assert "no drift" in screen_text(app)
    assert open_as("ada").tenants.show(behind).schema_version == TENANT_SCHEMA_VERSION


@story
async def test_a_viewer_may_check_but_is_not_offered_migrate(
    open_as: Callable[..., Console],
) -> None:
    async with console_app(open_as("vic"), screen="6") as (app, _):
        assert "Check again" in footer(app) and "Migrate" not in footer(app)


@story
async def test_login_drift_is_its_own_group_and_d_checks_every_database(
    open_as: Callable[..., Console], provisioned: Callable[..., str]
) -> None:
    provisioned("acme-gmbh", "DE")
    ada = open_as("ada")
    ada.lifecycle.suspend("acme-gmbh", "security incident")
    ada.ctx.store("eu-sandbox-1").set_login("acme-gmbh", True)  # behind the catalog's back
    async with console_app(open_as("vic"), screen="6") as (app, pilot):
        shown = screen_words(app)
        assert "Logins the cluster allows or refuses against the tenant's state (1)" in shown
        assert "suspended in the catalog, but the cluster lets its users log in" in shown
        assert "Deep check" in footer(app)
        await pilot.press("d")
        await settle(pilot)
        assert "1 finding of 1 kind on 2 clusters (deep: every database opened)" in screen_words(
            app
        )


@story
async def test_q_while_a_migration_runs_asks_first_and_quits_once_it_is_done(
    open_as: Callable[..., Console], behind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A migration is a long job like a backup run: ``q`` in its working dialog asks (the
    dialog would swallow it), and "quit when done" lets the tenant in hand finish first."""
    console = open_as("olga")
    migrate, started, release = console.fleet.migrate, threading.Event(), threading.Event()

    def held(*args: Any, **kwargs: Any) -> Any:
        started.set()
        release.wait(timeout=HANG_GUARD_S)
        return migrate(*args, **kwargs)

    monkeypatch.setattr(console.fleet, "migrate", held)
    try:
        async with console_app(console, screen="6") as (app, pilot):
            dialog = await answer_held(pilot, ["m", "y"], started, HANG_GUARD_S)
            assert isinstance(dialog, OpsModal) and dialog.working
            assert app.jobs and list(app.jobs.values()) == ["migrating tenant schemas"]
            await pilot.press("q")
            await until(pilot, lambda: app.screen is not dialog, "the question", workers=False)
            words = screen_words(app)
            assert "Still going: migrating tenant schemas" in words
            assert "cannot be stopped halfway" in words
            await pilot.press("n")
            await until(pilot, lambda: app.screen is dialog, "the dialog", workers=False)
            await pilot.press("q")
            await until(pilot, lambda: app.screen is not dialog, "the question", workers=False)
            await pilot.press("y")
            await until(pilot, lambda: app.quit_when_done, "the answer", workers=False)
            assert app.is_running
            release.set()
            await until(pilot, lambda: not app.is_running, "the app to quit")
    finally:
        release.set()
    assert open_as("ada").tenants.show(behind).schema_version == TENANT_SCHEMA_VERSION
