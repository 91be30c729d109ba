"""Progress on stderr: rewritten in place on a terminal, plain lines written once anywhere else
(a log, a pipe, cron's mail, TERM=dumb), nothing with --json. Every progress display of the
command line (provisioning steps, backups, seed, migrate, find user) is one of these two."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from aptien_ops.cli.progress import Bar, StepPrinter, Steps

from cli_runner import run_cli


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def stderr() -> io.StringIO:
    """stderr as a pipe or a log file would be."""
    return io.StringIO()


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> Terminal:
    monkeypatch.setenv("TERM", "xterm-256color")
    return Terminal()


def _steps(printer: StepPrinter) -> None:
    """Two steps run, one done earlier."""
    for step in ("owner-role", "database"):
        printer(step, "start")
        printer(step, "done")
    printer("schema", "skip")


def test_without_a_terminal_each_step_is_one_plain_line(stderr: io.StringIO) -> None:
    _steps(StepPrinter(enabled=True, stream=stderr))
    lines = stderr.getvalue().splitlines()
    assert "\r" not in stderr.getvalue() and len(lines) == 3
    assert [line.split()[0] for line in lines] == ["owner-role", "database", "schema"]


def test_on_a_terminal_a_step_is_rewritten_when_done(terminal: Terminal) -> None:
    _steps(StepPrinter(enabled=True, stream=terminal))
    assert terminal.getvalue().startswith("  owner-role        ...\r  owner-role        done (")


def test_a_dumb_terminal_gets_plain_lines(
    terminal: Terminal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TERM", "dumb")
    _steps(StepPrinter(enabled=True, stream=terminal))
    bar = Bar("backup", enabled=True, stream=terminal)
    for done in range(1, 4):
        bar(done, 3, f"tenant-{done}")
    assert "\r" not in terminal.getvalue() and len(terminal.getvalue().splitlines()) == 6


def test_without_a_terminal_a_bar_writes_a_line_per_tenth_of_the_work(stderr: io.StringIO) -> None:
    bar = Bar("backup", enabled=True, stream=stderr)
    for done in range(1, 10_001):
        bar(done, 10_000, f"t-{done}")
    lines = stderr.getvalue().splitlines()
    assert "\r" not in stderr.getvalue() and len(lines) == 11
    assert lines[0] == "backup 1/10000 t-1" and lines[-1] == "backup 10000/10000 t-10000"


def test_on_a_terminal_a_bar_is_redrawn_in_place_and_ends_its_line(terminal: Terminal) -> None:
    bar = Bar("seeding", enabled=True, stream=terminal)
    for done in range(1, 4):
        bar(done, 3, f"t-{done}")
    shown = terminal.getvalue()
    assert shown.count("\r") == 3 and shown.endswith("\n") and shown.count("\n") == 1


def test_disabled_progress_writes_nothing(terminal: Terminal) -> None:
    _steps(StepPrinter(enabled=False, stream=terminal))
    Bar("x", enabled=False, stream=terminal)(1, 1, "t")
    assert terminal.getvalue() == ""


def test_a_seed_without_a_terminal_reports_each_tenant_on_a_plain_line(
    sandbox_config: Path,
) -> None:
    args = ("sandbox", "seed", "--tenants", "2", "--users", "2", "--events", "4")
    result = run_cli(*args, config=sandbox_config)
    assert result.code == 0 and "\r" not in result.stderr
    assert [line.split()[:2] for line in result.stderr.splitlines()] == [
        ["seeding", "1/2"],
        ["seeding", "2/2"],
    ]
    quiet = run_cli("--json", *args, config=sandbox_config)
    assert quiet.code == 0 and quiet.stderr == ""


@pytest.mark.parametrize("on_a_terminal", [False, True])
def test_the_end_of_the_work_is_shown_once_however_often_it_is_reported(
    stderr: io.StringIO, terminal: Terminal, on_a_terminal: bool
) -> None:
    """A backup reports its last bytes, then that it is finished: one last line, not two."""
    stream = terminal if on_a_terminal else stderr
    bar = Bar("backup", enabled=True, stream=stream)
    for done in (40, 100, 100, 100):
        bar(done, 100, "savanna-logistics")
    lines = stream.getvalue().split("\n")
    assert lines[-1] == "" and sum("100/100" in line for line in lines) == 1


def test_steps_of_unknown_size_count_on_a_terminal_and_end_as_bars(
    terminal: Terminal, stderr: io.StringIO
) -> None:
    for stream in (terminal, stderr):
        steps = Steps(enabled=True, stream=stream)
        for done in (100, 200):
            steps("subscriptions", done, None)
        steps("subscriptions", 250, 250)
        steps("tenants", 1, 2)
        steps("tenants", 2, 2)
    assert terminal.getvalue().startswith("\rsubscriptions 100 …\rsubscriptions 200 …\r")
    assert "subscriptions [" in terminal.getvalue() and terminal.getvalue().endswith("\n")
    assert stderr.getvalue().splitlines() == [
        "subscriptions 250/250",
        "tenants 1/2",
        "tenants 2/2",
    ]
    Steps(enabled=False, stream=stderr)("x", 1, None)
    assert stderr.getvalue().count("\n") == 3
