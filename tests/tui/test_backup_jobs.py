"""The Backups screen's dialogs start long jobs (back up, run what is due, verify, restore):
a refusal is shown inside the dialog that asked, never as a toast behind it, and ``q`` while
a job runs asks first, whether its dialog is still open ("working…") or the job goes on under
the screen's progress bar. Real sandbox tenants and stores; the service call is held at its
start by the test (then runs for real) so that the keys land while the job runs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from textual.widgets import Button, ProgressBar
from tui_helpers import answer_held, console_app, screen_words, settle, story, until
from waiting import HANG_GUARD_S

from aptien_ops.composition import Console
from aptien_ops.errors import Conflict
from aptien_ops.screens.backup_modals import JobModal
from aptien_ops.screens.backups import BackupsScreen
from aptien_ops.screens.modals import ConfirmModal
from aptien_ops.screens.provision import ProvisionModal

pytestmark = pytest.mark.tui

REFUSAL = "the tenant is being migrated: nothing was started"

JOBS = [
    # (keys to the dialog and its answer, the service method, what the quit question names)
    (["b", "enter"], "run", "backing up acme-gmbh"),
    (["d", "y"], "run", "running what is due"),
    (["v", "enter"], "verify", "of acme-gmbh (restore)"),
    (["E", *"acme-copy", "enter"], "restore", "into acme-copy"),
]
IDS = ["backup", "run-due", "verify", "restore"]


class Held:
    """``console.backups.<method>`` held at its start: it waits for ``gate`` (then reports
    progress once if the test asked), then for ``release``, then runs for real."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, console: Console, method: str) -> None:
        self.started, self.gate, self.release = (threading.Event() for _ in range(3))
        self.report = False
        original = getattr(console.backups, method)

        def held(*args: Any, **kwargs: Any) -> Any:
            self.started.set()
            self.gate.wait(timeout=HANG_GUARD_S)
            progress = kwargs.get("progress")
            if self.report and progress is not None:
                progress(0, 1, "acme-gmbh")
            self.release.wait(timeout=HANG_GUARD_S)
            return original(*args, **kwargs)

        monkeypatch.setattr(console.backups, method, held)

    def free(self) -> None:
        self.gate.set()
        self.release.set()


def quit_question(app: Any) -> bool:
    return type(app.screen) is ConfirmModal and app.screen.heading == "A job is running"


@pytest.fixture
def console(open_as: Callable[..., Console], provisioned: Callable[..., str]) -> Console:
    """olga's console with acme-gmbh backed up once (so there is a backup to verify and
    restore, and its verification is due)."""
    provisioned("acme-gmbh", "DE")
    [outcome] = open_as("olga").backups.run(["acme-gmbh"])
    assert outcome.ok
    return open_as("olga")


@pytest.mark.parametrize("keys, method, doing", JOBS, ids=IDS)
@story
async def test_q_while_a_dialogs_job_runs_asks_first_and_quits_once_it_is_done(
    console: Console, monkeypatch: pytest.MonkeyPatch, keys: list[str], method: str, doing: str
) -> None:
    held = Held(monkeypatch, console, method)
    try:
        async with console_app(console, screen="8") as (app, pilot):
            dialog = await answer_held(pilot, keys, held.started, HANG_GUARD_S)
            assert isinstance(dialog, JobModal) and dialog.working
            assert "working…" in screen_words(app)

            await pilot.press("q")  # the dialog is open: its q asks as the screen's would
            await until(pilot, lambda: quit_question(app), "the question", workers=False)
            assert doing in screen_words(app) and "cannot be stopped halfway" in screen_words(app)
            await pilot.press("n")  # keep working: back to the dialog, still at it
            await until(pilot, lambda: app.screen is dialog, "the dialog", workers=False)
            assert dialog.working and app.is_running

            await pilot.press("q")
            await until(pilot, lambda: quit_question(app), "the question", workers=False)
            await pilot.press("y")
            await until(pilot, lambda: app.quit_when_done, "the answer", workers=False)
            assert app.is_running
            held.free()  # the job finishes whole, then the console quits
            await until(pilot, lambda: not app.is_running, "the app to quit")
    finally:
        held.free()


