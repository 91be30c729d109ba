"""Nothing from data reaches the operator's terminal raw through the TUI (SPEC §6).

The console runs in its own process on a real pseudo-terminal (xterm-256color, 80x24), as a
security officer on a sandbox with hostile text in every field a screen shows
(``hostile_data``), and goes through every screen that shows one (``hostile_tour.py``). The
bytes it writes to the terminal are the app's own escape sequences and nothing planted: no
OSC 52 or OSC 0 of the data's, no CSI of its, no C1 character, no bidi override.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from aptien_ops.sandbox import write_sandbox_config

from hostile_data import SIGNATURES, plant

pytestmark = pytest.mark.tui

TOUR = Path(__file__).with_name("hostile_tour.py")
#: The stops of the tour where a planted field is shown whole (elsewhere columns cut it).
WHOLE = {
    "tenants",
    "tenant detail",
    "logins",
    "audit",
    "approvals",
    "partners",
    "partner detail",
    "incident detail",
}
#: Generous for a busy two-core machine; the tour itself takes a few seconds.
DEADLINE_SECONDS = 240


def run_on_a_terminal(argv: list[str], *, columns: int = 80, lines: int = 24) -> tuple[int, bytes]:
    """Run ``argv`` with a pseudo-terminal as its stdin, stdout and stderr; every byte it wrote
    there, once it has closed it (or failing after :data:`DEADLINE_SECONDS`)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TEXTUAL")},
        "TERM": "xterm-256color",
        "COLUMNS": str(columns),
        "LINES": str(lines),
        "PYTHONPATH": os.pathsep.join([str(TOUR.parent), str(TOUR.parent.parent)]),
    }
    child = subprocess.Popen(
        argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
    )
    os.close(slave)
    written = bytearray()
    deadline = time.monotonic() + DEADLINE_SECONDS
    try:
        while (left := deadline - time.monotonic()) > 0:
            if not select.select([master], [], [], left)[0]:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child has closed the terminal
                break
            if not chunk:
                break
            written += chunk
        else:
            pytest.fail(f"the console was still running after {DEADLINE_SECONDS} s")
        return child.wait(timeout=DEADLINE_SECONDS), bytes(written)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        os.close(master)


@pytest.fixture
def hostile_sandbox(tmp_path: Path) -> Path:
    config, _ = write_sandbox_config(tmp_path / "sbx")
    plant(config)
    return config


def test_no_planted_escape_reaches_the_terminal_from_any_screen(
    hostile_sandbox: Path, tmp_path: Path
) -> None:
    report_file = tmp_path / "tour.json"
    code, written = run_on_a_terminal(
        [sys.executable, str(TOUR), str(hostile_sandbox), str(report_file)]
    )
    for signature in SIGNATURES:
        assert signature not in written, f"{signature!r} reached the terminal"
    tail = written[-2000:].decode("utf-8", "replace").encode("ascii", "backslashreplace")
    assert code == 0 and report_file.exists(), f"the tour failed ({code}): {tail!r}"
    report = json.loads(report_file.read_text())
    assert report["done"], report
    # It reached every screen and each showed the planted text, escaped (the scan above had
    # something to find), its markup as the characters typed where a field is shown whole.
    assert report["stops"] == {
        what: {"screen": screen, "escaped": True, "markup as typed": what in WHOLE}
        for what, screen in (
            ("tenants", "TenantsScreen"),
            ("tenant detail", "TenantDetailScreen"),
            ("logins", "TenantDetailScreen"),
            ("audit", "TenantDetailScreen"),
            ("find user", "FindUserScreen"),
            ("approvals", "ApprovalsScreen"),
            ("ops log", "OpsLogScreen"),
            ("operators", "OperatorsScreen"),
            ("partners", "PartnersScreen"),
            ("partner detail", "PartnerDetailScreen"),
            ("incidents", "IncidentsScreen"),
            ("incident detail", "IncidentDetailScreen"),
        )
    }
    assert report["toast"]
    assert b"\\x1b]52;c;" in written  # drawn, as characters
