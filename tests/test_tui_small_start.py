"""The console's one minimum, 60×20, through a real terminal: started in a 20×10 tmux pane it
is not refused but asks for room in one line, comes up once the window is big enough, asks
again when it shrinks under 60×20, and ``q`` leaves with exit 0. (Over SSH: tests/test_ssh_tui.py;
every size with Pilot: tests/tui/test_small_terminals.py.)"""

from __future__ import annotations

import sys
from pathlib import Path

from tmux_term import start_pane

from aptien_ops.sandbox import write_sandbox_config

from cli_runner import run_cli

PROGRAM = Path(sys.executable).with_name("aptien-ops")
DASHBOARD = "Tenants by region and state"


def test_a_console_started_in_20x10_asks_for_room_then_comes_up_at_60x20(tmp_path: Path) -> None:
    config, _ = write_sandbox_config(tmp_path / "sbx")
    assert run_cli("sandbox", "init", "--path", config.parent).code == 0
    env = {"PATH": "/usr/bin:/bin", "TERM": "xterm-256color", "LANG": "C.UTF-8"}
    argv = [str(PROGRAM), "--config", str(config), "tui"]
    pane = start_pane(tmp_path, argv, (20, 10), env)
    try:
        asked = " ".join(pane.wait_for("60×20", "the line asking for room").split())
        assert "Terminal 20×10: make it 60×20 or more (q quits)" in asked, asked
        pane.resize(60, 20)
        pane.wait_for(DASHBOARD, "the console once the window is 60×20")
        pane.resize(59, 20)
        shrunk = " ".join(pane.wait_for("59×20", "the line again under 60 columns").split())
        assert DASHBOARD not in shrunk
        pane.keys("q")
        assert pane.exit_status() == 0, pane.screen()
    finally:
        pane.close()
