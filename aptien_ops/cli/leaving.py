"""Leaving the process once its command is over: it never outlives its work.

When the command has returned (its outcome said, its session's end recorded, the console
closed), all that is left is the interpreter's own exit: it joins every thread that is not a
daemon (Textual's input thread is not), and runs the ``atexit`` handlers (the thread pools
join their workers). A thread that never ends there would keep the process, and the SSH
session it is, open for ever while the operator sees nothing. So :func:`leave` flushes what
was written, then exits as usual with a watchdog beside it: if the exit is not over within
:data:`EXIT_GRACE_S`, the process ends at once with the same status (``os._exit``) and says
which threads held it.

Standard library only: the entry point imports it before anything heavy.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    import asyncio

#: How long the interpreter's exit may take once the command is over (it takes milliseconds;
#: a loaded machine never needs seconds).
EXIT_GRACE_S = 10.0


def leave(code: int, grace: float = EXIT_GRACE_S) -> NoReturn:
    """Flush stdout and stderr, then exit with ``code``; ended with ``os._exit(code)`` if the
    interpreter's exit is still under way ``grace`` seconds on."""
    flush()
    watchdog = threading.Thread(
        target=_end_held_exit, args=(code, grace), name="aptien-ops-exit", daemon=True
    )
    watchdog.start()
    sys.exit(code)


def flush() -> None:
    """Write out what stdout and stderr still hold (a terminal gone meanwhile: dropped)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass


def _end_held_exit(code: int, grace: float) -> None:
    threading.Event().wait(grace)
    held = sorted(
        t.name
        for t in threading.enumerate()
        if t is not threading.current_thread() and t is not threading.main_thread()
    )
    try:
        os.write(2, f"aptien-ops: exit held by threads: {', '.join(held) or 'none'}\n".encode())
    except OSError:  # the terminal is gone
        pass
    os._exit(code)


#: How long the TUI's event loop may go without answering once a hang-up or SIGTERM asked it
#: to leave (it answers within milliseconds while it waits for the work under way).
STUCK_S = 20.0

#: How long the TUI may take to leave once a hang-up or SIGTERM asked it to, answering or not:
#: the step under way of an action (one dump, one provisioning step) finishes and is recorded
#: well within it; a console past it is waiting for something that will not come.
LEAVE_S = 90.0


class StuckWatch:
    """After SIGHUP or SIGTERM in the TUI: the app finishes the work under way, then leaves;
    this makes sure that it is still on its way and leaves in time. Every second a thread asks
    the app's event loop for a beat; a loop that answers none for ``stuck_s`` (blocked, or
    closed while the app's shutdown hangs) is stuck, and so is an app still in its loop
    ``within_s`` after the signal, answering or not (waiting for what will not come). Then
    ``on_stuck()`` runs (the session's end is recorded) and the process ends with ``code``
    (128 + the signal), through ``end``."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        on_stuck: Callable[[], object],
        code: int,
        *,
        stuck_s: float = STUCK_S,
        within_s: float = LEAVE_S,
        end: Callable[[int], object] = os._exit,
    ) -> None:
        self._loop, self._on_stuck, self._code, self._stuck_s = loop, on_stuck, code, stuck_s
        self._within_s = within_s
        self._end = end
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="aptien-ops-stuck", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """The app has left its loop: the rest of the way out is :func:`leave`'s."""
        self._stopped.set()

    def _watch(self) -> None:
        started = last_beat = time.monotonic()
        beat = threading.Event()
        while not self._stopped.wait(min(1.0, self._stuck_s / 4, self._within_s / 4)):
            now = time.monotonic()
            if beat.is_set():
                last_beat = now
            beat.clear()
            try:
                self._loop.call_soon_threadsafe(beat.set)
            except RuntimeError:  # the loop is closed: no beat will come
                pass
            if now - last_beat > self._stuck_s or now - started > self._within_s:
                break
        else:
            return
        try:
            self._on_stuck()
        finally:
            flush()
            self._end(self._code)
