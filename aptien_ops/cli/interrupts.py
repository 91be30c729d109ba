"""Ctrl-C in any phase of a command: exit 130 with the one line ``aptien-ops: interrupted``;
the same for SIGHUP (the SSH connection dropped: exit 129) and SIGTERM (exit 143).

Python raises ``KeyboardInterrupt`` wherever the main thread happens to be when SIGINT comes.
Inside a finaliser, a weakref callback or a ``__del__`` (a connection attempt runs plenty of
them) it cannot propagate: Python prints "Exception ignored in ..." and carries on, and the
command would go on waiting in its connection as if Ctrl-C had not been pressed. So the
handler installed here notes each interrupt before raising it; one that a finaliser swallowed
is raised again in the main thread as soon as the finaliser has returned, and worker threads
ask :func:`interrupted` at their safe points (``fleet migrate`` before each tenant).

SIGHUP and SIGTERM take the same path as Ctrl-C: the action stops where it is, its catalog
transaction rolls back, what it finished stays recorded (the audited path records the attempt
as ``failed:interrupted``, provisioning gives up its lease), and rerunning converges. A
second HUP or TERM while that clean-up runs is only noted, so it cannot cut the clean-up
short; SIGINT keeps its own rules. In the TUI, :func:`divert` hands them to the app instead.
After a hang-up the terminal is gone: the one line is tried and writing errors are dropped.

Standard library only: :func:`install` runs before anything heavy is imported.
"""

from __future__ import annotations

import _thread
import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType

_noted = threading.Event()
_delivered = threading.Event()
_previous_hook = sys.unraisablehook
_ended_by: list[int] = []
"""The first signal that ended the command (SIGINT, SIGHUP or SIGTERM)."""
_diverted: list[Callable[[int], None]] = []

#: The signals that end a command as Ctrl-C does: the SSH connection lost, a polite kill.
ENDING = (signal.SIGHUP, signal.SIGTERM)


def install() -> None:
    """Make Ctrl-C note itself before it raises (the process's entry point only: never in a
    test's own process). A SIGINT that whoever started the process ignores (a background job
    of a shell without job control) stays ignored."""
    global _previous_hook
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return
    _previous_hook = sys.unraisablehook
    sys.unraisablehook = _unraisable
    signal.signal(signal.SIGINT, _on_sigint)
    for ending in ENDING:
        if signal.getsignal(ending) is signal.SIG_DFL:  # nohup's ignored SIGHUP stays ignored
            signal.signal(ending, _on_ending)


def divert(handler: Callable[[int], None] | None) -> None:
    """While the TUI runs: SIGHUP and SIGTERM call ``handler(signum)`` (in the main thread,
    between two steps of the event loop) instead of raising; None restores raising."""
    _diverted.clear()
    if handler is not None:
        _diverted.append(handler)


def interrupted() -> bool:
    """Whether the operator pressed Ctrl-C, or the process got SIGHUP or SIGTERM (in this
    process, since :func:`install`)."""
    return _noted.is_set()


def said_stopped() -> bool:
    """Whether :func:`stopped` has told the operator the command stopped: nothing after that
    line may print (progress of the work still closing would bury it)."""
    return _delivered.is_set()


def ended_by() -> int:
    """The signal that ended the command (SIGINT when none was noted: a test's own process)."""
    return _ended_by[0] if _ended_by else signal.SIGINT


def stopped() -> int:
    """Say that the command stopped on Ctrl-C (or a hang-up, or SIGTERM) and return its exit
    status, 128 + the signal's number. From here on the process only closes what it opened: a
    further Ctrl-C ends it at once (the shell reports 130) instead of raising again in
    whatever clean-up it lands in."""
    if _noted.is_set():  # else not installed: a command run in a test's own process
        _delivered.set()
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_DFL)
    signum = ended_by()
    said = _SAID.get(signum, "interrupted")
    try:
        sys.stderr.write(f"aptien-ops: {said}\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # the terminal went with the connection
        _silence()
    return 128 + signum


_SAID: dict[int, str] = {signal.SIGHUP: "hung up", signal.SIGTERM: "terminated"}

#: The exit status of a command stopped by Ctrl-C (128 + SIGINT, as shells report it).
INTERRUPTED = 130


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    _note(signum)
    if not _delivered.is_set():
        raise KeyboardInterrupt


def _on_ending(signum: int, frame: FrameType | None) -> None:
    first = not _noted.is_set()
    _note(signum)
    if _diverted:
        _diverted[0](signum)
        return
    if first and not _delivered.is_set():
        raise KeyboardInterrupt


def _note(signum: int) -> None:
    if not _ended_by:
        _ended_by.append(signum)
    _noted.set()


def _silence() -> None:
    """Point stdout and stderr at /dev/null: what is left to write has nowhere to go, and a
    failed write at exit would only add noise."""
    null = os.open(os.devnull, os.O_WRONLY)
    for fd in (1, 2):
        os.dup2(null, fd)
    os.close(null)


def _unraisable(unraisable: sys.UnraisableHookArgs) -> None:
    if not _noted.is_set():
        _previous_hook(unraisable)
        return
    # After Ctrl-C, what the finalisers of half-done work complain about is noise: the one
    # line the operator gets is "interrupted".
    if isinstance(unraisable.exc_value, KeyboardInterrupt) and not _delivered.is_set():
        # A finaliser swallowed it: interrupt the main thread again from another thread, so
        # that the handler runs once the finaliser has returned, not in this hook.
        _thread.start_new_thread(_redeliver, ())


def _redeliver() -> None:
    if not _delivered.is_set():
        _thread.interrupt_main()  # a no-op once SIGINT is back to its default
