"""A console that stops answering on its way out after the connection dropped still ends its
session and leaves: the TUI in a real terminal (tmux) with a driver whose shutdown never
returns is hung up (SIGHUP); the session's end is in the ops log with why, and the process
leaves with 129 (aptien_ops/cli/leaving.py's watch) instead of staying for ever."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

from tmux_term import start_pane
from waiting import until

from aptien_ops.sandbox import write_sandbox_config

from cli_runner import run_cli

PROGRAM = Path(sys.executable).with_name("aptien-ops")
TESTS = Path(__file__).resolve().parent


def test_a_console_stuck_on_its_way_out_after_a_hang_up_records_the_end_and_leaves(
    tmp_path: Path,
) -> None:
    config, _ = write_sandbox_config(tmp_path / "sbx")
    assert run_cli("sandbox", "init", "--path", config.parent).code == 0
    env = {
        "PATH": "/usr/bin:/bin",
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        "HOME": str(tmp_path),
        "PYTHONPATH": str(TESTS),
        "TEXTUAL_DRIVER": "stuck_driver:StuckDriver",
    }
    argv = [str(PROGRAM), "--config", str(config), "tui"]
    pane = start_pane(tmp_path, argv, (80, 24), env)
    try:
        pane.wait_for("Tenants by region and state")
        [started] = until(lambda: _sessions(config, "session.start"), "the session's start")
        os.kill(int(pane.info("pane_pid")), signal.SIGHUP)
        assert pane.exit_status() == 128 + signal.SIGHUP
    finally:
        pane.close()
    [end] = _sessions(config, "session.end")
    assert end["session_id"] == started["session_id"]
    assert "the connection was lost (SIGHUP)" in json.loads(str(end["params"]))["reason"]


def _sessions(config: Path, action: str) -> list[dict[str, object]]:
    listed = run_cli("--json", "ops-log", "list", "--grep", action, config=config)
    assert listed.code == 0, listed.stderr
    return [e for e in listed.json() if e["action"] == action]
