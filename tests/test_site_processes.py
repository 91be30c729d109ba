"""tests/site_processes.py: a wait on an SSH session that times out says what still runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from site_processes import explained


def test_a_timed_out_wait_lists_the_sites_processes_and_other_failures_pass_unchanged(
    tmp_path: Path,
) -> None:
    # A process of "the site": its temporary root is in its command line.
    held = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)", str(tmp_path)],
        stdin=subprocess.DEVNULL,
    )
    try:
        with pytest.raises(AssertionError) as timed_out, explained(tmp_path, ()):
            raise AssertionError("the session to end: not so after 240 s")
        report = str(timed_out.value)
        assert report.startswith("the session to end: not so after 240 s\n")
        listed = [line.split()[0] for line in report.splitlines() if str(tmp_path) in line]
        assert listed == [str(held.pid)], report
        assert f"--- console {held.pid}" not in report  # not a console: no stacks asked
        with pytest.raises(AssertionError) as other, explained(tmp_path, ()):
            raise AssertionError("the screen shows 'x'")
        assert str(other.value) == "the screen shows 'x'"
    finally:
        held.kill()
        held.wait()
