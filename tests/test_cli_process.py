"""``aptien-ops`` as a real process: what only a process shows — the exit status through
``sys.exit``, stdout holding one JSON value and nothing else, stderr lines, a bug's traceback
in the log file, no terminal at all (Ctrl-C: tests/test_cli_interrupts.py). Every other CLI
test runs the same command line in the test process (tests/cli_runner.py: ``run_cli``); the
first test here keeps the two runners reading the same thing."""

from __future__ import annotations

import gc
import json
import logging
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from aptien_ops.sandbox import write_sandbox_config

from cli_runner import run_cli, run_cli_process


@pytest.fixture
def seeded(tmp_path: Path) -> Path:
    """A sandbox with its demo tenants (made in-process: only what follows is under test)."""
    config, _ = write_sandbox_config(tmp_path / "sbx")
    made = run_cli("--json", "sandbox", "init", "--path", config.parent)
    assert made.code == 0, made.stderr
    return config


@pytest.mark.parametrize(
    ("args", "stdin", "operator"),
    [
        (("--help",), None, None),
        (("tenant", "--help"), None, None),
        (("--version",), None, None),
        (("--json", "tenant", "list", "--region", "eu"), None, None),
        (("--json", "region", "resolve", "KE"), None, None),
        (("tenant", "show", "no-such-tenant"), None, None),
        (("--json", "tenant", "show", "no-such-tenant"), None, None),
        (("tenant", "frobnicate"), None, None),
        (("--json", "tenant", "list", "--state", "zombie"), None, None),
        (("tenant", "cancel", "acme-gmbh"), "y\n", None),  # a pipe is no terminal to ask on
        (("--json", "tenant", "list"), None, "mallory"),  # not an operator
    ],
    ids=lambda value: " ".join(value) if isinstance(value, tuple) else str(value),
)
def test_the_in_process_runner_reads_what_the_process_prints(
    seeded: Path, args: tuple[str, ...], stdin: str | None, operator: str | None
) -> None:
    in_process = run_cli(*args, config=seeded, input=stdin, operator=operator)
    process = run_cli_process(*args, config=seeded, input=stdin, operator=operator)
    assert in_process == process


def test_an_in_process_run_leaves_this_process_as_it_found_it(seeded: Path) -> None:
    log = (seeded.parent / "logs" / "aptien-ops.jsonl").resolve()

    def process_state() -> tuple[object, ...]:
        log_handles = [fd for fd in os.listdir("/proc/self/fd") if _points_to(fd, log)]
        return (
            gc.isenabled(),
            gc.get_freeze_count(),
            dict(os.environ),
            os.getcwd(),
            (sys.stdin, sys.stdout, sys.stderr),
            list(logging.getLogger().handlers),
            logging.lastResort,
            log_handles,
        )

    before = process_state()
    made = run_cli(
        "--verbose", "--json", "operator", "add", "newbie", "--role", "viewer",
        config=seeded, operator="ada", env={"TERM": "dumb"},
    )  # fmt: skip
    assert made.code == 0, made.stderr
    assert '"ops_action"' in made.stderr  # --verbose wrote the event to this run's stderr
    assert process_state() == before


def _points_to(fd: str, path: Path) -> bool:
    try:
        return Path(os.readlink(f"/proc/self/fd/{fd}")) == path
    except OSError:
        return False


def test_json_mode_prints_one_value_then_a_newline_and_nothing_on_stderr(seeded: Path) -> None:
    result = run_cli_process("--json", "tenant", "list", "--region", "eu", config=seeded)
    assert (result.code, result.stderr) == (0, "")
    rows, end = json.JSONDecoder().raw_decode(result.stdout)
    assert result.stdout[end:] == "\n" and rows and {r["region"] for r in rows} == {"eu"}


@pytest.mark.parametrize(
    ("args", "code", "kind"),
    [
        (("tenant", "show", "no-such-tenant"), 3, "not_found"),
        (("tenant", "show", "Bad Name"), 2, "invalid"),
        (("tenant", "frobnicate"), 2, "invalid"),
        (("operator", "grant", "sam", "security"), 5, "conflict"),
        (("operator", "grant", "sam", "admin"), 8, "pending_approval"),
    ],
)
def test_each_outcome_leaves_the_process_with_its_exit_status_and_one_json_line(
    seeded: Path, args: tuple[str, ...], code: int, kind: str
) -> None:
    result = run_cli_process("--json", *args, config=seeded)
    assert (result.code, result.stdout) == (code, "")
    [line] = result.stderr.splitlines()
    assert json.loads(line)["error"]["code"] == kind


