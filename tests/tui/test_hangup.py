"""The TUI when the SSH connection drops (SIGHUP) or it is told to stop (SIGTERM): the action
under way in a worker finishes and records its outcome, then the app leaves, saying why; it
never leaves an action halfway. (The signal's path from the process's handler to the app is
``aptien_ops.cli.interrupts.divert``; a real hang-up through a terminal: tests/test_ssh_tui.py
style, in tests/test_ssh_hangup.py.) ctrl+z where no shell could bring the console back
only says so; with one, tests/test_tui_suspend.py stops it and brings it back with fg."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable

import pytest
from tui_helpers import console_app, open_provision_form, story, until

from aptien_ops.composition import Console
from aptien_ops.domain import TenantState
from aptien_ops.screens import jobs
from aptien_ops.screens.app import OpsApp

pytestmark = pytest.mark.tui


@pytest.mark.parametrize(
    ("signum", "why"),
    [
        pytest.param(signal.SIGHUP, "the connection was lost (SIGHUP)", id="sighup"),
        pytest.param(signal.SIGTERM, "the console was stopped (SIGTERM)", id="sigterm"),
    ],
)
@story
async def test_a_provisioning_under_way_finishes_then_the_app_leaves(
    open_as: Callable[..., Console], monkeypatch: pytest.MonkeyPatch, signum: int, why: str
) -> None:
    console = open_as("olga")
    store = console.ctx.store("eu-sandbox-1")
    apply_schema = store.apply_schema
    reached, go_on = threading.Event(), threading.Event()

    def held(tenant: str, target_version: int, *, region: str) -> int:
        reached.set()
        assert go_on.wait(120), "the test never let the step go on"
        return apply_schema(tenant, target_version, region=region)

    monkeypatch.setattr(store, "apply_schema", held)
    async with console_app(console) as (app, pilot):
        await open_provision_form(pilot)
        await pilot.press(*"acme-gmbh", "enter", *"DE", "enter", "enter", "enter")
        await until(pilot, reached.is_set, "the schema step to begin", workers=False)
        assert app._driver is not None
        reading = app._driver.disable_input
        stopped: list[bool] = []
        monkeypatch.setattr(app._driver, "disable_input", lambda: (stopped.append(True), reading()))
        app.signalled(signum)
        for _ in range(5):  # the app keeps running while the step is under way
            await pilot.pause()
        assert app.is_running and app.ended == why
        # The terminal gone (SIGHUP), its input is no longer read; after SIGTERM it still is.
        assert stopped == ([True] if signum == signal.SIGHUP else [])
        go_on.set()
        await until(pilot, lambda: not app.is_running, "the app to leave")
    ada = open_as("ada")
    assert ada.tenants.show("acme-gmbh").state == TenantState.ACTIVE
    [entry] = [e for e in ada.opslog.list() if e.action == "tenant.provision"]
    assert entry.outcome == "ok"


@story
async def test_ctrl_z_without_a_shell_to_come_back_to_only_says_so(
    open_as: Callable[..., Console], monkeypatch: pytest.MonkeyPatch
) -> None:
    stopped: list[bool] = []
    monkeypatch.setattr(OpsApp, "action_suspend_process", lambda app: stopped.append(True))
    monkeypatch.setattr(jobs, "shell_can_resume", lambda: False)  # sshd's ForceCommand, sudo
    async with console_app(open_as("ada")) as (app, pilot):
        await pilot.press("ctrl+z")
        await until(pilot, lambda: app._notifications, "the warning")
        [toast] = list(app._notifications)
        assert toast.title == "Not suspended" and "q quits" in toast.message
        assert stopped == [] and app.is_running
        monkeypatch.setattr(jobs, "shell_can_resume", lambda: True)  # a job of bash
        await pilot.press("ctrl+z")
        await pilot.pause()
        assert stopped == [True]


def test_a_job_of_no_terminal_cannot_be_brought_back() -> None:
    assert jobs.shell_can_resume() is False  # pytest's stdin is no terminal in the foreground
