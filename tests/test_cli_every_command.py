"""Checks made of every command of the command line at once (tests/command_table.py names them,
and fails when Click has a command it does not): the most hostile number and text each
parameter can take, read-only mode, the global options after the command, JSON for every
answer and every refusal, progress without a terminal, and "no" to a confirmation."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
import pytest

from aptien_ops.cli.params import TextLimit
from aptien_ops.permissions import READ_ONLY_SAFE

from catalog_state import CatalogState
from cli_runner import run_cli
from command_table import VALID, argv, command, commands, operator
from sandboxes import isolated_from_the_user

#: A number no column holds, and text no field keeps.
HUGE, LONG = "99999999999999999999", "x" * 100_000


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    return _seeded(tmp_path / "sbx")


@pytest.fixture(scope="module")
def refusing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One sandbox for the walks that only meet refusals and reads (each proves that it
    changed nothing): made once, not per test."""
    place = tmp_path_factory.mktemp("refusing")
    with isolated_from_the_user(place):
        return _seeded(place / "sbx")


def _seeded(directory: Path) -> Path:
    result = run_cli("--json", "sandbox", "init", "--path", directory)
    assert result.code == 0, result.stderr
    return directory / "ops.toml"


def _state(config: Path) -> dict[str, object]:
    """What a change would show: tenants, operators, approvals, backups, and the ops log."""
    seen: dict[str, object] = {}
    for what in (
        ("tenant", "list"),
        ("operator", "list"),
        ("approval", "list"),
        ("backup", "list"),
        ("ops-log", "list", "--limit", "100000"),
    ):
        result = run_cli("--json", *what, config=config)
        assert result.code == 0, result.stderr
        seen[what[0]] = result.json()
    return seen


def _parameters(path: str) -> list[click.Parameter]:
    return [
        p
        for p in command(path).params
        if p.name != "help" and not (isinstance(p, click.Option) and p.is_flag)
    ]


def test_the_table_names_every_command() -> None:
    assert sorted(commands()) == sorted(VALID)
    for path, values in VALID.items():
        assert set(values) <= {p.name for p in command(path).params}, path


def test_no_number_and_no_text_of_any_size_is_taken_for_a_bug(
    refusing: Path, tmp_path: Path
) -> None:
    """A number no column holds and 100,000 characters in any parameter are bad input (2) or
    not found (3) in one short line: never an internal error (1) nor a system down (6), and
    never taken (no field keeps that much). Free text is refused by its documented limit
    (exit 2) while the line is read: nothing is touched."""
    wrong: list[str] = []
    catalog = CatalogState(refusing)
    for path in commands():
        for param in _parameters(path):
            hostile = HUGE if isinstance(param.type, click.types.IntParamType) else LONG
            free_text = isinstance(param.callback, TextLimit)
            before = catalog.state() if free_text else None
            line = argv(path, tmp_path, {param.name or "": hostile})
            result = run_cli("--yes", *line, config=refusing, operator=operator(path))
            said = f"{path} {param.name}: exit {result.code}: {result.stderr[:200]!r}"
            if result.code == 1 or len(result.stderr) > 1000:
                wrong.append(said)
            elif hostile == LONG and result.code == 0:
                wrong.append(said + " (took 100,000 characters: give it a limit)")
            elif result.code not in (2, 3):
                wrong.append(said + " (what was typed is bad input or not found)")
            elif free_text and (result.code != 2 or catalog.state() != before):
                wrong.append(said + " (or it changed something)")
    catalog.close()
    assert not wrong, "\n".join(wrong)


def test_every_free_text_option_states_its_limit_in_its_help() -> None:
    limited = [
        (path, p)
        for path in commands()
        for p in command(path).params
        if isinstance(p.callback, TextLimit)
    ]
    assert {(path, p.name) for path, p in limited} >= {
        ("tenant suspend", "reason"),
        ("tenant purge", "before_retention_end"),
        ("tenant provision", "residency_override"),
        ("tenant provision", "contact_name"),
        ("approval reject", "reason"),
        ("inspect export", "reason"),
    }
    for path, param in limited:
        assert isinstance(param.callback, TextLimit) and isinstance(param, click.Option)
        shown = param.help if param.help else ""
        in_group = command(path.split()[0]).epilog or ""
        assert param.callback.kind.help in shown + in_group, (path, param.name)


