"""The backups screen: back up, run what is due, verify, prune, and who is offered what.

Real sandbox tenants (SQLite clusters), real region stores and real verification; the tests
only read the screen, the notices and the messages the worker posts.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from rich.text import Text
from textual.widgets import DataTable, Static
from tui_helpers import (
    console_app,
    footer,
    palette_titles,
    screen_text,
    screen_words,
    settle,
    story,
)

from aptien_ops.composition import Console
from aptien_ops.domain import utcnow
from aptien_ops.errors import IntegrityFailure
from aptien_ops.screens.backup_actions import BackupProgress
from aptien_ops.screens.backup_modals import LevelModal, TenantModal
from aptien_ops.screens.backups import BackupsScreen
from aptien_ops.screens.modals import ConfirmModal

pytestmark = pytest.mark.tui

ACTIONS = ("Back up", "Run due", "Verify", "Prune")


def styles_of(text: Text, fragment: str) -> set[str]:
    """The styles that cover ``fragment`` of ``text`` (where it starts)."""
    start = text.plain.index(fragment)
    return {str(span.style) for span in text.spans if span.start <= start < span.end}


def cell(app: object, backup_id: str, column: str) -> Text:
    table = app.screen.query_one(DataTable)  # type: ignore[attr-defined]
    value = table.get_cell(backup_id, column)
    return value if isinstance(value, Text) else Text(str(value))


def backup_file(
    open_as: Callable[..., Console], tenant: str, backup_id: str, region: str = "eu"
) -> Path:
    store = open_as("ada").settings.regions[region].backup_store
    return store / tenant / f"{backup_id}.dump.zst.age"


def backed_up(open_as: Callable[..., Console], tenant: str) -> str:
    [outcome] = open_as("olga").backups.run([tenant])
    assert outcome.ok and outcome.backup_id, outcome
    return outcome.backup_id


@story
async def test_an_operator_backs_up_the_tenant_that_is_due_and_watches_it_go(
    open_as: Callable[..., Console], provisioned: Callable[..., str]
) -> None:
    provisioned("acme-gmbh", "DE")
    progress: list[tuple[int, int, str]] = []

    def hook(message: object) -> None:
        if isinstance(message, BackupProgress):
            progress.append((message.done, message.total, message.item))

    async with console_app(open_as("olga"), screen="8", message_hook=hook) as (app, pilot):
        assert isinstance(app.screen, BackupsScreen)
        assert "0 backups of 0 tenants" in screen_text(app)
        assert "Due: 1" in screen_text(app) and "backup acme-gmbh" in screen_words(app)
        assert "no backup yet" in screen_words(app)

        await pilot.press("b")
        await settle(pilot)
        modal = app.screen
        assert (
            isinstance(modal, TenantModal) and modal.default == "acme-gmbh"
        )  # the tenant that is due
        await pilot.press("enter")
        await settle(pilot)

        assert isinstance(app.screen, BackupsScreen)
        assert progress and progress[-1][0] == progress[-1][1] and progress[-1][2] == "acme-gmbh"
        assert not app.screen.query_one("#backups-run").display  # the progress line goes once done
        assert "1 backup stored" in app.notices_of("information")
        [backup_id] = [r.record.id for r in open_as("vic").backups.listing("acme-gmbh").rows]
        assert cell(app, backup_id, "status").plain == "unverified"
        assert "1 backup of 1 tenant" in screen_text(app)
        assert (cell(app, backup_id, "tenant").plain, cell(app, backup_id, "id").plain) == (
            "acme-gmbh",
            backup_id[-6:],
        )
        detail = app.screen.query_one("#backups-detail", Static).content
        assert (
            isinstance(detail, Text)
            and detail.plain.startswith(backup_id)
            and "not verified yet" in detail.plain
        )
        app.clear_notifications()  # the toast would cover the right of the due list
        await settle(pilot)
        assert "verify acme-gmbh" in screen_words(
            app
        ) and "not verified at level restore" in screen_words(app)


@story
async def test_an_operator_names_another_tenant_in_the_dialog(
    open_as: Callable[..., Console], provisioned: Callable[..., str]
) -> None:
    provisioned("acme-gmbh", "DE")
    provisioned("maple-health", "CA")
    backed_up(open_as, "acme-gmbh")
    async with console_app(open_as("olga"), screen="8") as (app, pilot):
        await pilot.press("b")
        await settle(pilot)
        assert (
            isinstance(app.screen, TenantModal) and app.screen.default == "acme-gmbh"
        )  # the highlighted one
        await pilot.press("ctrl+u", *"maple-health", "enter")
        await settle(pilot)
        rows = [r.as_json() for r in open_as("vic").backups.listing().rows]
        assert sorted(r["tenant"] for r in rows) == ["acme-gmbh", "maple-health"]
        assert "2 backups of 2 tenants" in screen_text(app)
        assert str(app.screen.query_one(DataTable).get_row_at(0)[0]) == "maple-health"  # newest

        await pilot.press("b")
        await settle(pilot)
        dialog = app.screen
        await pilot.press("ctrl+u", *"no-such-tenant", "enter")
        await settle(pilot)
        # Refused inside the dialog, beside the name typed; no toast behind it.
        assert app.screen is dialog and not dialog.working
        assert "✗ no tenant named no-such-tenant" in screen_words(app)
        assert app.notices_of("error") == []
        assert not app.screen_stack[0].query_one("#backups-run").display
        assert app.jobs == {}  # the job is over: q quits without asking
        await pilot.press("ctrl+u", *"maple-health", "enter")  # answered again, it runs
        await settle(pilot)
        assert isinstance(app.screen, BackupsScreen)
        assert "3 backups of 2 tenants" in screen_text(app)


@story
async def test_quick_verification_passes_and_the_result_stays_with_the_backup(
    open_as: Callable[..., Console], provisioned: Callable[..., str]
) -> None:
    provisioned("acme-gmbh", "DE")
    backup_id = backed_up(open_as, "acme-gmbh")
    async with console_app(open_as("olga"), screen="8") as (app, pilot):
        await pilot.press("v")
        await settle(pilot)
        picker = app.screen
        assert isinstance(picker, LevelModal)
        assert picker.default == "restore"  # the sandbox policy's level is offered first
        await pilot.press("up", "up", "enter")  # restore → full → quick
        await settle(pilot)
        assert any(
            n.startswith("quick verification passed: size") for n in app.notices_of("information")
        )
        assert cell(app, backup_id, "checked").plain == "quick ok"
        # Quick is below the policy's level: still due for a restore test.
        assert cell(app, backup_id, "status").plain == "unverified"
        assert "quick verification passed" in screen_words(app) and "by olga" in screen_words(app)


@story
async def test_a_tampered_backup_fails_verification_and_the_detail_is_red(
    open_as: Callable[..., Console], provisioned: Callable[..., str]
) -> None:
    provisioned("acme-gmbh", "DE")
    backup_id = backed_up(open_as, "acme-gmbh")
    data = backup_file(open_as, "acme-gmbh", backup_id)
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0x01  # one flipped bit in the middle of the stored file
    data.write_bytes(bytes(raw))

    async with console_app(open_as("olga"), screen="8") as (app, pilot):
        await pilot.press("v", "up", "up", "enter")
        await settle(pilot)
        # Said in the dialog that asked for it, which stays open until Esc; no toast.
        assert isinstance(app.screen, LevelModal) and not app.screen.working
        assert "failed quick verification: ciphertext hash mismatch" in screen_words(app)
        assert app.notices_of("error") == []
        await pilot.press("escape")
        await settle(pilot)
        status, checked = cell(app, backup_id, "status"), cell(app, backup_id, "checked")
        assert (status.plain, checked.plain) == ("failed", "quick FAILED")
        assert "red" in str(status.style) and "red" in str(checked.style)
        detail = app.screen.query_one("#backups-detail", Static).content
        assert isinstance(detail, Text)
        assert (
            "quick verification FAILED" in detail.plain
            and "ciphertext hash mismatch" in detail.plain
        )
        assert "red" in styles_of(detail, "ciphertext hash mismatch")
        assert "1 failed or missing" in screen_text(app)
        # A failed backup does not count: the tenant is due again at once.
        assert "Due: 1, 1 overdue" in screen_text(
            app
        ) and f"latest backup {backup_id[-6:]} failed verification" in screen_words(app)


@story
async def test_run_due_backs_up_and_verifies_every_tenant_with_a_progress_bar(
    open_as: Callable[..., Console], provisioned: Callable[..., str]
) -> None:
    provisioned("acme-gmbh", "DE")
    provisioned("maple-health", "CA")
    items: list[str] = []
    async with console_app(
        open_as("olga"),
        screen="8",
        message_hook=lambda m: isinstance(m, BackupProgress) and items.append(m.item),
    ) as (app, pilot):
        assert "Due: 2" in screen_text(app)
        await pilot.press("d")
        await settle(pilot)
        assert "Back up 2 tenants and verify 0 backups that are due" in screen_words(app)
        await pilot.press("y")
        await settle(pilot)
        assert {"acme-gmbh", "maple-health", "verify acme-gmbh", "verify maple-health"} <= set(
            items
        )
        assert "2 backups stored, 2 verified" in app.notices_of("information")
        rows = [r.as_json() for r in open_as("vic").backups.listing().rows]
        assert {(r["tenant"], r["status"]) for r in rows} == {
            ("acme-gmbh", "verified"),
            ("maple-health", "verified"),
        }
        assert all(cell(app, r["id"], "checked").plain == "restore ok" for r in rows)
        assert "Nothing is due." in screen_text(app)
        await pilot.press("d")
        await settle(pilot)
        assert "nothing is due" in app.notices_of("information")


@story
async def test_run_due_keeps_to_the_region_filter(
    open_as: Callable[..., Console], provisioned: Callable[..., str]
) -> None:
    provisioned("acme-gmbh", "DE")
    provisioned("maple-health", "CA")
    async with console_app(open_as("olga"), screen="8") as (app, pilot):
        await pilot.press("R", "d")  # region eu
        await settle(pilot)
        assert "Back up 1 tenant and verify 0 backups that is due, in region eu?" in screen_words(
            app
        )
        await pilot.press("y")
        await settle(pilot)
    rows = open_as("vic").backups.listing().rows
    assert [r.record.tenant for r in rows] == ["acme-gmbh"]


@story
async def test_prune_shows_what_retention_would_delete_then_deletes_it(
    open_as: Callable[..., Console], provisioned: Callable[..., str]
) -> None:
    provisioned("acme-gmbh", "DE")
    older = backed_up(open_as, "acme-gmbh")
    newer = backed_up(open_as, "acme-gmbh")  # the same day: retention keeps only the newest
    async with console_app(open_as("olga"), screen="8") as (app, pilot):
        await pilot.press("p")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ConfirmModal)
        assert (
            "Delete 1 backup of 1 tenant? They cannot be restored afterwards; 1 are kept."
            in screen_words(app)
        )
        assert f"{older} (acme-gmbh: outside the retention policy)" in dialog.question
        assert newer not in dialog.question
        await pilot.press("n")
        await settle(pilot)
        assert "2 backups of 1 tenant" in screen_text(app)  # backing out deletes nothing
        await pilot.press("p")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert "pruned 1 backup" in app.notices_of("information")
        assert "1 backup of 1 tenant" in screen_text(app)
        assert [r.record.id for r in open_as("vic").backups.listing("acme-gmbh").rows] == [newer]
        assert not backup_file(open_as, "acme-gmbh", older).exists()
        await pilot.press("p")
        await settle(pilot)
        assert "nothing to prune: retention keeps all 1 backups" in app.notices_of("information")


@story
async def test_a_viewer_sees_the_backups_but_is_offered_no_action(
    open_as: Callable[..., Console], provisioned: Callable[..., str]
) -> None:
    provisioned("acme-gmbh", "DE")
    backed_up(open_as, "acme-gmbh")
    async with console_app(open_as("vic"), screen="8") as (app, pilot):
        assert "1 backup of 1 tenant · view only" in screen_text(app)
        assert "Region" in footer(app) and not any(a in footer(app) for a in ACTIONS)
        for key in ("b", "d", "v", "p"):
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, BackupsScreen), key
        assert app.notices_of("error") == []


@story
async def test_read_only_hides_the_actions_even_from_an_operator(
    open_as: Callable[..., Console], provisioned: Callable[..., str]
) -> None:
    provisioned("acme-gmbh", "DE")
    backed_up(open_as, "acme-gmbh")
    async with console_app(open_as("olga", read_only=True), screen="8") as (app, pilot):
        assert "1 backup of 1 tenant · read-only" in screen_text(app)
        assert not any(a in footer(app) for a in ACTIONS)
        await pilot.press("b")
        await settle(pilot)
        assert isinstance(app.screen, BackupsScreen)


@story
async def test_the_palette_lists_backups_and_its_actions_by_role(
    open_as: Callable[..., Console],
) -> None:
    for operator, offered in (("olga", True), ("vic", False)):
        async with console_app(open_as(operator)) as (app, _):
            titles = palette_titles(app)
            assert "Go to Backups" in titles
            assert ("Back up tenant" in titles) is offered and (
                "Prune backups" in titles
            ) is offered


@story
async def test_the_dashboard_counts_overdue_and_failed_backups_per_region(
    open_as: Callable[..., Console], provisioned: Callable[..., str]
) -> None:
    for name, country in (("acme-gmbh", "DE"), ("nordlicht-as", "NO"), ("maple-health", "CA")):
        provisioned(name, country)
    failed = backed_up(open_as, "acme-gmbh")
    data = backup_file(open_as, "acme-gmbh", failed)
    data.write_bytes(data.read_bytes()[:-1])  # truncated in the store
    with pytest.raises(IntegrityFailure):
        open_as("olga").backups.verify(failed, "quick")
    backed_up(open_as, "nordlicht-as")  # good, never verified
    # two days without a backup run
    console = open_as("vic", clock=lambda: utcnow() + timedelta(days=2))
    async with console_app(console) as (app, pilot):
        card = app.screen.query_one("#dashboard-backups", Static)
        text = card.content
        assert isinstance(text, Text)
        # maple-health never backed up, acme-gmbh's latest failed, nordlicht-as's is two days old
        # and was not verified within a day.
        assert text.plain == (
            "3 overdue backups · 1 overdue verification · 1 failed verification"
            " — 4 due in all (press 8)"
        )
        assert any("red" in style for style in styles_of(text, "3 overdue backups"))
        await pilot.press("R")  # eu
        await settle(pilot)
        assert card.content.plain.startswith(
            "2 overdue backups · 1 overdue verification · 1 failed verification"
        )
        await pilot.press("R")  # us
        await settle(pilot)
        assert card.content.plain == "1 overdue backup — 1 due in all (press 8)"


@story
async def test_the_dashboard_says_backups_are_on_schedule(
    open_as: Callable[..., Console], provisioned: Callable[..., str]
) -> None:
    provisioned("acme-gmbh", "DE")
    backup_id = backed_up(open_as, "acme-gmbh")
    open_as("olga").backups.verify(backup_id, "restore")
    async with console_app(open_as("vic")) as (app, _):
        assert "On schedule: nothing is due and no backup failed verification." in screen_words(app)
