"""The backup run that ``bench/tui_switch.py`` keeps going in the app's process for its tours
"during a run": the console's and the floor's alike.

A run backs up ``RUN_TENANTS`` sandbox tenants (real databases and activity, ``sandbox seed``)
over and over in a thread of the process, as the Backups screen's ``d``/``b`` runs it in its
worker: each backup is an attempt of its own in the ops log and an insert into the index, its
dump compressed and encrypted by the console's own pipeline. The same loop runs beside the
bare Textual app (the floor) on a console of its own, so that both carry the same load on the
interpreter lock and the cores; beside the console's app it runs on the app's own console and
hands the run's progress to the Backups screen as the screen's worker does (a
``BackupProgress`` message per callback), so what the console does with it is counted too.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import log

#: Rounds of the tour during a backup run, and the tenants that run backs up.
RUN_ROUNDS = 2
RUN_TENANTS = 6

Progress = Callable[[int, int, str], None]


def seed_run_tenants(config: Path) -> list[str]:
    """``RUN_TENANTS`` sandbox tenants with databases and activity (what a run backs up)."""
    from aptien_ops.composition import open_console
    from aptien_ops.services.sandbox_seed import SeedRequest

    console = open_console(config)
    try:
        seeded = console.seeding.seed(SeedRequest(tenants=RUN_TENANTS, events=5_000, seed=7))
        return [s.tenant for s in seeded]
    finally:
        console.close()


def to_backups_screen(app: Any, mode: str = "backups") -> Progress:
    """The run's progress callback as the Backups screen's worker has it (``_report``: a
    ``BackupProgress`` message to the screen), for the screen of ``mode`` while it exists."""

    def report(done: int, total: int, item: str) -> None:
        for screen in app._screen_stacks.get(mode, ()):
            if hasattr(screen, "_report"):
                screen._report(done, total, item)

    return report


class BackupLoop:
    """A backup run of ``names`` going on in a thread of this process, over and over, on
    ``console`` (the app's own, or one of the floor's), its progress handed to ``progress``.

    Counts the runs and the progress callbacks, and the process's CPU time while it ran (the
    run's threads, the UI thread and the workers together; the UI thread's own CPU is in the
    tour's rows)."""

    def __init__(self, console: Any, names: list[str], progress: Progress | None = None) -> None:
        self.console, self.names = console, names
        self.progress = progress
        self.stop = threading.Event()
        self.runs = self.calls = 0
        self.wall = self.cpu = 0.0
        self.thread = threading.Thread(target=self._loop, name="backup run", daemon=True)

    def _report(self, done: int, total: int, item: str) -> None:
        self.calls += 1
        if self.progress is not None:
            self.progress(done, total, item)

    def _loop(self) -> None:
        while not self.stop.is_set():
            self.console.backups.run(self.names, progress=self._report)
            self.runs += 1

    def __enter__(self) -> BackupLoop:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join()
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu
        log(
            f"{self.runs} backup runs of {len(self.names)} tenants in {self.wall:.0f} s,"
            f" {self.calls} progress callbacks ({self.calls / self.wall:.0f}/s),"
            f" process CPU {self.cpu / self.wall:.2f} s per s"
        )

    def figures(self) -> dict[str, float]:
        """What the run did while a tour went on (for the report)."""
        return {
            "runs": self.runs,
            "backups": self.runs * len(self.names),
            "seconds": round(self.wall, 1),
            "progress_per_s": round(self.calls / max(self.wall, 1e-9), 1),
            "process_cpu_per_s": round(self.cpu / max(self.wall, 1e-9), 2),
        }
