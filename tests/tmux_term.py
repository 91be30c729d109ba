"""A real terminal for a program, as an operator's: a tmux pane of a given size, driven by keys
and read back as the screen shows it.

Each :class:`Pane` has a tmux server of its own (its own socket, no config file), so that
nothing of the user's tmux leaks in and the pane's command inherits exactly the environment
given. The pane stays after its command ends (``remain-on-exit``), so that its exit status can
be read. Tests wait on what the screen shows (tests/waiting.py), never on the clock.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ci_skips import missing_tool
from waiting import until


class StillRunning(AssertionError):
    """The pane's command had not ended in the time given."""


@dataclass(frozen=True)
class Pane:
    socket: Path

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-S", str(self.socket), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return done.stdout

    def keys(self, *keys: str) -> None:
        """tmux key names (``Enter``, ``Escape``, ``/``)."""
        self.tmux("send-keys", "-t", "main", *keys)

    def type(self, text: str) -> None:
        """``text`` as the terminal's input, byte for byte (escape sequences too)."""
        self.tmux("send-keys", "-t", "main", "-l", text)

    def screen(self, *, escapes: bool = False, history: bool = False) -> str:
        """What the pane shows now (with its colour and attribute escapes, and the lines
        scrolled off its top, if asked)."""
        more = [*(["-e"] if escapes else []), *(["-S", "-"] if history else [])]
        return self.tmux("capture-pane", "-p", "-t", "main", *more)

    def wait_for(self, text: str | re.Pattern[str], what: str | None = None) -> str:
        """The screen, once it shows ``text`` (or matches it); the last screen is in the
        failure."""
        last: list[str] = [""]

        def shows() -> bool:
            last[0] = self.screen()
            return bool(text.search(last[0])) if isinstance(text, re.Pattern) else text in last[0]

        try:
            until(shows, what or f"the screen shows {text!r}")
        except AssertionError as failed:
            raise AssertionError(f"{failed}\n--- screen ---\n{last[0]}") from None
        return last[0]

    def info(self, field: str) -> str:
        return self.tmux("display-message", "-p", "-t", "main", f"#{{{field}}}").strip()

    def exit_status(self, *, within: float | None = None) -> int:
        """The command's exit status, once it has ended (a command killed by a signal fails
        the test). With ``within``, :class:`StillRunning` after that many seconds instead of
        the suite's hang guard."""

        def ended() -> str:
            dead, code, signal = self.info("pane_dead"), "", ""
            if dead == "1":  # tmux has closed the pane's terminal; its status may still lack
                code, signal = self.info("pane_dead_status"), self.info("pane_dead_signal")
            if not (code or signal):
                code, signal = self._status_if_unreaped()
            return code or (f"signal {signal}" if signal else "")

        if within is not None:
            deadline = time.monotonic() + within
            while not (found := ended()):
                if time.monotonic() > deadline:
                    raise StillRunning(
                        f"still running {within:g} s on; the screen:\n{self.screen()}"
                    )
                time.sleep(0.05)
        else:
            try:
                found = until(ended, "the pane's command ended")
            except AssertionError as failed:
                raise AssertionError(f"{failed}\n--- screen ---\n{self.screen()}") from None
        assert not found.startswith("signal"), f"the pane's command was killed: {found}"
        return int(found)

    def _status_if_unreaped(self) -> tuple[str, str]:
        """The exit status (or the signal) of the pane's command if it has ended but tmux has
        not reaped it: Debian's tmux is built with libutempter, which swaps in a SIGCHLD
        handler of its own while it removes the pane's login record, right when the pane's
        terminal closes, so a command that ends in that moment may never be reaped (tmux/tmux
        issues 311 and 4559). Its pane then shows as dead (tmux 3.3a: its terminal is closed)
        but with no status, for ever: seen here under load, the ``ssh`` client ``<defunct>``
        under the tmux server for minutes, nothing else of its session running. The kernel
        keeps a zombie's status in ``/proc/<pid>/stat``."""
        try:
            pid = self.info("pane_pid")
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
        except (OSError, IndexError, subprocess.CalledProcessError):  # reaped meanwhile
            return "", ""
        if fields[0] != "Z" or len(fields) < 50 or self._reading_the_terminal():
            return "", ""  # running, or ended with output tmux has still to read and show
        status = int(fields[49])  # field 52, exit_code: the status as waitpid reports it
        if os.WIFSIGNALED(status):
            return "", str(os.WTERMSIG(status))
        return str(os.WEXITSTATUS(status)), ""

    def _reading_the_terminal(self) -> bool:
        """Whether the tmux server still holds its pane's terminal (a pty's master): it
        closes it once it has read everything the command wrote."""
        server = self.tmux("display-message", "-p", "#{pid}").strip()
        try:
            fds = list(Path(f"/proc/{server}/fd").iterdir())
        except OSError:
            return False
        for fd in fds:
            try:
                if os.readlink(fd) == "/dev/ptmx":
                    return True
            except OSError:  # closed meanwhile
                continue
        return False

    def resize(self, width: int, height: int) -> None:
        self.tmux("resize-window", "-t", "main", "-x", str(width), "-y", str(height))

    def close(self) -> None:
        subprocess.run(["tmux", "-S", str(self.socket), "kill-server"], capture_output=True)


def start_pane(
    directory: Path, argv: Sequence[str], size: tuple[int, int], env: dict[str, str]
) -> Pane:
    """``argv`` running in a new ``size`` tmux pane, with exactly ``env`` (TERM included: it
    is what the program is told its terminal is)."""
    if shutil.which("tmux") is None:
        missing_tool("tmux not found (scripts/bootstrap installs it as root)", "the SSH tests")
    pane = Pane(directory / "tmux.sock")
    config = directory / "tmux.conf"
    # no status line (the pane is the whole window), and the pane stays when its command ends
    config.write_text("set -g status off\nset -g remain-on-exit on\n")
    width, height = size
    subprocess.run(
        [
            "tmux", "-S", str(pane.socket), "-f", str(config),
            "new-session", "-d", "-s", "main", "-x", str(width), "-y", str(height),
            "env", "-i", *(f"{k}={v}" for k, v in env.items()), *argv,
        ],
        check=True,
        capture_output=True,
        env={"PATH": env.get("PATH", "/usr/bin:/bin"), "TERM": "xterm-256color"},
        timeout=60,
    )  # fmt: skip
    return pane
