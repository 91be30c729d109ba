"""An incident's actions on its page, at 80x24, on a SQLite and a PostgreSQL catalog: the
security officer reads the scope (counts per region), files the report to the authority (the
reasons for the delay when it is late), records an Art. 34(3) exemption, closes the incident,
and notifies the people: a four-eyes request, approved by another operator on the Approvals
screen, then the sending with its progress per channel shown live. Each goes through the
service the command line calls, which logs every attempt; what the form refuses is shown in
the dialog and touches nothing."""

from __future__ import annotations

import mailbox
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.message import Message
from textual.widgets import Input, SelectionList, Static
from tui_helpers import (
    console_app,
    footer,
    screen_words,
    scrolled_words,
    settle,
    story,
    until,
)

from aptien_ops.backends.notify_mail import MaildirTransport
from aptien_ops.composition import Console
from aptien_ops.config import load_settings
from aptien_ops.domain.notices import Mail
from aptien_ops.screens.incident_action_modals import (
    ExemptModal,
    NotifyModal,
    ReportModal,
    ScopeModal,
    ScopeProgress,
)
from aptien_ops.screens.incident_detail import IncidentDetailScreen
from aptien_ops.screens.incidents import IncidentsScreen
from aptien_ops.screens.modals import ReasonModal
from aptien_ops.services.incident_scope import ScopeRequest
from aptien_ops.services.incidents import IncidentInput, IncidentUpdate
from aptien_ops.services.sandbox_seed import SeedRequest

pytestmark = pytest.mark.tui

#: Two tenants (one per region) of four people each: small, so the scope and the notices are
#: quick, and the same people on every run.
PEOPLE = SeedRequest(tenants=2, users=4, events=5, logins=10, seed=2)


@pytest.fixture
def sandbox(catalog_config: Path) -> Path:
    """The TUI's sandbox with a SQLite or a PostgreSQL catalog."""
    return catalog_config


def _entries(console: Console, action: str) -> list[tuple[str, str]]:
    """(operator, outcome) of each ops-log entry of ``action``, oldest first."""
    found = [e for e in console.opslog.list(limit=200) if e.action == action]
    return [(e.operator, e.outcome) for e in reversed(found)]


async def _open(pilot: Any, row: int = 0) -> IncidentDetailScreen:
    """The Incidents screen's ``row``-th incident's page."""
    await pilot.press("exclamation_mark")
    await settle(pilot)
    await pilot.press(*["down"] * row, "enter")
    await settle(pilot)
    page = pilot.app.screen
    assert isinstance(page, IncidentDetailScreen)
    return page


@asynccontextmanager
async def _on_page(
    console: Console, **run_test: Any
) -> AsyncIterator[tuple[Any, Any, IncidentDetailScreen]]:
    """The app on ``console`` at 80x24, on the first incident's page."""
    async with console_app(console, **run_test) as (app, pilot):
        yield app, pilot, await _open(pilot)


async def _fill(pilot: Any, values: dict[str, str]) -> Any:
    """Type ``values`` into the open form's fields (by id) and submit with Enter on the last;
    returns the dialog."""
    dialog = pilot.app.screen
    for key, value in values.items():
        dialog.query_one(f"#form-{key}", Input).value = value
    dialog.query(Input).last().focus()
    await pilot.press("enter")
    await settle(pilot)
    return dialog


async def _press(pilot: Any, *keys: str) -> Any:
    """Press ``keys`` and let what they start finish; returns the screen then shown."""
    await pilot.press(*keys)
    await settle(pilot)
    return pilot.app.screen


def _problem(dialog: Any) -> str:
    return str(dialog.query_one("#modal-problem", Static).content)


def _incident(sam: Console, hours_ago: float = 2, **more: Any) -> str:
    """An incident sam opened ``hours_ago``, with what a notice must say."""
    from datetime import timedelta

    given = IncidentInput(
        "Export left on a share",
        "confidentiality",
        sam.ctx.now() - timedelta(hours=hours_ago),
        dpo_contact="dpo@aptien.example",
        consequences="Names and e-mail addresses may be known to others.",
        measures_taken="The share was closed.",
        **more,
    )
    return sam.incidents.open(given).id


