"""The console's terminal driver: Textual's Linux driver, made safe for a terminal that goes
away and for a console stopped and brought back.

- **A terminal that is gone never blocks the console.** Textual writes the screen through a
  thread that takes what to write from a queue of 30; when the SSH connection drops, sudo's
  pty is closed and every write fails (EIO). Textual's writer thread dies on the first such
  error, the queue fills, and the next write of the app (its event loop, or its shutdown
  turning the mouse off) waits for ever: the console never leaves and its session never
  ends. Here a failed write marks the terminal gone and everything after it is dropped, so
  the app goes on to leave as it would have.
- **One input thread at a time.** Application mode can be started again while it runs (a
  ``SIGCONT`` that arrives while the console is not stopped, or one that arrives while the
  resume after ``fg`` is itself stopped by ``SIGTTOU``); Textual then starts a second input
  thread beside the first and, when the app quits, stops only the newest: the other reads the
  terminal for ever, and the process never ends (its threads are joined at exit). Here a new
  input thread first stops the one before it. (The writer thread before is left as Textual
  leaves it, a daemon thread: stopping it from the signal handler that restarts application
  mode could wait for ever on its queue, which the interrupted main thread may hold.)
"""

from __future__ import annotations

import threading
from typing import IO

from textual.drivers.linux_driver import LinuxDriver


class TerminalOutput:
    """The file Textual's writer thread writes to: the terminal's, until a write or a flush
    fails (the terminal is gone); from then on everything is dropped."""

    def __init__(self, file: IO[str]) -> None:
        self._file = file
        self.gone = False

    def write(self, text: str) -> int:
        if not self.gone:
            try:
                self._file.write(text)
            except (OSError, ValueError):  # EIO: the pty was closed; ValueError: file closed
                self.gone = True
        return len(text)

    def flush(self) -> None:
        if not self.gone:
            try:
                self._file.flush()
            except (OSError, ValueError):
                self.gone = True

    def fileno(self) -> int:
        return self._file.fileno()

    def isatty(self) -> bool:
        return True


class ConsoleDriver(LinuxDriver):
    """Textual's Linux driver with :class:`TerminalOutput` and one input thread at a time."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if self._file is not None:  # sys.__stderr__ (None only without any stderr at all)
            self._file = TerminalOutput(self._file)  # type: ignore[assignment]

    # Textual assigns the thread it is about to start; this stops the one it replaces first
    # (the thread before needs nothing of the main thread to end: no lock, no loop).
    @property
    def _key_thread(self) -> threading.Thread | None:
        thread: threading.Thread | None = self.__dict__.get("_input_thread")
        return thread

    @_key_thread.setter
    def _key_thread(self, thread: threading.Thread | None) -> None:
        before: threading.Thread | None = self.__dict__.get("_input_thread")
        if before is not None and before is not thread and before.is_alive():
            # The thread before leaves its loop at the event (within its 0.1 s select).
            self.exit_event.set()
            before.join()
            self.exit_event.clear()
        self.__dict__["_input_thread"] = thread
