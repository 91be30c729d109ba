"""Restoring from the backups screen: the highlighted backup into a new tenant (with a progress
bar, the result kept on the screen), or over its own tenant's data once its name is typed (a
four-eyes request the Approvals screen lists). Real sandbox tenants, stores and restores; the
tests read the screen and the notices."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.message import Message
from tui_helpers import console_app, screen_text, screen_words, settle, story

from aptien_ops.composition import Console
from aptien_ops.screens.backup_actions import BackupProgress
from aptien_ops.screens.backup_modals import RestoreTargetModal, TypeNameToReplaceModal
from aptien_ops.screens.backups import BackupsScreen

pytestmark = pytest.mark.tui


def backed_up(open_as: Callable[..., Console], tenant: str) -> str:
    [outcome] = open_as("olga").backups.run([tenant])
    assert outcome.ok and outcome.backup_id, outcome
    return outcome.backup_id


def result_line(screen: object) -> str:
    assert isinstance(screen, BackupsScreen)
    shown = screen.query_one("#backups-result")
    assert shown.display, "no restore result on the screen"
    return str(shown.render())


@story
async def test_an_operator_restores_the_highlighted_backup_into_a_new_tenant(
    open_as: Callable[..., Console], provisioned: Callable[..., str]
) -> None:
    provisioned("acme-gmbh", "DE")
    backup_id = backed_up(open_as, "acme-gmbh")
    items: list[str] = []

    def hook(message: Message) -> None:
        if isinstance(message, BackupProgress):
            items.append(message.item)

    async with console_app(open_as("olga"), "8", message_hook=hook) as (app, pilot):
        assert "R restore" in screen_text(app)  # named on the highlighted backup's detail
        await pilot.press("E")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, RestoreTargetModal) and dialog.backup_id == backup_id
        assert f"Restore {backup_id} of acme-gmbh into which tenant?" in screen_words(app)
        await pilot.press("enter")  # no name: nothing happens, the dialog says why
        await settle(pilot)
        assert app.screen is dialog and "name the tenant to restore into" in screen_words(app)

        await pilot.press(*"acme-restored", "enter")
        await settle(pilot)

        assert isinstance(app.screen, BackupsScreen)
        assert "restoring into acme-restored" in items
        line = result_line(app.screen)
        assert (
            line.startswith("✓ acme-restored: restored from ") and "7 tables" in line
        )  # tenant schema 3: with user_messages
        assert "every count matches" in line
        assert not app.screen.query_one("#backups-run").display
        assert app.notices_of("error") == []
    restored = open_as("vic").tenants.show("acme-restored")
    assert (restored.state, restored.region, restored.country) == ("active", "eu", "DE")


@story
async def test_a_restore_that_is_refused_says_why_in_its_dialog(
    open_as: Callable[..., Console], provisioned: Callable[..., str]
) -> None:
    provisioned("acme-gmbh", "DE")
    provisioned("beta-gmbh", "DE")
    backed_up(open_as, "acme-gmbh")
    async with console_app(open_as("olga"), "8") as (app, pilot):
        await pilot.press("E", *"beta-gmbh", "enter")  # another tenant that exists
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, RestoreTargetModal) and not dialog.working
        words = screen_words(app)
        assert "✗ tenant beta-gmbh exists already" in words and "pick a new name" in words
        assert app.notices == []
        assert not app.screen_stack[0].query_one("#backups-result").display
        await pilot.press(*["backspace"] * 9, *"acme-copy", "enter")  # another name: it runs
        await settle(pilot)
        assert result_line(app.screen).startswith("✓ acme-copy: restored from ")


@story
async def test_replacing_a_tenants_data_asks_for_its_name_and_records_a_request(
    open_as: Callable[..., Console], provisioned: Callable[..., str]
) -> None:
    provisioned("acme-gmbh", "DE")
    backed_up(open_as, "acme-gmbh")
    async with console_app(open_as("olga"), "8") as (app, pilot):
        await pilot.press("E", *"acme-gmbh", "enter")
        await settle(pilot)
        confirm = app.screen
        assert isinstance(confirm, TypeNameToReplaceModal)
        words = screen_words(app)
        assert "everything written since then is lost" in words
        assert "Enter records a request; another admin must approve it" in words, words
        await pilot.press(*"acme", "enter")  # not the name: nothing is requested
        await settle(pilot)
        assert app.screen is confirm and "not the tenant's name" in screen_words(app)
        assert open_as("vic").approvals.list() == []

        await pilot.press(*"-gmbh", "enter")
        await settle(pilot)

        assert isinstance(app.screen, BackupsScreen)
        [notice] = app.notices_of("warning")
        assert notice.startswith("request #1 recorded; another admin must approve")
        assert result_line(app.screen).startswith(
            "⧗ replacing acme-gmbh's data: request #1 recorded, nothing changed"
        )
        [request] = open_as("vic").approvals.list()
        assert (request.action, request.target) == ("backup.replace", "acme-gmbh")

        await pilot.press("E", *"acme-gmbh", "enter", "escape")  # backing out requests nothing
        await settle(pilot)
        assert len(open_as("vic").approvals.list()) == 1

        await pilot.press("4")  # the request waits on the Approvals screen
        await settle(pilot)
        words = screen_words(app)
        assert "backup.replace" in words and "acme-gmbh" in words


@story
async def test_a_viewer_is_not_offered_restore(
    open_as: Callable[..., Console], provisioned: Callable[..., str]
) -> None:
    provisioned("acme-gmbh", "DE")
    backed_up(open_as, "acme-gmbh")
    async with console_app(open_as("vic"), "8") as (app, pilot):
        assert "R restore" not in screen_text(app)
        await pilot.press("E")
        await settle(pilot)
        assert isinstance(app.screen, BackupsScreen)