@story
async def test_security_reads_the_scope_from_the_page_and_sees_the_counts_per_region(
    seed_tenants: Callable[..., list[str]], open_as: Callable[..., Console]
) -> None:
    eu, us = seed_tenants(PEOPLE)
    sam = open_as("sam")
    incident = _incident(sam)
    seen: list[Message] = []
    async with _on_page(sam, message_hook=seen.append) as (app, pilot, page):
        assert isinstance(await _press(pilot, "s"), ScopeModal)
        # Only who logged in, but no window: the form says so; nothing is read or logged.
        dialog = await _fill(pilot, {"which": "tenants", "names": f"{eu},{us}", "logged-in": "yes"})
        assert app.screen is dialog
        assert _problem(dialog) == "✗ only who logged in needs a window FROM..TO"
        assert _entries(sam, "breach.scope") == []
        await _fill(pilot, {"logged-in": "no"})
        assert app.screen is page
        words = await scrolled_words(app, pilot)
        assert "8 people in 2 tenants · taken by sam" in words
        assert "eu 1 tenant 4 people" in words and "us 1 tenant 4 people" in words
        assert "scope: 8 people in 2 tenants (eu: 4, us: 4)" in app.notices_of("information")
        # The dialog said how far the read got, tenant by tenant ("working… 1 of 2 tenants").
        steps = [(m.done, m.total) for m in seen if isinstance(m, ScopeProgress)]
        assert steps == [(1, 2), (2, 2)]
    assert _entries(sam, "breach.scope") == [("sam", "ok")]
    assert sam.incidents.show(incident).scope is not None


@story
async def test_a_late_report_asks_for_the_reasons_and_is_filed_to_a_new_file(
    open_as: Callable[..., Console], tmp_path: Path
) -> None:
    sam = open_as("sam")
    incident = _incident(sam, hours_ago=80)  # 8 hours past its 72
    output = tmp_path / "report.md"
    output.write_text("an earlier file")
    async with _on_page(sam) as (app, pilot, page):
        assert "OVERDUE by 8h 00m" in screen_words(app) or "OVERDUE by" in screen_words(app)
        dialog = await _press(pilot, "f")
        assert isinstance(dialog, ReportModal)
        assert dialog.query_one("#form-output", Input).value == f"{incident}-initial.md"
        dialog.query_one("#form-format", Input).value = "json"
        await settle(pilot)  # the file's name follows the format
        assert dialog.query_one("#form-output", Input).value == f"{incident}-initial.json"
        await _fill(pilot, {"format": "md", "output": str(output)})
        assert _problem(dialog).startswith("✗ the report comes after 72 hours: give the reasons")
        assert _entries(sam, "breach.report") == []  # the form refused it: nothing tried
        # The service refuses an existing file: shown in the dialog, logged as the CLI's is.
        await _fill(pilot, {"delay": "the host told us late"})
        assert app.screen is dialog
        assert "exists; a report never overwrites a file" in _problem(dialog)
        assert output.read_text() == "an earlier file"
        await _fill(pilot, {"output": str(tmp_path / "initial.md")})
        assert app.screen is page
        assert (tmp_path / "initial.md").read_text().count("the host told us late") >= 1
        words = await scrolled_words(app, pilot)
        assert "reported · " in words and "initial md" in words
        [said] = [n for n in app.notices_of("information") if "report (late) written" in n]
        assert str(tmp_path / "initial.md") in said
    assert _entries(sam, "breach.report") == [("sam", "failed:conflict"), ("sam", "ok")]


@story
async def test_an_exemption_is_recorded_with_its_ground_and_shown_with_the_notices(
    open_as: Callable[..., Console],
) -> None:
    sam = open_as("sam")
    _incident(sam)
    async with _on_page(sam) as (app, pilot, page):
        dialog = await _press(pilot, "x")
        assert isinstance(dialog, ExemptModal)
        await _fill(pilot, {"ground": "sideways", "reason": "encrypted"})
        assert _problem(dialog).startswith("✗ the ground is one of unintelligible, risk-removed")
        await _fill(pilot, {"ground": "risk-removed", "reason": "every password was reset"})
        assert app.screen is page
        assert "exempt (risk-removed): every password was reset" in await scrolled_words(app, pilot)
    assert _entries(sam, "breach.exempt") == [("sam", "ok")]


@story
async def test_closing_asks_a_reason_and_a_report_still_due_is_refused_in_the_dialog(
    open_as: Callable[..., Console], tmp_path: Path
) -> None:
    sam = open_as("sam")
    incident = _incident(sam)
    async with _on_page(sam) as (app, pilot, page):
        dialog = await _press(pilot, "c")
        assert isinstance(dialog, ReasonModal)
        await pilot.press(*"contained", "enter")
        await settle(pilot)
        assert app.screen is dialog  # risk unknown, not reported: the service refuses
        assert "has not been reported to the authority" in _problem(dialog)
        await _press(pilot, "escape")
        sam.incidents.update(incident, IncidentUpdate(risk_to_people="unlikely"))
        await pilot.press("c", *"contained", "enter")
        await settle(pilot)
        assert app.screen is page
        assert "closed · medium" in screen_words(app)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, IncidentsScreen)
        assert "No open incidents." in screen_words(app)
    assert _entries(sam, "breach.close") == [("sam", "failed:conflict"), ("sam", "ok")]


