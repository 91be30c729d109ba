"""The Notices screen at 80x24, on a SQLite and a PostgreSQL catalog: an operator drafts a
maintenance notice in the form, sees the dry run (tenants per region, a rendered sample),
sends it, posts an update and resolves it, each through the service the command line calls
(one ops-log entry each); a viewer sees notices but is told why every change is refused, and
nothing is logged or sent; a hostile title reaches the terminal inert; the Fleet screen's
cluster rows open the draft form prefilled; the dashboard lists what is in progress."""

from __future__ import annotations

import mailbox
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from test_incident_actions import _fill, _press
from textual.widgets import Button, DataTable, Input, Static
from tui_helpers import (
    FROZEN_NOW,
    console_app,
    screen_text,
    screen_words,
    scrolled_words,
    settle,
    story,
    until,
)

from aptien_ops.composition import Console
from aptien_ops.config import load_settings
from aptien_ops.domain import TenantState
from aptien_ops.screens.modals import ReasonModal
from aptien_ops.screens.notice_detail import NoticeDetailScreen
from aptien_ops.screens.notice_modals import (
    DraftNoticeModal,
    ResolveNoticeModal,
    SendNoticeModal,
    UpdateNoticeModal,
)
from aptien_ops.screens.notices import NoticesScreen
from aptien_ops.services.op_notices import NoticeDraft

from hostile_data import escapes_in, hostile

pytestmark = pytest.mark.tui


@pytest.fixture
def sandbox(catalog_config: Path) -> Path:
    """The TUI's sandbox with a SQLite or a PostgreSQL catalog."""
    return catalog_config


def _entries(open_as: Callable[..., Console], action: str) -> list[tuple[str, str]]:
    """(operator, outcome) of each ops-log entry of ``action``, oldest first (read by ada)."""
    found = [e for e in open_as("ada").opslog.list(limit=200) if e.action == action]
    return [(e.operator, e.outcome) for e in reversed(found)]


def _told_on(console: Console, cluster: str) -> int:
    """Active and suspended tenants on ``cluster`` (those a notice to it reaches)."""
    live = ("active", "suspended")
    return sum(1 for t in console.tenants.list() if t.cluster == cluster and t.state in live)


def _problem(dialog: Any) -> str:
    found = dialog.query("#modal-problem")
    return str(found.first(Static).content) if found else ""


def _draft(console: Console, title: str = "Database upgrade", **scope: Any) -> str:
    given = NoticeDraft(
        "maintenance",
        title,
        "Short read-only window.",
        FROZEN_NOW + timedelta(days=6),
        FROZEN_NOW + timedelta(days=6, hours=1),
        **(scope or {"clusters": ("eu-sandbox-1",)}),
    )
    return console.op_notices.draft(given).id