def test_read_only_refuses_every_change_and_changes_nothing(refusing: Path, tmp_path: Path) -> None:
    """Every command with --read-only (typed after it, with --json): each either reads (or is
    refused for another reason) or is refused with exit 4 before it changes anything, sandbox
    init and seed included, as one JSON error; the ops log gains only refusals and reads."""
    before = _state(refusing)
    refused: list[str] = []
    for path in commands():
        line = argv(path, tmp_path)
        result = run_cli(
            *line, "--read-only", "--yes", "--json", config=refusing, operator=operator(path)
        )
        assert result.code != 1, f"{path}: {result.stderr}"
        _json_answer(path, result.code, result.stdout, result.stderr)
        if result.code == 4 and "read-only" in result.error()["message"]:
            refused.append(path)
    after = _state(refusing)
    assert {k: v for k, v in after.items() if k != "ops-log"} == {
        k: v for k, v in before.items() if k != "ops-log"
    }
    log = after["ops-log"]
    assert isinstance(log, list) and isinstance(before["ops-log"], list)
    new = log[: len(log) - len(before["ops-log"])]
    safe = {str(a) for a in READ_ONLY_SAFE}
    assert all(e["outcome"] == "denied" or e["action"] in safe for e in new), new
    assert not (tmp_path / "another-sandbox").exists()
    assert not (tmp_path / "export.jsonl").exists()
    assert {"sandbox init", "sandbox seed", "tenant provision", "tenant suspend"} <= set(refused)
    assert {"tenant list", "inspect logins", "ops-log verify"}.isdisjoint(refused)


def _json_answer(path: str, code: int, stdout: str, stderr: str) -> None:
    """With --json: on success one JSON value on stdout, on a refusal one JSON error on stderr
    and nothing on stdout; never a line of plain text."""
    if code == 0:
        assert stdout.count("\n") == 1 and stderr == "", (path, stdout[:200], stderr[:200])
        json.loads(stdout)
    elif code == 7 and stdout:  # a check's report, then why it exits 7 (partner check)
        assert stdout.count("\n") == 1, (path, stdout[:200])
        json.loads(stdout)
        [line] = stderr.splitlines()
        assert set(json.loads(line)) == {"error"}, (path, line)
    else:
        assert stdout == "", (path, code, stdout[:200])
        [line] = stderr.splitlines()
        assert set(json.loads(line)) == {"error"}, (path, line)


def test_every_command_answers_in_json_when_the_options_follow_it(
    sandbox: Path, tmp_path: Path
) -> None:
    """--yes and --json typed after the command, as people type them: every command answers
    with one JSON value, or refuses with one JSON error (exit 2 to 8), never plain text."""
    codes: dict[str, int] = {}
    for path in commands():
        line = argv(path, tmp_path)
        result = run_cli(*line, "--yes", "--json", config=sandbox, operator=operator(path))
        assert result.code != 1, f"{path}: {result.stderr}"
        _json_answer(path, result.code, result.stdout, result.stderr)
        codes[path] = result.code
    # the walk both succeeds and refuses: a purge waits for a second admin, the TUI needs a
    # terminal
    assert codes["tenant list"] == 0 and codes["tenant purge"] in (5, 8) and codes["tui"] == 2
    for path in commands():  # a usage error too, the option after the command
        result = run_cli(*path.split(), "--no-such-option", "--json", config=sandbox)
        _json_answer(path, result.code, result.stdout, result.stderr)
        assert result.code == 2 and "No such option" in result.error()["message"], path


class _Terminal:
    """stdin as a confirmation sees it on a terminal (what is typed still comes from stdin)."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def isatty(self) -> bool:
        return True

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


class _OnATerminal:
    """``sys`` for the command line's confirmation: stdin a terminal."""

    @property
    def stdin(self) -> _Terminal:
        return _Terminal(sys.stdin)

    def __getattr__(self, name: str) -> Any:
        return getattr(sys, name)


def test_without_a_terminal_progress_is_plain_lines_and_no_to_any_question_changes_nothing(
    sandbox: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every command as a person runs it, answering "n" to any question, with stderr a pipe:
    progress is plain lines, none rewritten (no \\r) and none written twice; a question
    answered no stops the command, says nothing was changed, and nothing was."""
    monkeypatch.setattr("aptien_ops.cli.state.sys", _OnATerminal())
    asked: list[str] = []
    for path in commands():
        result = run_cli(
            *argv(path, tmp_path), config=sandbox, operator=operator(path), input="n\n"
        )
        said = f"{path}: exit {result.code}: {result.stderr[-300:]!r}"
        assert result.code != 1 and "\r" not in result.stdout + result.stderr, said
        lines = result.stderr.splitlines()
        assert all(a != b for a, b in zip(lines, lines[1:], strict=False)), said
        if "[y/N]" in result.stderr:
            asked.append(path)
            stop = "aptien-ops: stopped: you answered no; nothing was changed"
            assert result.code == 2 and result.stderr.endswith(stop + "\n"), said
    assert {"tenant cancel", "tenant purge"} <= set(asked)
    for path in asked:
        before = _state(sandbox)
        again = run_cli(*argv(path, tmp_path), config=sandbox, operator=operator(path), input="n")
        assert again.code == 2 and _state(sandbox) == before, path
