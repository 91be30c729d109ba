"""Starting the TUI from the command line (Textual is imported only here, only when needed)."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from typing import TYPE_CHECKING

import click

from aptien_ops.cli import interrupts
from aptien_ops.cli.leaving import StuckWatch
from aptien_ops.cli.output import say
from aptien_ops.cli.state import CliState, pass_state
from aptien_ops.errors import InvalidInput, OpsError

if TYPE_CHECKING:
    from aptien_ops.composition import Console
    from aptien_ops.screens.app import OpsApp


def check_terminal() -> None:
    """Raises: InvalidInput when the terminal cannot show the TUI, pointing to scripted mode.

    A terminal too small for the console (under 60x20, ``screens.size_guard``) is no reason to
    refuse: the console starts and says in one line how big to make it, as when a terminal
    shrinks later, and comes up as soon as the window is big enough."""
    if os.environ.get("TERM", "") in ("", "dumb"):
        raise InvalidInput(
            "this terminal (TERM=dumb) cannot show the console",
            hint="use the scripted mode: aptien-ops --help",
        )
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise InvalidInput(
            "the console needs a terminal on stdin and stdout",
            hint="use the scripted mode: aptien-ops --help",
        )


def run_tui(state: CliState) -> None:
    """Run the TUI until the operator quits.

    The first frame is drawn without reading the catalog (the dashboard's cards say
    "loading…"); the app connects the catalog in a worker right after that frame and fills them.

    Raises: InvalidInput (no usable terminal), and as ``CliState.console`` (before the app
    starts, or once it has left when the catalog could not be connected after the first frame).
    """
    check_terminal()
    from aptien_ops.screens.app import OpsApp

    console = state.console(defer_catalog=True)
    app = OpsApp(console, record_session=True)
    end = _SessionEnd(console, app)
    watches: list[StuckWatch] = []

    def signalled(signum: int) -> None:
        # The connection lost (SIGHUP) or SIGTERM: the app lets the actions under way finish
        # (and record their outcome), then leaves; the session's end says why. Should the app
        # stop answering on its way out, the watch records the end and ends the process.
        app.signalled(signum)  # raises KeyboardInterrupt when the app is not running
        if not watches:
            watch = StuckWatch(asyncio.get_running_loop(), end.record, 128 + signum)
            watches.append(watch)
            watch.start()

    interrupts.divert(signalled)
    try:
        app.run()
    finally:
        interrupts.divert(None)
        for watch in watches:
            watch.stop()
        end.record()
    if app.start_error is not None:
        raise app.start_error
    if app.ended is not None and not interrupts.interrupted():  # else no terminal to tell
        say(f"aptien-ops: {app.ended}")


class _SessionEnd:
    """The session's end in the ops log, recorded once: when the app has left, or by the
    stuck watch if it never does."""

    def __init__(self, console: Console, app: OpsApp) -> None:
        self._console, self._app = console, app
        self._lock = threading.Lock()
        self._recorded = False

    def record(self) -> None:
        """If the catalog cannot take it, the operator is told and ``operator sessions`` shows
        the session as stale once this process is gone."""
        app = self._app
        with self._lock:
            if self._recorded or app.session is None:
                return
            self._recorded = True
            reason = "quit" if app.ended is None else f"ended by the console: {app.ended}"[:200]
            try:
                self._console.sessions.end(app.session, reason)
            except OpsError as unrecorded:
                say(f"aptien-ops: the session's end was not recorded: {unrecorded.message}")


@click.command("tui")
@pass_state
def tui(state: CliState) -> None:
    """Open the interactive console (in a terminal of at least 60x20; 80x24 shows every key)."""
    run_tui(state)
