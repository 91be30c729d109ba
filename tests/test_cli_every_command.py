"""Checks made of every command of the command line at once (tests/command_table.py names them):
the most hostile number and text each parameter can take, and read-only mode."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from aptien_ops.cli.params import TextLimit
from aptien_ops.permissions import READ_ONLY_SAFE

from cli_runner import run_cli
from command_table import VALID, argv, command, commands, operator

#: A number no column holds, and text no field keeps.
HUGE, LONG = "99999999999999999999", "x" * 100_000


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    result = run_cli("--json", "sandbox", "init", "--path", tmp_path / "sbx")
    assert result.code == 0, result.stderr
    return tmp_path / "sbx" / "ops.toml"


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
    sandbox: Path, tmp_path: Path
) -> None:
    """A number no column holds is bad input (2) or not found (3); 100,000 characters in any
    parameter are refused in one short line, never as an internal error (1). Free text is
    refused by its documented limit (exit 2) while the line is read: nothing is touched."""
    wrong: list[str] = []
    for path in commands():
        for param in _parameters(path):
            hostile = HUGE if isinstance(param.type, click.types.IntParamType) else LONG
            free_text = isinstance(param.callback, TextLimit)
            before = _state(sandbox) if free_text else None
            line = argv(path, tmp_path, {param.name or "": hostile})
            result = run_cli("--yes", *line, config=sandbox, operator=operator(path))
            said = f"{path} {param.name}: exit {result.code}: {result.stderr[:200]!r}"
            if result.code == 1 or len(result.stderr) > 1000:
                wrong.append(said)
            elif hostile == HUGE and result.code not in (2, 3):
                wrong.append(said)
            elif free_text and (result.code != 2 or _state(sandbox) != before):
                wrong.append(said + " (or it changed something)")
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


def test_read_only_refuses_every_change_and_changes_nothing(sandbox: Path, tmp_path: Path) -> None:
    """Every command with --read-only: each either reads (or is refused for another reason)
    or is refused with exit 4 before it changes anything, sandbox init and seed included; the
    ops log gains only refusals and reads."""
    before = _state(sandbox)
    refused: list[str] = []
    for path in commands():
        line = argv(path, tmp_path)
        result = run_cli("--read-only", "--yes", *line, config=sandbox, operator=operator(path))
        assert result.code != 1, f"{path}: {result.stderr}"
        if result.code == 4 and "read-only" in result.stderr:
            refused.append(path)
    after = _state(sandbox)
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
