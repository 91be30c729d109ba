"""A terminal driver for tests/test_tui_left_stuck.py (named in TEXTUAL_DRIVER): the console's
own, except that leaving application mode never returns, as a console whose shutdown waits
for ever on something (a terminal gone, a thread) does."""

from __future__ import annotations

import threading

from aptien_ops.screens.terminal_driver import ConsoleDriver


class StuckDriver(ConsoleDriver):
    def stop_application_mode(self) -> None:
        threading.Event().wait()