@story
async def test_draft_dry_run_send_update_resolve(
    frozen: None, demo_tenants: None, open_as: Callable[..., Console], sandbox: Path
) -> None:
    olga = open_as("olga")
    told = _told_on(olga, "eu-sandbox-1")
    assert told > 1
    async with console_app(olga, "N") as (app, pilot):
        assert isinstance(app.screen, NoticesScreen)
        assert "No notice in progress, scheduled or drafted" in screen_words(app)
        form = await _press(pilot, "n")
        assert isinstance(form, DraftNoticeModal)
        # What the form refuses is said in it, beside the field; nothing is drafted.
        await _fill(pilot, {"title": "Database upgrade", "body": "Short.", "scope": "galaxy x"})
        assert app.screen is form and "a scope: regions R,…" in _problem(form)
        values = {
            "kind": "maintenance",
            "title": "Database upgrade",
            "body": "Short read-only window.",
            "from": "2025-03-20T22:00Z",
            "to": "2025-03-20T23:00Z",
            "scope": "clusters eu-sandbox-1",
        }
        page = await _fill(pilot, values)
        page = app.screen
        assert isinstance(page, NoticeDetailScreen)
        words = screen_words(app)
        assert "NTC-2025-0001 Database upgrade" in words and "draft" in words
        assert f"{told} tenants (eu: {told}), stored at draft" in words

        dialog = await _press(pilot, "s")  # the dry run first: nothing is recorded or sent
        assert isinstance(dialog, SendNoticeModal)
        preview = screen_words(app)
        assert f"{told} tenants (eu: {told})" in preview and f"eu: {told} tenants" in preview
        assert "subject:" in preview and "Database upgrade" in preview
        assert _entries(open_as, "notice.send") == []
        dialog.query_one("#modal-submit", Button).press()
        await settle(pilot)
        assert app.screen is page
        words = screen_words(app)
        assert "scheduled" in words and f"email {told} sent 0 pending 0 failed" in words

        update = await _press(pilot, "u")
        assert isinstance(update, UpdateNoticeModal)
        await _fill(pilot, {"status": "in-progress", "text": "Started on time."})
        assert app.screen is page
        words = screen_words(app)
        assert "in-progress" in words and "Started on time." in words

        resolve = await _press(pilot, "v")
        assert isinstance(resolve, ResolveNoticeModal)
        await _fill(pilot, {"text": "Done."})
        assert "resolved" in screen_words(app)
        assert "is resolved: nothing more" in (await _refused(app, pilot, "s"))

        listing = await _press(pilot, "escape")
        assert "0 notices not resolved or cancelled" in screen_words(app)
        await _press(pilot, "a")
        assert isinstance(listing, NoticesScreen) and "NTC-2025-0001" in screen_words(app)

    box = load_settings(sandbox).notifications.email.maildir
    assert box is not None and len(mailbox.Maildir(str(box))) == 2 * told  # send + update
    for action in ("notice.draft", "notice.send", "notice.update", "notice.resolve"):
        assert _entries(open_as, action) == [("olga", "ok")], action


async def _refused(app: Any, pilot: Any, key: str) -> str:
    """Press ``key``; the warning it got (the screen stays as it was)."""
    before = len(app.notices_of("warning"))
    await _press(pilot, key)
    said = app.notices_of("warning")[before:]
    assert said, f"{key} was not refused"
    return said[-1]


@story
async def test_a_viewer_sees_notices_and_is_told_why_each_change_is_refused(
    frozen: None, demo_tenants: None, open_as: Callable[..., Console]
) -> None:
    notice = _draft(open_as("olga"))
    vic = open_as("vic")
    async with console_app(vic, "N") as (app, pilot):
        assert "NTC-2025-0001" in screen_words(app)
        said = await _refused(app, pilot, "n")
        assert "vic may not notice.draft" in said and "operator" in said
        assert isinstance(app.screen, NoticesScreen)
        page = await _press(pilot, "enter")
        assert isinstance(page, NoticeDetailScreen) and page.notice_id == notice
        for key, action in (("s", "send"), ("u", "update"), ("v", "resolve"), ("c", "cancel")):
            said = await _refused(app, pilot, key)
            assert f"vic may not notice.{action}" in said, said
            assert app.screen is page
        footer = screen_text(app).splitlines()[-1]
        assert "Send" not in footer and "Resolve" not in footer
    olga = open_as("olga")
    assert olga.op_notice_sending.deliveries(notice) == ()
    for action in ("notice.draft", "notice.send", "notice.update", "notice.resolve"):
        assert [e for e in _entries(open_as, action) if e[0] == "vic"] == [], action


@story
async def test_an_error_is_one_line_on_the_page(
    frozen: None, demo_tenants: None, open_as: Callable[..., Console]
) -> None:
    olga = open_as("olga")
    notice = _draft(olga, tenants=("acme-gmbh",))
    async with console_app(olga, "N") as (app, pilot):
        page = await _press(pilot, "enter")
        assert isinstance(page, NoticeDetailScreen)
        with olga.ctx.catalog.transaction() as tx:  # the stored scope now reaches nobody
            acme = tx.tenants.get("acme-gmbh", for_update=True)
            assert acme is not None
            tx.tenants.update(replace(acme, state=TenantState.CANCELLED), by="ada")
        await _press(pilot, "s")
        assert app.screen is page  # no dialog: the dry run was refused
        status = str(page.query_one("#notice-status", Static).content)
        assert status.startswith("✗ ") and "reaches no active or suspended tenant" in status
        assert "\n" not in status.strip()
    assert olga.op_notice_sending.deliveries(notice) == ()


