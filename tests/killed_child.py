"""Run a driver script in a child process, and ``kill -9`` it where it says ``paused``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys


def run_child(argv: list[str], *, paused: bool) -> list[str]:
    """Run ``python argv…`` to its end, or, when ``paused``, until it prints ``paused``, then
    SIGKILL it. Returns the lines it printed; asserts it ended as expected."""
    child = subprocess.Popen(
        [sys.executable, *argv],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    lines: list[str] = []
    try:
        for line in child.stdout:
            lines.append(line.strip())
            if line.strip() == "paused":
                os.kill(child.pid, signal.SIGKILL)
                break
        child.wait(timeout=240)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    if paused:
        assert child.returncode == -signal.SIGKILL, (lines, child.stderr and child.stderr.read())
    else:
        assert child.returncode == 0, child.stderr and child.stderr.read()
    return lines