@pytest.fixture
def held_mail(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """The sandbox's mail transport stops before its second message until the event is set
    (so the test sees a campaign halfway); set at the end whatever happened."""
    release, send = threading.Event(), MaildirTransport.send
    sent = [0]

    def held(self: MaildirTransport, mail: Mail) -> None:
        sent[0] += 1
        if sent[0] == 2:
            release.wait(timeout=60)
        send(self, mail)

    monkeypatch.setattr(MaildirTransport, "send", held)
    yield release
    release.set()


@story
async def test_notices_are_requested_approved_on_the_approvals_screen_and_sent_with_progress(
    seed_tenants: Callable[..., list[str]],
    open_as: Callable[..., Console],
    sandbox: Path,
    held_mail: threading.Event,
) -> None:
    seed_tenants(PEOPLE)
    sam = open_as("sam")
    incident = _incident(sam)
    sam.incidents.scope(incident, ScopeRequest(everything=True))
    async with _on_page(sam) as (app, pilot, page):
        dialog = await _press(pilot, "n")
        assert isinstance(dialog, NotifyModal)
        words = screen_words(app)
        assert "8 people in 2 tenants (eu 4 · us 4)" in words
        assert "email 8 messages, one per person" in words
        assert "website 2 notices (eu, us)" in words and "inapp 8 messages" in words
        assert "Four-eyes: this records a request" in words
        await pilot.press("tab", "enter")  # from the channels to Request
        await settle(pilot)
        assert app.screen is page
        [said] = app.notices_of("warning")
        assert "recorded; another admin or security operator must approve" in said
    [request] = [a for a in open_as("ada").approvals.list() if a.action == "breach.notify"]
    assert (request.target, request.requested_by) == (incident, "sam")
    async with console_app(open_as("ada"), "4") as (app, pilot):
        await pilot.press("a")
        await settle(pilot)
        assert "Nothing is sent yet" in screen_words(app)
        await pilot.press("y")
        await settle(pilot)
    assert _entries(sam, "approval.decide") == [("ada", "ok")]
    async with _on_page(sam) as (app, pilot, page):
        dialog = await _press(pilot, "n")
        assert isinstance(dialog, NotifyModal)
        assert "Approved by a second operator: Send delivers now" in screen_words(app)
        assert set(dialog.query_one(SelectionList).selected) == {"email", "website", "inapp"}
        await pilot.press("tab", "enter")  # Send
        sending = page.query_one("#incident-sending", Static)
        await until(
            pilot,
            lambda: "email" in str(sending.content) and app.screen is page,
            "the page to show the e-mails under way",
            workers=False,
        )
        live = screen_words(app)
        assert "Sending notices" in live and "email" in live and "1 of 8" in live
        assert "website" in live and "2 of 2 ✓" in live and "8 of 8 ✓" in live  # in-app done
        assert "Back" not in footer(app)  # the page runs the job: it stays till the end
        await pilot.press("escape")
        await until(pilot, lambda: app.notices_of("warning"), "the refusal", workers=False)
        assert app.screen is page and "it stays until they are out" in app.notices_of("warning")[-1]
        held_mail.set()
        await settle(pilot)
        assert not sending.display
        words = await scrolled_words(app, pilot)
        assert "email 8 sent 0 pending 0 failed of 8" in words
        assert "notifying · medium" in words
    box = load_settings(sandbox).notifications.email.maildir
    assert box is not None and len(mailbox.Maildir(str(box))) == 8
    assert _entries(sam, "breach.notify") == [("sam", "pending"), ("sam", "ok")]


@story
async def test_security_revoked_since_the_page_was_shown_is_refused_by_the_service_and_logged(
    open_as: Callable[..., Console],
) -> None:
    sam = open_as("sam")
    _incident(sam)
    async with _on_page(sam) as (app, pilot, page):
        open_as("ada").operators.revoke("sam", "security")  # the page still offers the keys
        await _press(pilot, "x")
        dialog = await _fill(pilot, {"reason": "encrypted at rest"})
        assert app.screen is dialog  # the refusal is said beside the answer
        assert _problem(dialog) == "✗ sam may not breach.exempt (needs role security)"
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is page
    assert _entries(open_as(None), "breach.exempt") == [("sam", "denied")]


@story
async def test_enter_typed_ahead_moves_field_by_field_and_submits_on_the_last(
    open_as: Callable[..., Console],
) -> None:
    """Four Enters arriving at once (a fast typist, a paste, a terminal multiplexer) walk
    the scope form's four fields and submit it, as four Enters one by one do: each moves on
    from the field the one before moved to, not from the one that still has the focus."""
    sam = open_as("sam")
    incident = _incident(sam)
    async with _on_page(sam) as (app, pilot, page):
        dialog = await _press(pilot, "s")
        assert isinstance(dialog, ScopeModal)
        for _ in range(4):  # queued before the first one's move of the focus takes effect
            app.post_message(events.Key("enter", "\r"))
        await settle(pilot)
        assert app.screen is page
    assert _entries(sam, "breach.scope") == [("sam", "ok")]
    assert sam.incidents.show(incident).scope is not None