@story
async def test_a_hostile_title_and_body_are_shown_inert(
    frozen: None, demo_tenants: None, open_as: Callable[..., Console]
) -> None:
    olga = open_as("olga")
    olga.op_notices.draft(
        NoticeDraft(
            "outage", hostile("title"), hostile("body"), clusters=("eu-sandbox-1",), ends_at=None
        )
    )
    async with console_app(olga, "N") as (app, pilot):
        for screen in ("list", "detail"):
            if screen == "detail":
                await _press(pilot, "enter")
            text = screen_text(app)
            assert escapes_in(text) == [], screen
            assert "[bold red]markup[/]" in text or "[bold red]markup" in text, screen
            assert "\\x1b]52" in text or "\\x1b" in text, screen


@story
async def test_fleet_cluster_row_announces_maintenance_there(
    frozen: None, demo_tenants: None, open_as: Callable[..., Console]
) -> None:
    olga = open_as("olga")
    async with console_app(olga, "6") as (app, pilot):
        assert "eu-sandbox-1" in screen_words(app)
        clusters = app.screen.query_one("#fleet-clusters", DataTable)
        assert clusters.row_count == 2 and not clusters.has_focus  # eu and us sandboxes
        await _press(pilot, "a")  # several clusters: first, choose one
        assert clusters.has_focus and "choose the cluster" in app.notices_of("information")[-1]
        await _press(pilot, "down")
        form = await _press(pilot, "a")
        assert isinstance(form, DraftNoticeModal)
        assert form.query_one("#form-kind", Input).value == "maintenance"
        assert form.query_one("#form-scope", Input).value == "clusters us-sandbox-1"
        await _fill(pilot, {"title": "Disk swap", "body": "Ten minutes read-only."})
        assert isinstance(app.screen, NoticeDetailScreen)
    [row] = olga.op_notices.list()
    assert row.notice.scope.words() == "clusters us-sandbox-1"
    assert str(row.notice.kind) == "maintenance"


@story
async def test_the_dashboard_lists_notices_in_progress_and_scheduled(
    frozen: None, demo_tenants: None, open_as: Callable[..., Console]
) -> None:
    olga = open_as("olga")
    async with console_app(olga) as (app, pilot):
        assert "No notice in progress or scheduled." in screen_words(app)
    notice = _draft(olga, "Database upgrade")
    _draft(olga, "Only a draft")  # not told to anyone yet: not on the dashboard
    olga.op_notice_sending.send(notice, ("email",))
    async with console_app(olga) as (app, pilot):
        words = screen_words(app)
        assert "scheduled 03-20 09:26 maintenance Database upgrade" in words
        assert "Only a draft" not in words


@story
async def test_an_edit_after_another_operators_is_refused_with_the_changed_meanwhile_dialog(
    frozen: None, demo_tenants: None, open_as: Callable[..., Console]
) -> None:
    from aptien_ops.screens.modals import ConfirmModal
    from aptien_ops.services.op_notices import NoticeEdit

    olga = open_as("olga")
    notice = _draft(olga)
    async with console_app(olga, "N") as (app, pilot):
        page = await _press(pilot, "enter")
        assert isinstance(page, NoticeDetailScreen)
        form = await _press(pilot, "e")
        assert form.query_one("#form-title", Input).value == "Database upgrade"
        await _fill(pilot, {"body": "Twenty minutes read-only."})
        assert app.screen is page and "Twenty minutes read-only." in screen_words(app)
        later = olga.op_notices.show(notice).notice.updated_at + timedelta(minutes=1)
        open_as("ada", clock=lambda: later).op_notices.edit(notice, NoticeEdit(title="Moved"))
        await _press(pilot, "e")
        dialog = await _fill(pilot, {"title": "Database upgrade, again"})
        asked = app.screen
        assert isinstance(asked, ConfirmModal) and asked is not dialog
        assert "changed by ada since you read it" in screen_words(app)
        await _press(pilot, "y")  # Reload
        assert app.screen is page and "NTC-2025-0001 Moved" in screen_words(app)
    assert olga.op_notices.show(notice).notice.title == "Moved"


