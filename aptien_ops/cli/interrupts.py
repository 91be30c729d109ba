"""Ctrl-C in any phase of a command: exit 130 with the one line ``aptien-ops: interrupted``.

Python raises ``KeyboardInterrupt`` wherever the main thread happens to be when SIGINT comes.
Inside a finaliser, a weakref callback or a ``__del__`` (a connection attempt runs plenty of
them) it cannot propagate: Python prints "Exception ignored in ..." and carries on, and the
command would go on waiting in its connection as if Ctrl-C had not been pressed. So the
handler installed here notes each interrupt before raising it; one that a finaliser swallowed
is raised again in the main thread as soon as the finaliser has returned, and worker threads
ask :func:`interrupted` at their safe points (``fleet migrate`` before each tenant).

Standard library only: :func:`install` runs before anything heavy is imported.
"""

from __future__ import annotations

import _thread
import signal
import sys
import threading
from types import FrameType

_noted = threading.Event()
_delivered = threading.Event()
_previous_hook = sys.unraisablehook


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


def interrupted() -> bool:
    """Whether the operator pressed Ctrl-C (in this process, since :func:`install`)."""
    return _noted.is_set()


def stopped() -> int:
    """Say that the command stopped on Ctrl-C and return its exit status, 130. From here on
    the process only closes what it opened: a further Ctrl-C ends it at once (the shell
    reports 130) instead of raising again in whatever clean-up it lands in."""
    if _noted.is_set():  # else not installed: a command run in a test's own process
        _delivered.set()
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_DFL)
    sys.stderr.write("aptien-ops: interrupted\n")
    return INTERRUPTED


#: The exit status of a command stopped by Ctrl-C (128 + SIGINT, as shells report it).
INTERRUPTED = 130


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    _noted.set()
    if not _delivered.is_set():
        raise KeyboardInterrupt


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
