"""Job tracking: the long jobs running in screens' workers, quitting while one runs, and
leaving when the connection drops (SIGHUP) or the console is told to stop (SIGTERM)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading

from textual.app import App
from textual.geometry import Region
from textual.worker import (
    Worker,
    WorkerCancelled,
    WorkerError,
    WorkerFailed,
    get_current_worker,
)

from aptien_ops.screens.base import OpsScreen
from aptien_ops.screens.formatting import plural
from aptien_ops.screens.modals import ConfirmModal


class JobTracking(App[None]):
    """The app's part that knows the running jobs and asks before quitting (mixed into
    ``OpsApp``, whose ``__init__`` sets ``jobs`` and ``quit_when_done``)."""

    jobs: dict[OpsScreen, str]
    leaving: threading.Event
    quit_when_done: bool
    locked: bool
    ended: str | None

    #: Why the session ended, per signal (the session's end entry in the ops log says it).
    SIGNALLED: dict[int, str] = {
        signal.SIGHUP: "the connection was lost (SIGHUP)",
        signal.SIGTERM: "the console was stopped (SIGTERM)",
    }

    def signalled(self, signum: int) -> None:
        """SIGHUP or SIGTERM, from the signal handler (the main thread, between two steps of
        the event loop): leave once the work under way is done, never halfway through it."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # the app is not running (yet, or any more): stop as Ctrl-C does
            raise KeyboardInterrupt from None
        if self.ended is None:  # said at once: the session's end says why, however it is left
            self.ended = self.SIGNALLED.get(signum, f"signal {signum}")
        first = not self.leaving.is_set()  # a hang-up brings SIGHUP twice: one way out
        # Set here, not a loop step later: a long job ending its step in between would start
        # the next one (its worker gets no interrupt).
        self.leaving.set()
        loop.call_soon_threadsafe(self._hang_up, signum, first)

    def _hang_up(self, signum: int, first: bool) -> None:
        if signum == signal.SIGHUP and self._driver is not None:
            # The terminal is gone: nothing more comes from it. Textual's input thread would
            # read its end of file over and over (a core's worth) while the work finishes.
            self._driver.disable_input()
        if first:
            self.run_worker(self._leave_when_done(), group="hang-up", exit_on_error=False)

    async def _leave_when_done(self) -> None:
        """Leave once the actions under way have ended: a worker thread that changes something
        (``change``, the catalog's connection) finishes or rolls back its step and records its
        outcome in the ops log (a long job stops after its current step, as ``leaving`` tells
        it). Everything else is cancelled at once: reads, whose result no one will see, and
        every async worker, which may be waiting for what never comes now (a dialog's answer,
        a screen's mount, a timer). Leaves whatever those waits end in: a read cancelled by a
        newer one made this wait fail, and the console stayed for ever."""
        me = get_current_worker()
        acting = []
        for worker in list(self.workers):
            if worker is me or worker.is_finished:
                continue
            if runs_an_action(worker):
                acting.append(worker)
            else:
                worker.cancel()
        try:
            await asyncio.gather(*(_ended(w) for w in acting))
        finally:
            self.exit()

    def job_started(self, screen: OpsScreen, doing: str) -> None:
        self.jobs[screen] = doing

    def job_ended(self, screen: OpsScreen) -> None:
        """A screen's job is over (done, refused or failed): quit if the operator asked to."""
        self.jobs.pop(screen, None)
        if self.quit_when_done and not self.jobs:
            self.exit()

    def action_suspend(self) -> None:
        """ctrl+z: back to the shell that started the console, ``fg`` brings it back. Only
        when a shell with job control can: over SSH the console *is* the session (sshd's
        ForceCommand, sudo), and a stopped console would leave it hanging until killed."""
        if not shell_can_resume():
            self.notify(
                "ctrl+z: no shell started the console that could bring it back with fg"
                " (over SSH the console is the session itself); q quits",
                title="Not suspended",
                severity="warning",
                timeout=8,
            )
            return
        self.action_suspend_process()

    def redraw_after_resume(self, _app: App[None]) -> None:
        """After ``fg``: the terminal was the shell's meanwhile, so draw every cell again (the
        console's own idea of the screen has not changed, and would redraw nothing)."""
        self.screen.refresh(Region(0, 0, *self.size), layout=True)

    async def action_quit(self) -> None:
        """Quit; while a long job (a backup run, a verification, a restore, a migration) is
        going, ask first. Its worker thread
        cannot be stopped halfway (each backup is written whole or not at all), so the
        console offers to quit once it is done, showing its progress until then."""
        if not self.jobs:
            self.exit()
            return
        # Locked, the question names no tenant (the lock screen hides them all).
        doing = plural(len(self.jobs), "job") if self.locked else "; ".join(self.jobs.values())

        def decided(yes: bool | None) -> None:
            if yes:
                self.quit_when_done = True
                self.notify(
                    f"quitting once this is done: {doing}", title="Quit when done", timeout=30
                )

        question = (
            f"Still going: {doing}.\nIt cannot be stopped halfway safely. Quit once it is"
            " done? Its progress stays on its screen until then."
        )
        self.push_screen(
            ConfirmModal(question, yes="Quit when done", title="A job is running"), decided
        )


#: Worker groups that only read (screens/service_calls.py and the app's roles): nothing is left
#: half-done when they are dropped.
READ_GROUPS = frozenset({"load", "plan", "prepare", "roles"})


def runs_an_action(worker: Worker[object]) -> bool:
    """Whether leaving must wait for ``worker``: a thread (it cannot be stopped, and does the
    services' I/O) that does more than read. Async workers only wait on the UI."""
    return worker._thread_worker and worker.group not in READ_GROUPS


async def _ended(worker: Worker[object]) -> None:
    """Once ``worker`` has ended, however it ended (done, failed or cancelled)."""
    try:
        await worker.wait()
    except (WorkerCancelled, WorkerFailed, WorkerError):
        pass


def shell_can_resume() -> bool:
    """Whether the console runs as a job of a shell with job control: in a process group of
    its own, other than its session's (the shell's), and in the terminal's foreground."""
    stdin = sys.__stdin__
    if stdin is None:
        return False
    try:
        group = os.getpgrp()
        return group != os.getsid(0) and os.tcgetpgrp(stdin.fileno()) == group
    except (OSError, ValueError):  # no terminal, or stdin closed
        return False
