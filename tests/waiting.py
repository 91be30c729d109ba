"""Waiting for what another process or thread does when it sends the test no event (a file
growing, a session showing up in pg_stat_activity): poll until it holds.

There is no time limit to tune to a machine's speed: only a hang guard far beyond what any
starved machine needs, still under the suite's pytest timeout (300 s), so that a test that
would hang fails by name instead. Reaching it fails the test, never lets it go on as if the
thing had happened (and misreport later)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

#: Far beyond any machine's need, under the suite's per-test timeout.
HANG_GUARD_S = 240.0
_POLL_S = 0.01


def until(
    condition: Callable[[], T], what: str, *, meanwhile: Callable[[], None] | None = None
) -> T:
    """Poll ``condition`` until it returns something true, and return that.

    ``meanwhile`` runs before each poll (e.g. asserting that a child process is still
    running). Raises AssertionError naming ``what`` if the hang guard is reached."""
    guard = time.monotonic() + HANG_GUARD_S
    while True:
        if meanwhile is not None:
            meanwhile()
        if found := condition():
            return found
        assert time.monotonic() < guard, f"{what}: not so after {HANG_GUARD_S:g} s"
        time.sleep(_POLL_S)