@story
async def test_cancel_asks_a_reason(
    frozen: None, demo_tenants: None, open_as: Callable[..., Console]
) -> None:
    olga = open_as("olga")
    notice = _draft(olga)
    async with console_app(olga, "N") as (app, pilot):
        # One key at a time, each once the app is done with the last: "c" pressed while the
        # page is still reading its notice is refused ("still being read"), and the reason
        # typed before the dialog is up would go nowhere.
        page = await _press(pilot, "enter")
        assert isinstance(page, NoticeDetailScreen)
        await until(pilot, lambda: page.view is not None, "the notice's page to read it")
        dialog = await _press(pilot, "c")
        assert isinstance(dialog, ReasonModal), dialog
        reason = dialog.query_one("#modal-reason", Input)
        reason.value = "postponed"
        reason.focus()
        await _press(pilot, "enter")
        assert isinstance(app.screen, NoticeDetailScreen)
        words = screen_words(app)
        assert "cancelled" in words and "postponed" in words
    assert str(olga.op_notices.show(notice).notice.status) == "cancelled"
    assert _entries(open_as, "notice.cancel") == [("olga", "ok")]


@story
async def test_telling_users_is_a_request_first(
    frozen: None, demo_tenants: None, open_as: Callable[..., Console]
) -> None:
    olga = open_as("olga")
    notice = _draft(olga, clusters=("eu-sandbox-1",), audience="users")
    async with console_app(olga, "N") as (app, pilot):
        await _press(pilot, "enter")
        dialog = await _press(pilot, "s")
        assert isinstance(dialog, SendNoticeModal)
        assert "a request first" in screen_words(app)
        assert str(dialog.query_one("#modal-submit", Button).label) == "Request"
        dialog.query_one("#modal-submit", Button).press()
        await settle(pilot)
        assert isinstance(app.screen, NoticeDetailScreen)
        said = app.notices_of("warning")[-1]
        assert "recorded; another admin or security operator must approve" in said, said
    assert olga.op_notice_sending.deliveries(notice) == ()
    assert _entries(open_as, "notice.send-users") == [("olga", "pending")]
    [asked] = [a for a in olga.approvals.list("pending") if a.target == notice]
    open_as("sam").approvals.approve(asked.id)
    async with console_app(olga, "N") as (app, pilot):  # approved: the dialog sends
        await _press(pilot, "enter")
        dialog = await _press(pilot, "s")
        assert isinstance(dialog, SendNoticeModal)
        words = screen_words(app)
        assert "approved (four-eyes)" in words, words
        assert "a request first" not in words
        assert str(dialog.query_one("#modal-submit", Button).label) == "Send"


