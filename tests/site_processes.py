"""What still runs of an SSH site when a session does not end: for a test's failure report.

A session over SSH is a chain of processes (the ``ssh`` client in its tmux pane, sshd's
listener and its session processes, the ``ForceCommand`` wrapper turned ``sudo``, sudo's
monitor on a pty of its own, the console) and any of them can be the one that keeps the
session open. :func:`left_running` lists every process of the site (by its temporary root in
the command line, its accounts, and whatever those started) with its process group, session,
terminal, state, kernel wait and system call, the terminals each holds open, and, for a
console still running, every thread's kernel wait and Python stack (py-spy); for sudo, its
C stack (gdb).

:func:`explained` adds that report to a wait on the session that timed out.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from tmux_term import Pane, StillRunning

COLUMNS = "pid,ppid,pgid,sid,tty,stat,user:16,wchan:32,etime,args"


@contextmanager
def explained(root: Path, accounts: tuple[str, ...]) -> Iterator[None]:
    """A wait in the block that timed out (the hang guard, or :class:`StillRunning`) fails
    with what still runs of the site whose temporary root is ``root``, and of ``accounts``."""
    try:
        yield
    except AssertionError as failed:
        if not (isinstance(failed, StillRunning) or "not so after" in str(failed)):
            raise
        raise AssertionError(f"{failed}\n{left_running(root, accounts)}") from None


def left_running(root: Path, accounts: tuple[str, ...]) -> str:
    """The site's processes, their terminals and, for consoles and sudo, their stacks."""
    listed = subprocess.run(
        ["ps", "-ww", "-eo", COLUMNS, "--forest"], capture_output=True, text=True, timeout=30
    ).stdout.splitlines()
    rows = [(line, line.split(None, 9)) for line in listed[1:]]
    chosen: set[str] = set()
    for _line, cells in rows:
        if len(cells) == 10 and (str(root) in cells[9] or cells[6] in accounts):
            chosen.add(cells[0])
    grown = True
    while grown:  # and everything those started (sshd's session processes, sudo's monitor)
        before = len(chosen)
        chosen |= {cells[0] for _line, cells in rows if len(cells) == 10 and cells[1] in chosen}
        grown = len(chosen) > before
    shown = [line for line, cells in rows if cells[0] in chosen]
    report = ["--- still running of the site ---", listed[0] if listed else "", *shown]
    report.append("--- per process: system call, terminals held ---")
    stacks = []
    for _line, cells in rows:
        if cells[0] not in chosen:
            continue
        pid, args = cells[0], cells[9] if len(cells) == 10 else ""
        report.append(
            f"  {pid} syscall={_read(pid, 'syscall')[:60]} {_signals(pid)} fds: {_terminals(pid)}"
        )
        if args.startswith("sudo"):
            stacks.append(f"--- sudo {pid}: C stack ---")
            frames = _gdb(pid, "bt").splitlines()
            stacks.extend(f for f in frames if f.startswith("#"))
        elif "bin/aptien-ops" in args:
            stacks.append(f"--- console {pid}: threads ---")
            stacks.extend(_threads(pid))
            stacks.append(_python_stacks(pid))
    return "\n".join([*report, *stacks])


def _read(pid: str, name: str) -> str:
    try:
        return (Path("/proc") / pid / name).read_text().strip()
    except OSError:  # ended meanwhile
        return "?"


def _signals(pid: str) -> str:
    """Which signals ``pid`` blocks, ignores and catches (hex masks, as the kernel shows)."""
    masks = [
        line.replace(":\t", "=")
        for line in _read(pid, "status").splitlines()
        if line.startswith(("SigBlk", "SigIgn", "SigCgt"))
    ]
    return " ".join(masks)


def _terminals(pid: str) -> str:
    """The file descriptors of ``pid`` that are terminals (a pty's either side)."""
    held = []
    try:
        fds = sorted(Path(f"/proc/{pid}/fd").iterdir(), key=lambda p: int(p.name))
    except OSError:
        return "?"
    for fd in fds:
        try:
            target = str(fd.readlink())
        except OSError:
            continue
        if target.startswith(("/dev/pts", "/dev/ptmx", "/dev/tty")):
            held.append(f"{fd.name}->{target}")
    return " ".join(held) or "none"


def _threads(pid: str) -> list[str]:
    threads = []
    for task in sorted(Path(f"/proc/{pid}/task").glob("*")):
        try:
            wchan = (task / "wchan").read_text()
            state = (task / "stat").read_text().split(") ", 1)[1][:1]
            comm = (task / "comm").read_text().strip()
        except OSError:  # ended meanwhile
            continue
        threads.append(f"  {pid}/{task.name} {comm} {state} {wchan}")
    return threads


def _python_stacks(pid: str) -> str:
    """Every thread's Python stack in process ``pid`` (py-spy reads them from outside, from
    whichever interpreter the console runs on; gdb would need that interpreter's debug
    symbols)."""
    spy = Path(sys.executable).with_name("py-spy")
    if not spy.exists():
        return "  (no py-spy in the test environment: no Python stacks)"
    try:
        done = subprocess.run(
            [str(spy), "dump", "--pid", pid],
            capture_output=True,
            text=True,
            timeout=120,
        )
    except subprocess.TimeoutExpired:
        return "  (py-spy did not answer in 120 s)"
    return done.stdout + done.stderr


def _gdb(pid: str, command: str) -> str:
    if shutil.which("gdb") is None:
        return "  (no gdb)"
    try:
        done = subprocess.run(
            ["gdb", "-p", pid, "-batch", "-ex", command],
            capture_output=True,
            text=True,
            timeout=120,
        )
    except subprocess.TimeoutExpired:
        return "  (gdb did not answer in 120 s)"
    return done.stdout


def status_after_signal(pane: Pane, pid: int, within: float, what: str) -> int:
    """The exit status of ``pane``'s console (process ``pid``), signalled a moment ago; one
    still running ``within`` seconds on fails the test as ``what``, with every thread's kernel
    wait and Python stack (then it is killed)."""
    try:
        return pane.exit_status(within=within)
    except StillRunning as still:
        threads = "\n".join(_threads(str(pid)))
        held = f"{still}\n{threads}\n{_python_stacks(str(pid))}"
        os.kill(pid, signal.SIGKILL)
        pytest.fail(f"{what}: {held}")
