"""Progress for long work: on stderr, only when it is a terminal, never in --json output."""

from __future__ import annotations

import sys
import time

from aptien_ops.terminal_text import shown


class StepPrinter:
    """Prints each provisioning step as it completes (stderr; silent with --json).

    On a terminal a step shows ``...`` while it runs and its line is rewritten once it is done;
    elsewhere (a log file, a pipe) each step is one plain line, written when it is done.
    """

    def __init__(self, enabled: bool, *, heading: str | None = None) -> None:
        self.enabled = enabled
        self.live = enabled and sys.stderr.isatty()
        self._started = 0.0
        #: Printed before the first step: by then the work's input has been checked, so the
        #: heading can name it (the command line echoes nothing it has not validated).
        self._heading = heading

    def __call__(self, step: str, status: str) -> None:
        if not self.enabled:
            return
        if self._heading is not None:
            sys.stderr.write(shown(self._heading) + "\n")
            self._heading = None
        if status == "start":
            self._started = time.perf_counter()
            if self.live:
                sys.stderr.write(f"  {step:<17} ...")
                sys.stderr.flush()
        elif status == "done":
            took = (time.perf_counter() - self._started) * 1000
            rewrite = "\r" if self.live else ""
            sys.stderr.write(f"{rewrite}  {step:<17} done ({took:.0f} ms)\n")
        elif status == "skip":
            sys.stderr.write(f"  {step:<17} done earlier\n")


class Bar:
    """A one-line progress bar on stderr when it is a terminal."""

    def __init__(self, label: str, *, enabled: bool) -> None:
        self.label = label
        self.enabled = enabled and sys.stderr.isatty()

    def __call__(self, done: int, total: int, item: str = "") -> None:
        if not self.enabled or total <= 0:
            return
        width = 30
        filled = int(width * done / total)
        bar = "#" * filled + "." * (width - filled)
        sys.stderr.write(f"\r{self.label} [{bar}] {done}/{total} {shown(item, width=30):<30}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()
