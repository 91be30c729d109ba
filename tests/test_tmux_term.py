"""tests/tmux_term.py: a pane's command that has ended is seen to have ended even when tmux
never reaps it (Debian's tmux loses the SIGCHLD of a command that ends as its terminal
closes, and its pane then never shows as dead)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from tmux_term import Pane
from waiting import until


@dataclass(frozen=True)
class LostChild(Pane):
    """A pane as tmux shows it after losing its command's SIGCHLD: dead (its terminal is
    closed) but with no exit status, its command a zombie nobody reaps (here the zombie
    stands for the server too: it holds no terminal)."""

    command: int = 0

    def tmux(self, *args: str) -> str:
        asked = args[-1]
        if asked == "#{pane_dead}":  # tmux 3.3a: its terminal closed, so "dead", no status
            return "1\n"
        if asked in ("#{pane_pid}", "#{pid}"):
            return f"{self.command}\n"
        return ""  # the screen


def _zombie(code: str) -> subprocess.Popen[bytes]:
    child = subprocess.Popen([sys.executable, "-c", code])
    stat = Path(f"/proc/{child.pid}/stat")
    until(lambda: stat.read_text().rsplit(") ", 1)[1][:1] == "Z", "the command to end")
    return child


def test_an_unreaped_command_gives_its_exit_status(tmp_path: Path) -> None:
    child = _zombie("raise SystemExit(3)")
    try:
        assert LostChild(tmp_path / "tmux.sock", child.pid).exit_status(within=30) == 3
    finally:
        child.wait()


def test_an_unreaped_command_killed_by_a_signal_fails_as_killed(tmp_path: Path) -> None:
    child = _zombie("import os; os.abort()")
    try:
        with pytest.raises(AssertionError, match="was killed: signal 6"):
            LostChild(tmp_path / "tmux.sock", child.pid).exit_status(within=30)
    finally:
        child.wait()
