"""ctrl+z and fg through a real terminal: the TUI started from an interactive bash in a tmux
pane stops at ctrl+z (the shell says so and takes the terminal back), and ``fg`` brings it
back drawn whole and answering keys. Tests wait on what the screen shows, never on time.
(Over SSH, where no shell could bring it back, ctrl+z only says so: tests/tui/test_hangup.py.)"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from tmux_term import start_pane

from aptien_ops.sandbox import write_sandbox_config

from cli_runner import run_cli

PROGRAM = Path(sys.executable).with_name("aptien-ops")
DASHBOARD = "Tenants by region and state"
#: The shell's prompt on the last line, after the line of ``fg`` (the prompts above it were
#: there before the console ended).
PROMPT_LAST = re.compile(r"shell\$ fg\n(?:.*\n)+shell\$ *\n*\Z")


def test_ctrl_z_stops_the_console_and_fg_brings_it_back_usable(tmp_path: Path) -> None:
    config, _ = write_sandbox_config(tmp_path / "sbx")
    assert run_cli("sandbox", "init", "--path", config.parent).code == 0
    env = {
        "PATH": f"{PROGRAM.parent}:/usr/bin:/bin",
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        "HOME": str(tmp_path),
        "PS1": "shell$ ",
    }
    pane = start_pane(tmp_path, ["bash", "--norc", "--noprofile", "-i"], (80, 24), env)
    try:
        pane.wait_for("shell$")
        pane.type(f"aptien-ops --config {config} tui")
        pane.keys("Enter")
        pane.wait_for(DASHBOARD)
        pane.keys("C-z")
        stopped = pane.wait_for("Stopped", "the shell to report the console stopped")
        assert DASHBOARD not in stopped  # the shell has the terminal back
        pane.type("fg")
        pane.keys("Enter")
        pane.wait_for(DASHBOARD, "the console drawn again after fg")
        pane.keys("?")
        pane.wait_for("Keys", "the help screen: keys still work after fg")
        pane.keys("Escape")
        pane.wait_for(DASHBOARD)
        pane.keys("q")
        # The shell prompts again only once the console has ended (a console left waiting on
        # a thread at exit would keep the terminal for ever); then it says how it ended.
        left = pane.wait_for(PROMPT_LAST, "the console to end after q and the shell to prompt")
        assert "exit held" not in left  # no thread was left for the exit's watchdog to cut
        pane.type("echo console-ended-$?")
        pane.keys("Enter")
        pane.wait_for("console-ended-0")
    finally:
        pane.close()