def test_a_viewer_is_refused_with_exit_4_and_one_line(seeded: Path) -> None:
    result = run_cli_process("operator", "grant", "olga", "security", config=seeded, operator="vic")
    assert result.code == 4 and result.stdout == ""
    assert result.stderr.startswith("aptien-ops: error: ") and len(result.stderr.splitlines()) == 1


def test_without_a_terminal_and_without_arguments_it_prints_help_and_exits_2() -> None:
    result = run_cli_process()
    assert result.code == 2 and "Usage" in result.stderr and result.stdout == ""


BROKEN_TENANT_LIST = """\
import sys
from aptien_ops.services.tenants import TenantService

def broken(self, **filters):
    raise ZeroDivisionError("a bug in tenant list")

TenantService.list = TenantService.rows_json = broken
from aptien_ops.cli.main import main

main(sys.argv[1:])
"""


@pytest.mark.parametrize("as_json", [False, True], ids=["human", "json"])
def test_a_bug_exits_1_with_one_line_and_leaves_its_traceback_in_the_log_file(
    seeded: Path, as_json: bool
) -> None:
    log = seeded.parent / "logs" / "aptien-ops.jsonl"
    args = ["--config", str(seeded), *(["--json"] if as_json else []), "tenant", "list"]
    done = subprocess.run(
        [sys.executable, "-c", BROKEN_TENANT_LIST, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (done.returncode, done.stdout) == (1, "")
    [line] = done.stderr.splitlines()
    said = json.loads(line)["error"] if as_json else {"message": line}
    assert "internal error (ZeroDivisionError)" in said["message"] and str(log) in said["message"]
    assert as_json is False or said["code"] == "internal"
    assert "Traceback" not in done.stderr
    [bug] = [e for e in map(json.loads, log.read_text().splitlines()) if e["event"] != "ops_action"]
    assert bug["event"] == "internal_error" and bug["error"] == "ZeroDivisionError"
    assert "a bug in tenant list" in bug["traceback"] and "in broken" in bug["traceback"]


def test_a_confirmation_is_refused_without_a_terminal_even_with_yes_on_stdin(
    seeded: Path,
) -> None:
    result = run_cli_process("--json", "tenant", "cancel", "acme-gmbh", config=seeded, input="y\n")
    assert result.code == 2 and "--yes" in result.stderr
    assert run_cli("--json", "tenant", "show", "acme-gmbh", config=seeded).json()["state"] == (
        "active"
    )


def test_the_module_and_the_installed_script_are_the_same_program(seeded: Path) -> None:
    script = Path(sys.executable).with_name("aptien-ops")
    by_script = subprocess.run(
        [str(script), "--config", str(seeded), "--json", "tenant", "show", "no-such-tenant"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    by_module = run_cli_process("--json", "tenant", "show", "no-such-tenant", config=seeded)
    assert (by_script.returncode, by_script.stdout, by_script.stderr) == (
        by_module.code,
        by_module.stdout,
        by_module.stderr,
    )


def _on_a_terminal(*args: str, config: Path, typed: bytes = b"") -> tuple[int, str, str]:
    """``aptien-ops --config CONFIG ARGS`` with stdin and stderr on a terminal (a pty) on which
    the operator ``typed``: its exit status, stdout (a pipe) and what the terminal showed."""
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "APTIEN_OPS_OPERATOR"}
    command = subprocess.Popen(
        [sys.executable, "-m", "aptien_ops", "--config", str(config), *args],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=slave,
        env={**env, "TERM": "xterm"},
    )
    os.close(slave)
    shown = b""
    try:
        os.write(master, typed)  # the terminal keeps the line until the prompt reads it
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the command has exited and closed the terminal
                break
            if not chunk:
                break
            shown += chunk
        assert command.stdout is not None
        out = command.stdout.read().decode()
        command.wait(timeout=120)
    finally:
        command.kill()
        os.close(master)
    return command.returncode, out, shown.decode()


def test_answering_no_to_a_confirmation_says_that_nothing_was_changed(seeded: Path) -> None:
    code, out, shown = _on_a_terminal("tenant", "cancel", "acme-gmbh", config=seeded, typed=b"n\n")
    assert (code, out) == (2, "")
    assert "cancel tenant acme-gmbh?" in shown
    assert "aptien-ops: stopped: you answered no; nothing was changed" in shown
    assert "cancelled by the operator" not in shown
    state = run_cli("--json", "tenant", "show", "acme-gmbh", config=seeded).json()["state"]
    assert state == "active"


def test_on_a_terminal_each_step_is_rewritten_in_place(seeded: Path) -> None:
    code, out, shown = _on_a_terminal(
        "tenant", "provision", "on-a-tty", "--country", "DE", config=seeded
    )
    assert code == 0 and "on-a-tty: active" in out
    assert "  database          ...\r  database          done (" in shown
