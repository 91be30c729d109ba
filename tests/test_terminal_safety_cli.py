"""Nothing from data reaches the operator's terminal raw through the command line (SPEC §6).

A sandbox holds hostile text in every field the CLI shows that it did not write itself (see
``hostile_data``); every command that shows one, and every refusal that quotes what was typed,
must print it escaped, markup and all as the characters they are, and ``--json`` as ASCII.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from aptien_ops.sandbox import write_sandbox_config

from cli_runner import Result, run_cli
from command_table import VALID, argv, commands, operator
from hostile_data import OSC0, PARTNER, RLO, TENANT, VICTIM, escapes_in, hostile, plant

#: What an operator could type or paste as an argument.
TYPED = hostile("typed")


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config, _ = write_sandbox_config(tmp_path_factory.mktemp("hostile") / "sbx")
    plant(config)
    return config


def assert_nothing_raw(result: Result) -> None:
    for stream, text in (("stdout", result.stdout), ("stderr", result.stderr)):
        raw = escapes_in(text)
        assert not raw, f"{stream} carries {sorted(set(map(ascii, raw)))}: {text!a}"


SHOWING = {
    "tenant show": (None, ("tenant", "show", TENANT)),
    "tenant history": (None, ("tenant", "history", TENANT)),
    "tenant list": (None, ("tenant", "list")),
    "approval list": ("ada", ("approval", "list")),
    "operator list": (None, ("operator", "list")),
    "ops-log list": ("ada", ("ops-log", "list", "--limit", "1000")),
    "inspect logins": ("sam", ("inspect", "logins", TENANT, "--limit", "1000")),
    "inspect audit": ("sam", ("inspect", "audit", TENANT)),
    "inspect user": ("sam", ("inspect", "user", VICTIM)),
    "inspect summary": ("sam", ("inspect", "summary", TENANT)),
}


@pytest.mark.parametrize("command", SHOWING)
def test_every_command_shows_hostile_data_escaped(config: Path, command: str) -> None:
    operator, args = SHOWING[command]
    result = run_cli(*args, config=config, operator=operator)
    assert result.code == 0, result.stderr
    assert_nothing_raw(result)
    if command not in ("tenant list", "ops-log list"):  # no free-text column in either
        assert "\\x1b]52;c;" in result.stdout + result.stderr  # shown, as characters


def test_tenant_show_prints_markup_as_typed_and_every_attack_visibly(config: Path) -> None:
    result = run_cli("tenant", "show", TENANT, config=config)
    lines = result.stdout.rstrip().splitlines()
    contact = next(line for line in lines if line.startswith("contact_name")).split(None, 1)[1]
    assert contact == (
        "contact:\\x1b]52;c;cHduZWQ=\\x07\\x1b]0;pwned-title\\x07\\x1b[2Jpwned-csi"
        "\\x9bpwned-c1\\u202epwned-rlo[bold red]markup[/] [link=https://evil.example]link[/link]"
    )
    _at, _from, _arrow, to, by, reason = lines[-1].split(None, 5)  # the newest state change
    assert (to, by, reason) == ("suspended", "ada", contact.replace("contact:", "reason:", 1))


def test_the_note_of_inspect_quotes_the_state_reason_escaped(config: Path) -> None:
    result = run_cli("inspect", "logins", TENANT, "--limit", "1", config=config, operator="sam")
    note = result.stderr.splitlines()[0]
    assert note.startswith(f"note: tenant {TENANT} is suspended (reason:\\x1b]52;c;")


def test_the_ssh_origin_the_environment_claims_is_shown_escaped(config: Path) -> None:
    origin = hostile("ssh").replace(" ", "")
    env = {"SSH_CONNECTION": f"{origin} 50022 10.0.0.1 22"}
    result = run_cli("operator", "whoami", config=config, env=env)
    assert result.code == 0 and "ssh_origin  ssh:\\x1b]52;c;" in result.stdout
    assert_nothing_raw(result)


def test_an_export_names_its_file_escaped(config: Path, tmp_path: Path) -> None:
    output = tmp_path / f"logins{OSC0}{RLO}.csv"
    result = run_cli(
        "inspect", "export", TENANT, "--kind", "logins", "--format", "csv",
        "--output", output, "--reason", TYPED, config=config, operator="sam",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    assert_nothing_raw(result)
    assert "logins\\x1b]0;pwned-title\\x07\\u202epwned-rlo.csv" in result.stdout
    assert output.exists()


QUOTING = {
    "a bad tenant name": (None, ("tenant", "show", TYPED), 2),
    "a bad name to cancel": (None, ("tenant", "cancel", TYPED), 2),
    "a bad name to purge": ("ada", ("tenant", "purge", TYPED), 2),
    "a bad name to provision": ("ada", ("tenant", "provision", TYPED, "--country", "DE"), 2),
    "a bad country": ("ada", ("tenant", "provision", "new-gmbh", "--country", TYPED), 2),
    "a bad country to resolve": (None, ("region", "resolve", TYPED), 2),
    "an unknown command": (None, (TYPED,), 2),
    "a bad approval id": ("ada", ("approval", "reject", TYPED, "--reason", "no"), 2),
    "a bad address": ("sam", ("inspect", "user", TYPED), 2),
    "a bad time": ("sam", ("inspect", "logins", TENANT, "--since", TYPED), 2),
    "a bad datasheet": ("sam", ("inspect", "audit", TENANT, "--datasheet", TYPED), 2),
    "a missing witness": ("ada", ("ops-log", "verify", "--witness", TYPED), 3),
    "a bad policy key": ("ada", ("policy", "set", TYPED, "1"), None),
}


@pytest.mark.parametrize("refusal", QUOTING)
def test_refusals_quote_what_was_typed_escaped(config: Path, refusal: str) -> None:
    operator, args, code = QUOTING[refusal]
    for json_flag in ((), ("--json",)):
        result = run_cli(*json_flag, *args, config=config, operator=operator)
        assert result.code != 0 and (code is None or result.code == code), result.stderr
        assert result.stdout == ""
        assert_nothing_raw(result)
        assert result.stderr.isascii() if json_flag else True


def test_the_cli_echoes_no_name_before_it_has_validated_it(config: Path) -> None:
    provision = run_cli("tenant", "provision", TYPED, "--country", "DE", config=config)
    cancel = run_cli("tenant", "cancel", TYPED, config=config)  # asks nothing: no question
    restore = run_cli(
        "backup", "restore", "bk-20250101T020000Z-1a2b3c", "--to", TYPED, config=config
    )
    for result in (provision, cancel, restore):
        assert result.code == 2
        assert result.stderr.startswith("aptien-ops: error: invalid tenant name 'typed:\\x1b]52")
        assert len(result.stderr.splitlines()) == 1  # no "provisioning …:", no question


def test_json_output_is_ascii_and_keeps_the_data_as_it_is(config: Path) -> None:
    result = run_cli("--json", "tenant", "show", TENANT, config=config)
    assert result.code == 0 and result.stdout.isascii() and result.stderr == ""
    data = result.json()
    assert data["contact_name"] == hostile("contact") and data["state_reason"] == hostile("reason")
    logins = run_cli("--json", "inspect", "logins", TENANT, config=config, operator="sam")
    assert logins.stdout.isascii()
    assert {r["user_agent"] for r in logins.json()["rows"]} == {hostile("agent")}


#: The demo names of the command table, and the hostile sandbox's that hold planted text.
ON_THE_HOSTILE_SANDBOX = {
    "acme-gmbh": TENANT,
    "nordlicht-as": TENANT,
    "lagos-fintech": TENANT,
    "nordic-sales": PARTNER,
    "goran.okafor@acme-gmbh.example": VICTIM,
}


@pytest.mark.parametrize("json_flag", [(), ("--json",)], ids=["text", "json"])
def test_every_command_of_the_line_prints_nothing_raw(
    config: Path, tmp_path: Path, json_flag: tuple[str, ...]
) -> None:
    """The class, not the instances above: every command of the command line (the table of
    tests/command_table.py, so a new one is in at once), aimed at the tenant, partner and user
    with planted text, as the role that may read them. ``--read-only``: every read runs and
    prints, every change is refused (quoting what was named), nothing changes."""
    raw: list[str] = []
    showed: set[str] = set()  # the commands that printed planted text (escaped)
    for path in commands():
        changed = {
            name: ON_THE_HOSTILE_SANDBOX.get(str(value), value)
            for name, value in VALID[path].items()
        }
        line = argv(path, tmp_path, changed)
        result = run_cli(
            *json_flag, "--read-only", *line, config=config, operator=operator(path) or "ada"
        )
        assert result.code != 1, f"{path}: {result.stderr}"
        found = escapes_in(result.stdout + result.stderr)
        if found:
            raw.append(f"{path}: {sorted(set(map(ascii, found)))}")
        if "52;c;" in result.stdout + result.stderr:
            showed.add(path)
    assert raw == []
    # And it did reach the planted text (escaped), where each kind of it is shown.
    assert {
        "tenant show",
        "tenant history",
        "approval list",
        "operator list",
        "inspect logins",
        "inspect audit",
        "inspect user",
        "partner show",
        "partner shares",
    } <= showed, sorted(showed)
