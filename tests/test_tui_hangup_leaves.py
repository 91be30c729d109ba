"""The SSH connection lost (SIGHUP) or SIGTERM while the TUI waits on something that will not
come now: a read held by a catalog that answers only once the console has left, or a dialog
whose answer a worker awaits. The console leaves at once with 128 + the signal (it waits only
for workers that change something), well before the stuck watch's bound; its session's end is
recorded with why, and nothing is left on or in progress.

Before, leaving waited for every worker: one that never completes kept the console (and its
SSH session) for ever, its event loop answering, so the stuck watch never fired; and a read
cancelled by a newer one made the wait fail, which Textual's crash report then failed to
render, so the console never left either.

The real program in a tmux pane (tests/tmux_term.py), on a sandbox; a patch holds the read or
opens the awaited dialog, and says so in a file the test reads: no sleeping.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import pytest
from site_processes import status_after_signal
from tmux_term import start_pane
from waiting import until

from aptien_ops.cli.leaving import LEAVE_S
from aptien_ops.sandbox import write_sandbox_config

from cli_runner import run_cli

#: How long the console may take to leave (a second or two; far under the watch's LEAVE_S).
EXIT_WITHIN_S = 45.0

#: The program, with the wait named second set up; it writes "waiting" to the file named first
#: once the console waits on it.
WAITING = """\
import runpy, sys, threading
from pathlib import Path
from aptien_ops.screens.app import OpsApp
from aptien_ops.screens.dashboard import DashboardScreen
from aptien_ops.screens.modals import ConfirmModal

told = Path(sys.argv.pop(1))
wait = sys.argv.pop(1)
left = threading.Event()
exit_app = OpsApp.exit

def leaving_exit(self, *args, **kwargs):
    left.set()
    return exit_app(self, *args, **kwargs)

OpsApp.exit = leaving_exit

if wait == "read":  # the catalog answers the dashboard's read only once the console has left
    read = DashboardScreen._read_fleet
    first = threading.Lock()

    def held_read(self):
        if self.ops.roles is not None and first.acquire(blocking=False):
            told.write_text("waiting")
            left.wait()
        return read(self)

    DashboardScreen._read_fleet = held_read
else:  # a worker awaits the answer of a dialog
    mount = OpsApp.on_mount

    def on_mount(self):
        mount(self)

        async def ask():
            told.write_text("waiting")
            await self.push_screen(
                ConfirmModal("Held open by a worker?", title="Awaited"), wait_for_dismiss=True
            )

        self.run_worker(ask(), group="asking")

    OpsApp.on_mount = on_mount
sys.argv = ["aptien-ops", *sys.argv[1:]]
runpy.run_module("aptien_ops", run_name="__main__", alter_sys=True)
"""


@pytest.mark.parametrize("wait", ["read", "dialog"])
@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGTERM], ids=["sighup", "sigterm"])
def test_a_hang_up_while_the_console_waits_on_what_will_not_come_leaves_at_once(
    tmp_path: Path, signum: int, wait: str
) -> None:
    assert EXIT_WITHIN_S < LEAVE_S
    config, _ = write_sandbox_config(tmp_path / "sbx")
    assert run_cli("sandbox", "init", "--path", config.parent).code == 0
    told = tmp_path / "told.txt"
    argv = [sys.executable, "-c", WAITING, str(told), wait, "--config", str(config), "tui"]
    env = {"PATH": "/usr/bin:/bin", "TERM": "xterm-256color", "LANG": "C.UTF-8"}
    pane = start_pane(tmp_path, argv, (80, 24), env)
    try:
        pane.wait_for("admin)", "the catalog connected (the operator's roles read)")
        until(lambda: told.exists() and told.read_text() == "waiting", "the console to wait")
        if wait == "dialog":
            pane.wait_for("Held open by a worker?")
        [started] = until(lambda: _entries(config, "session.start"), "the session's start")
        pid = int(pane.info("pane_pid"))
        os.kill(pid, signum)  # the program itself: no shell between
        status = status_after_signal(
            pane, pid, EXIT_WITHIN_S, "the console did not leave after the signal"
        )
    finally:
        pane.close()
    assert status == 128 + signum
    [end] = _entries(config, "session.end")
    assert end["session_id"] == started["session_id"]
    reason = "the connection was lost" if signum == signal.SIGHUP else "the console was stopped"
    assert reason in json.loads(str(end["params"]))["reason"]
    on = run_cli("--json", "operator", "sessions", config=config)
    assert on.code == 0 and on.json() == [], "no session left on (or stale)"


def _entries(config: Path, action: str) -> list[dict[str, object]]:
    listed = run_cli("--json", "ops-log", "list", "--grep", action, config=config)
    assert listed.code == 0, listed.stderr
    return [e for e in listed.json() if e["action"] == action]