@pytest.mark.parametrize("keys, method, doing", JOBS, ids=IDS)
@story
async def test_a_refused_job_is_shown_in_its_dialog_not_in_a_toast(
    console: Console, monkeypatch: pytest.MonkeyPatch, keys: list[str], method: str, doing: str
) -> None:
    called = threading.Event()

    def refuses(*_args: object, **_kwargs: object) -> object:
        called.set()
        raise Conflict(REFUSAL)

    monkeypatch.setattr(console.backups, method, refuses)
    async with console_app(console, screen="8") as (app, pilot):
        await pilot.press(keys[0])
        await settle(pilot)
        await pilot.press(*keys[1:])
        await settle(pilot)
        dialog = app.screen
        assert called.is_set() and isinstance(dialog, JobModal)
        assert not dialog.working  # it takes an answer again
        assert f"✗ {REFUSAL}" in screen_words(app)
        assert app.notices == []
        assert app.jobs == {}  # nothing runs: q would quit at once
        screen = app.screen_stack[0]
        assert isinstance(screen, BackupsScreen) and not screen.query_one("#backups-run").display
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen


@pytest.mark.parametrize("asked_first", [False, True], ids=["then-q", "under-the-question"])
@story
async def test_a_job_under_way_goes_on_under_the_progress_bar_and_q_still_asks(
    console: Console, monkeypatch: pytest.MonkeyPatch, asked_first: bool
) -> None:
    """Once the job reports progress its dialog closes and the bar goes on; ``q`` asks. If
    ``q`` was pressed before (the question is over the dialog), the question stays and the
    dialog is gone once it is answered."""
    held = Held(monkeypatch, console, "run")
    held.report = True
    try:
        async with console_app(console, screen="8") as (app, pilot):
            dialog = await answer_held(pilot, ["b", "enter"], held.started, HANG_GUARD_S)
            if asked_first:
                await pilot.press("q")
                await until(pilot, lambda: quit_question(app), "the question", workers=False)
            held.gate.set()  # it reports progress: the job is under way
            await until(pilot, lambda: dialog.handed_off, "the hand-off", workers=False)
            if asked_first:
                assert quit_question(app) and dialog in app.screen_stack  # still asked
            else:
                await pilot.press("q")
                await until(pilot, lambda: quit_question(app), "the question", workers=False)
            assert "Still going: backing up acme-gmbh" in screen_words(app)
            await pilot.press("n")
            await until(
                pilot, lambda: isinstance(app.screen, BackupsScreen), "the screen", workers=False
            )
            assert dialog not in app.screen_stack and app.screen.query_one("#backups-run").display
            assert app.screen.query_one(ProgressBar).progress == 0
            held.release.set()
            await settle(pilot)
            assert app.is_running and app.jobs == {}
            assert "1 backup stored" in app.notices_of("information")
    finally:
        held.free()


@story
async def test_esc_leaves_a_working_dialog_and_the_job_runs_on_in_the_background(
    console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = Held(monkeypatch, console, "verify")
    try:
        async with console_app(console, screen="8") as (app, pilot):
            await answer_held(pilot, ["v", "enter"], held.started, HANG_GUARD_S)
            await pilot.press("escape")
            await until(
                pilot, lambda: isinstance(app.screen, BackupsScreen), "the screen", workers=False
            )
            assert app.screen.query_one("#backups-run").display  # visibly still going
            assert list(app.jobs.values()) == [next(iter(app.jobs.values()))]
            assert "verifying" in next(iter(app.jobs.values()))
            held.free()
            await settle(pilot)
            assert app.jobs == {} and not app.screen.query_one("#backups-run").display
            assert any(
                n.startswith("restore verification passed") for n in app.notices_of("information")
            )
    finally:
        held.free()


@story
async def test_q_in_a_dialog_that_runs_no_job_is_still_nothing(
    open_as: Callable[..., Console],
) -> None:
    """A dialog's q asks only while it works for a job; otherwise it is a key like any other
    in a dialog: neither a quit nor a question (the provision form, a button focused)."""
    async with console_app(open_as("ada"), screen="2") as (app, pilot):
        await pilot.press("n")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, ProvisionModal)
        form.query_one("#provision-cancel", Button).focus()
        await pilot.press("q")
        await settle(pilot)
        assert app.is_running and app.screen is form
