"""Progress for long work, on stderr and never with --json.

On a terminal a line is rewritten in place (``\\r``) as the work advances. Anywhere else (a log
file, a pipe, cron's mail, ``TERM=dumb``) nothing is ever rewritten: each step is one plain
line, written once, when it is done.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

from aptien_ops.cli import interrupts
from aptien_ops.terminal_text import shown


def live(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal that can rewrite a line in place."""
    return stream.isatty() and os.environ.get("TERM", "") != "dumb"


class StepPrinter:
    """Prints each provisioning step as it completes (stderr; silent with --json).

    On a terminal a step shows ``...`` while it runs and its line is rewritten once it is done;
    elsewhere each step is one plain line, written when it is done.
    """

    def __init__(
        self, enabled: bool, *, heading: str | None = None, stream: TextIO | None = None
    ) -> None:
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.live = enabled and live(self.stream)
        self._started = 0.0
        #: Printed before the first step: by then the work's input has been checked, so the
        #: heading can name it (the command line echoes nothing it has not validated).
        self._heading = heading

    def __call__(self, step: str, status: str) -> None:
        if not self.enabled:
            return
        if self._heading is not None:
            self.stream.write(shown(self._heading) + "\n")
            self._heading = None
        if status == "start":
            self._started = time.perf_counter()
            if self.live:
                self.stream.write(f"  {step:<17} ...")
                self.stream.flush()
        elif status == "done":
            took = (time.perf_counter() - self._started) * 1000
            rewrite = "\r" if self.live else ""
            self.stream.write(f"{rewrite}  {step:<17} done ({took:.0f} ms)\n")
        elif status == "skip":
            self.stream.write(f"  {step:<17} done earlier\n")


class Bar:
    """Progress through ``total`` items: a bar redrawn in place on a terminal; elsewhere one
    plain line per tenth of the work (``label 30/300 item``), so a log of 10,000 tenants gets
    eleven lines, not 10,000. The work's end is shown once, however often it is reported (a
    backup reports its last bytes, then that it is finished)."""

    WIDTH = 30

    def __init__(self, label: str, *, enabled: bool, stream: TextIO | None = None) -> None:
        self.label = label
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.live = enabled and live(self.stream)
        self._next_line = 0
        self._ended = False

    def __call__(self, done: int, total: int, item: str = "") -> None:
        if not self.enabled or total <= 0 or self._ended or interrupts.said_stopped():
            return  # after "aptien-ops: hung up", the dump still closing prints nothing
        self._ended = done >= total
        if self.live:
            filled = int(self.WIDTH * done / total)
            bar = "#" * filled + "." * (self.WIDTH - filled)
            self.stream.write(f"\r{self.label} [{bar}] {done}/{total} {shown(item, width=30):<30}")
            if done >= total:
                self.stream.write("\n")
        elif done >= self._next_line or done >= total:
            line = f"{self.label} {done}/{total} {shown(item, width=60)}"
            self.stream.write(line.rstrip() + "\n")
            self._next_line = done + max(1, total // 10)
        self.stream.flush()


class Steps:
    """Progress through named steps whose size is known only once they end (a list read page by
    page, then applied): ``(step, done, None)`` while it runs, ``(step, done, total)`` from the
    moment its size is known. A :class:`Bar` per step; while the total is unknown, a count
    rewritten in place on a terminal, nothing elsewhere (the bar's lines follow)."""

    def __init__(self, *, enabled: bool, stream: TextIO | None = None) -> None:
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.live = enabled and live(self.stream)
        self._bars: dict[str, Bar] = {}

    def __call__(self, step: str, done: int, total: int | None) -> None:
        if not self.enabled:
            return
        if total is None:
            if self.live:
                self.stream.write(f"\r{step} {done} …")
                self.stream.flush()
            return
        bar = self._bars.setdefault(step, Bar(step, enabled=True, stream=self.stream))
        bar(done, total)