@story
async def test_a_refused_recipient_is_one_red_line_and_the_rest_is_sent(
    frozen: None,
    demo_tenants: None,
    open_as: Callable[..., Console],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from aptien_ops.backends.notify_mail import MaildirTransport
    from aptien_ops.domain.notices import DeliveryFailed, Mail

    olga = open_as("olga")
    told = _told_on(olga, "eu-sandbox-1")
    notice = _draft(olga)
    send, said = MaildirTransport.send, []

    def refusing(self: MaildirTransport, mail: Mail) -> None:
        if not said:
            said.append(mail)
            raise DeliveryFailed("550 mailbox unavailable", permanent=True)
        send(self, mail)

    monkeypatch.setattr(MaildirTransport, "send", refusing)
    async with console_app(olga, "N") as (app, pilot):
        page = await _press(pilot, "enter")
        dialog = await _press(pilot, "s")
        progress: list[str] = []
        show_working = dialog.show_working
        monkeypatch.setattr(
            dialog, "show_working", lambda p="": progress.append(p) or show_working(p)
        )
        dialog.query_one("#modal-submit", Button).press()
        await settle(pilot)
        assert app.screen is page
        status = str(page.query_one("#notice-status", Static).content)
        assert status == (
            "✗ not delivered to everyone: 0 pending, 1 failed (s again sends what is pending)"
        )
        words = await scrolled_words(app, pilot)
        assert f"email {told - 1} sent 0 pending 1 failed" in words
        assert "/representative (1 attempt): 550 mailbox unavailable" in words
        assert said[0].to not in words  # the recipient's key, never the address
        assert progress[-1] == f"email {told - 1:,}/{told:,}"  # said in the dialog as it went
    [delivery] = olga.op_notice_sending.deliveries(notice)
    assert [(c.channel, c.sent, c.failed) for c in delivery.channels] == [("email", told - 1, 1)]


@story
async def test_the_dashboard_s_notices_card_keeps_to_the_region_filter(
    frozen: None, demo_tenants: None, open_as: Callable[..., Console]
) -> None:
    olga = open_as("olga")
    eu = _draft(olga, "Upgrade in Frankfurt")
    us = _draft(olga, "Upgrade in Virginia", clusters=("us-sandbox-1",))
    for notice in (eu, us):
        olga.op_notice_sending.send(notice, ("email",))
    async with console_app(olga) as (app, pilot):
        words = screen_words(app)
        assert "Upgrade in Frankfurt" in words and "Upgrade in Virginia" in words
        for region, shown, hidden in (
            ("eu", "Frankfurt", "Virginia"),
            ("us", "Virginia", "Frankfurt"),
        ):
            app.action_cycle_region()
            await settle(pilot)
            assert app.region_filter == region
            words = screen_words(app)
            assert f"Upgrade in {shown}" in words and f"Upgrade in {hidden}" not in words, words
        app.action_cycle_region()
        await settle(pilot)
        assert app.region_filter is None and "Upgrade in Virginia" in screen_words(app)


@story
async def test_telling_users_is_requested_approved_on_the_approvals_screen_then_sent_once(
    frozen: None,
    seed_tenants: Callable[..., list[str]],
    open_as: Callable[..., Console],
    sandbox: Path,
) -> None:
    from test_incident_actions import PEOPLE

    seeded = seed_tenants(PEOPLE)  # two tenants (eu, us), four users each in its database
    olga = open_as("olga")
    notice = _draft(olga, tenants=tuple(seeded), audience="users")
    async with console_app(olga, "N") as (app, pilot):
        page = await _press(pilot, "enter")
        await until(pilot, lambda: page.view is not None, "the notice's page to read it")
        dialog = await _press(pilot, "s")
        assert isinstance(dialog, SendNoticeModal)
        dialog.query_one("#modal-submit", Button).press()
        await settle(pilot)
        assert app.screen is page
        said = app.notices_of("warning")[-1]
        assert "request #1 recorded; another admin or security operator must approve" in said
    assert olga.op_notice_sending.deliveries(notice) == ()
    async with console_app(open_as("sam"), "4") as (app, pilot):  # security approves
        assert "notice.send-users" in screen_words(app)
        await _press(pilot, "a")
        await _press(pilot, "y")
    assert _entries(open_as, "approval.decide") == [("sam", "ok")]
    async with console_app(olga, "N") as (app, pilot):
        page = await _press(pilot, "enter")
        await until(pilot, lambda: page.view is not None, "the notice's page to read it")
        assert "approved by sam" in screen_words(app)
        dialog = await _press(pilot, "s")
        assert isinstance(dialog, SendNoticeModal)
        dialog.query_one("#modal-submit", Button).press()
        await settle(pilot)
        assert app.screen is page
        assert app.notices_of("warning") == []  # no second request
        [delivery] = olga.op_notice_sending.deliveries(notice)
        [email] = [c for c in delivery.channels if c.channel == "email"]
        assert (email.sent, email.pending, email.failed) == (8, 0, 0)
        assert f"email {email.sent} sent 0 pending 0 failed" in await scrolled_words(app, pilot)
        await _press(pilot, "s")  # again: the delivery is done, nothing is sent twice
        if isinstance(app.screen, SendNoticeModal):
            app.screen.query_one("#modal-submit", Button).press()
            await settle(pilot)
    box = load_settings(sandbox).notifications.email.maildir
    assert box is not None and len(mailbox.Maildir(str(box))) == email.sent
    assert len(olga.op_notice_sending.deliveries(notice)) == 1
    assert _entries(open_as, "notice.send-users") == [("olga", "pending")]
    assert _entries(open_as, "notice.send") == [("olga", "ok"), ("olga", "ok")]
