"""The command line as people type it: the global options anywhere, an option's value always
its value, and with --json every refusal one JSON error (SPEC §5)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aptien_ops.cli.global_flags import hoisted
from aptien_ops.cli.main import cli

from cli_runner import Result, run_cli


@pytest.fixture
def seeded(tmp_path: Path) -> Path:
    result = run_cli("--json", "sandbox", "init", "--path", tmp_path / "sbx")
    assert result.code == 0, result.stderr
    return tmp_path / "sbx" / "ops.toml"


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("tenant list --json", "--json tenant list"),
        ("tenant --json list --region eu", "--json tenant list --region eu"),
        ("tenant list --config C --yes", "--config C --yes tenant list"),
        ("tenant list --config=C -y -v", "--config=C -y -v tenant list"),
        ("--json tenant list --read-only", "--json --read-only tenant list"),
        # an option's value is the option's, whatever it looks like
        ("tenant suspend t --reason --json", "tenant suspend t --reason --json"),
        ("tenant suspend t --reason=--json --json", "--json tenant suspend t --reason=--json"),
        ("inspect export t --output --config", "inspect export t --output --config"),
        # nothing after -- is an option
        ("operator add --role viewer -- --json", "operator add --role viewer -- --json"),
        ("--config -- tenant list", "--config -- tenant list"),
        # --help and --version answer where they stand; unknown options are Click's to refuse
        ("tenant list --help --json", "--json tenant list --help"),
        ("tenant list --bogus --json", "--json tenant list --bogus"),
    ],
)
def test_global_options_move_before_the_command_and_values_stay_with_their_option(
    typed: str, read: str
) -> None:
    line = hoisted(cli, typed.split())
    assert " ".join(line.argv) == read
    assert line.json == ("--json" in read.split()[: len(line.globals)])


def test_json_after_the_command_prints_json(seeded: Path) -> None:
    before = run_cli("--json", "tenant", "list", "--region", "eu", config=seeded)
    after = run_cli("tenant", "list", "--region", "eu", "--json", config=seeded)
    inside = run_cli("tenant", "--json", "list", "--region", "eu", config=seeded)
    assert before.code == after.code == inside.code == 0
    assert after.stdout == before.stdout == inside.stdout and after.json()


def test_the_config_can_follow_the_command(seeded: Path) -> None:
    result = run_cli("tenant", "show", "acme-gmbh", "--config", str(seeded), "--json")
    assert result.code == 0 and result.json()["name"] == "acme-gmbh"


def test_a_reason_that_reads_like_a_flag_is_kept_as_the_reason(seeded: Path) -> None:
    result = run_cli("tenant", "suspend", "acme-gmbh", "--reason", "--json", config=seeded)
    assert result.code == 0 and not result.stdout.startswith("{")  # not --json output
    shown = run_cli("--json", "tenant", "show", "acme-gmbh", config=seeded).json()
    assert shown["state"] == "suspended" and shown["history"][-1]["reason"] == "--json"


def test_nothing_after_a_double_dash_is_taken_for_a_flag(seeded: Path) -> None:
    result = run_cli("operator", "add", "--role", "viewer", "--", "--json", config=seeded)
    assert result.code == 2 and result.stderr.startswith("aptien-ops: error: invalid operator")


def _json_refusal(result: Result) -> dict[str, object]:
    assert result.code == 2 and result.stdout == ""
    [line] = result.stderr.splitlines()
    body = json.loads(line)["error"]
    assert body["code"] == "invalid"
    return dict(body)


def test_json_without_a_command_is_a_json_error() -> None:
    body = _json_refusal(run_cli("--json"))
    assert body["message"] == "no command given" and "--help" in str(body["hint"])


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("frobnicate",), "No such command 'frobnicate'"),
        (("tenant",), "aptien-ops tenant needs a command"),
        (("tenant", "show"), "Missing argument 'NAME'"),
        (("tenant", "list", "--bogus"), "No such option '--bogus'"),
        (("inspect", "summary", "acme-gmbh", "--per", "week"), "'week' is not one of"),
        (("ops-log", "list", "--limit", "many"), "'many' is not a valid integer"),
        (("tenant", "suspend", "acme-gmbh"), "Missing option '--reason'"),
    ],
)
def test_with_json_every_usage_error_is_one_json_error(
    seeded: Path, args: tuple[str, ...], says: str
) -> None:
    for line in (("--json", *args), (*args, "--json")):
        body = _json_refusal(run_cli(*line, config=seeded))
        assert says in str(body["message"]), body


def test_a_usage_error_quoting_a_long_value_is_one_short_line(seeded: Path) -> None:
    long = "x" * 5000
    result = run_cli("inspect", "summary", "acme-gmbh", "--per", long, config=seeded)
    [line] = result.stderr.splitlines()
    assert result.code == 2 and len(line) < 400 and line.startswith("aptien-ops: error: ")
