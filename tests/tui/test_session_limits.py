"""Session limits over SSH: the idle lock is not switched off for a session that came in over
SSH, and ``security.session_max_hours`` ends a session after that long, busy or not, with a
warning ten minutes before. Time is the injected clock, moved forward: no sleeping."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from tui_helpers import ManualClock, Pins, console_app, story, until

from aptien_ops.cli.tui import _SessionEnd as SessionEnd
from aptien_ops.composition import Console, open_console
from aptien_ops.config import load_settings
from aptien_ops.errors import InvalidInput
from aptien_ops.identity import os_account
from aptien_ops.screens.app import OpsApp
from aptien_ops.screens.lock import LockScreen

pytestmark = pytest.mark.tui

#: What sshd puts in the environment of a session: the client's address and port, then the
#: server's.
OVER_SSH = "203.0.113.7 50022 192.0.2.1 22"


def limited(sandbox: Path, hours: int) -> None:
    text = sandbox.read_text()
    assert "session_max_hours = 12" in text  # the sandbox's config documents the default
    sandbox.write_text(text.replace("session_max_hours = 12", f"session_max_hours = {hours}", 1))


@story
async def test_over_ssh_an_idle_sandbox_console_still_locks(
    sandbox: Path, clock: ManualClock
) -> None:
    console = open_console(sandbox, env={"APTIEN_OPS_OPERATOR": "ada", "SSH_CONNECTION": OVER_SSH})
    assert console.identity.ssh_origin  # the console knows it is used over SSH
    async with console_app(console, clock=clock) as (app, pilot):
        clock.advance(15 * 60)
        app.check_idle_lock()
        await pilot.pause()
        assert isinstance(app.screen, LockScreen)
    console.close()


@story
async def test_over_ssh_an_idle_production_session_ends(
    open_as: Callable[..., Console],
    sandbox: Path,
    pins: Pins,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSH_CONNECTION", OVER_SSH)
    text = sandbox.read_text().replace('mode = "sandbox"', 'mode = "production"', 1)
    sandbox.write_text(text.replace("initial_admins = []", f'initial_admins = ["{os_account()}"]'))
    pins.account = os_account()
    async with console_app(open_as(None), clock=clock) as (app, pilot):
        clock.advance(15 * 60)
        app.check_idle_lock()
        await pilot.pause()
    assert app.ended == "the session ended after 15 idle minutes: log in again to go on"


def toasts(app: OpsApp) -> list[str]:
    return [f"{n.title}: {n.message}" for n in app._notifications]


@story
async def test_a_busy_session_is_warned_ten_minutes_before_its_hours_are_up_then_ends(
    open_as: Callable[..., Console], sandbox: Path, clock: ManualClock
) -> None:
    limited(sandbox, 2)
    async with console_app(open_as("ada"), clock=clock) as (app, pilot):
        assert app.session_hours == 2
        for _ in range(11):  # a key every ten minutes: busy, never idle
            clock.advance(10 * 60 - 1)
            await pilot.press("down")
            app.check_idle_lock()
        await pilot.pause()
        assert toasts(app) == []  # 1 h 50 min less 11 s: not yet
        clock.advance(11)
        app.check_idle_lock()
        await until(pilot, lambda: toasts(app), "the warning")
        assert toasts(app) == [
            "Session ending: This session ends in 10 minutes (it lasts at most 2 hours):"
            " finish what you are doing, then log in again."
        ]
        clock.advance(9 * 60)
        await pilot.press("down")
        app.check_idle_lock()  # warned once, not on every check
        await pilot.pause()
        assert len(toasts(app)) == 1 and app.ended is None
        clock.advance(60)
        app.check_idle_lock()
        await pilot.pause()
    assert app.ended == "the session ended after 2 hours: log in again to go on"


@story
async def test_the_end_of_a_session_past_its_hours_is_in_the_ops_log(
    sandbox: Path, clock: ManualClock
) -> None:
    limited(sandbox, 1)
    env = {"APTIEN_OPS_OPERATOR": "ada", "SSH_CONNECTION": OVER_SSH}
    console = open_console(sandbox, env=env, defer_catalog=True)  # as aptien-ops tui opens it
    try:
        app = OpsApp(console, clock=clock, record_session=True)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.session is not None, "the session's start")
            clock.advance(3600)
            app.check_idle_lock()
            await pilot.pause()
        SessionEnd(console, app).record()  # as the command line does once the app has left
        [end] = [e for e in console.opslog.list(limit=5) if e.action == "session.end"]
    finally:
        console.close()
    assert end.operator == "ada" and end.ssh_origin and "203.0.113.7" in end.ssh_origin
    reason = "ended by the console: the session ended after 1 hour: log in again to go on"
    assert reason in str(end.params), end.params


def test_session_max_hours_defaults_to_twelve_and_refuses_what_is_out_of_range(
    sandbox: Path,
) -> None:
    assert load_settings(sandbox).security.session_max_hours == 12
    for wrong in (0, 169):
        limited(sandbox, wrong)
        with pytest.raises(InvalidInput, match=f"session_max_hours.*1 and 168, got {wrong}"):
            load_settings(sandbox)
        sandbox.write_text(
            sandbox.read_text().replace(f"session_max_hours = {wrong}", "session_max_hours = 12")
        )
