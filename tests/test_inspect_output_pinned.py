"""What ``inspect summary`` and ``inspect export`` print for one fixed tenant, byte for byte.

Scripts parse ``--json`` and operators read the text; neither may change when the code behind
them does. The tenant is seeded with a fixed seed at a frozen time on a SQLite sandbox, and the
command line runs in this process with that frozen clock. The expected output is in
``tests/pinned/``; a difference there is a change of the command-line contract.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aptien_ops.cli.main import cli
from aptien_ops.cli.state import CliState
from aptien_ops.composition import open_console

from fleet_configs import sandbox_with_eu_on
from tenant_seeding import seeded

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
TENANT = "pinned-gmbh"
PINNED = Path(__file__).parent / "pinned"
Run = Callable[..., str]
#: The seed's first burst of failures (from an address never seen before) is in this window.
AROUND_THE_ATTACK = ("--since", "2026-02-07T06:00:00Z", "--until", "2026-02-08T06:00:00Z")


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite sandbox with one tenant: 12 users, 1,500 logins over the 90 days before NOW."""
    config = sandbox_with_eu_on("sqlite", tmp_path_factory.mktemp("pinned") / "sbx")
    console = open_console(config, clock=lambda: NOW)
    try:
        seeded(console, TENANT, logins=1500, events=50, users=12, seed=5, now=NOW)
    finally:
        console.close()
    return config


@pytest.fixture
def run(config: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Run]:
    """Run a command line as the sandbox's security officer sam, at NOW; returns its stdout."""

    def run(*args: str) -> str:
        console = open_console(config, clock=lambda: NOW, env={"APTIEN_OPS_OPERATOR": "sam"})
        state = CliState(clock=lambda: NOW, _console=console)
        capsys.readouterr()
        cli.main(
            args=["--config", str(config), *args],
            prog_name="aptien-ops",
            standalone_mode=False,
            obj=state,
        )
        return capsys.readouterr().out

    yield run


def pinned(name: str) -> str:
    return (PINNED / name).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "name"),
    [
        (("--since", "91d", "--per", "day"), "summary-91d-per-day"),
        ((), "summary-default"),
        (AROUND_THE_ATTACK, "summary-around-the-attack"),
    ],
)
def test_the_summary_prints_the_same_json_and_text_as_before(
    run: Run, args: tuple[str, ...], name: str
) -> None:
    as_json = run("--json", "inspect", "summary", TENANT, *args)
    assert as_json == pinned(f"{name}.json")
    assert run("inspect", "summary", TENANT, *args) == pinned(f"{name}.txt")


def test_the_around_the_attack_window_holds_a_burst_and_first_seen_addresses() -> None:
    data = json.loads(pinned("summary-around-the-attack.json"))
    assert data["bursts"] and data["first_seen_ips"] and data["per"] == "hour"


def test_an_export_prints_the_same_json_as_before(run: Run, tmp_path: Path) -> None:
    out = tmp_path / "logins.jsonl"
    printed = run(
        "--json",
        "inspect",
        "export",
        TENANT,
        "--kind",
        "logins",
        "--format",
        "jsonl",
        "--output",
        str(out),
        "--reason",
        "SEC-1",
        "--since",
        "7d",
    )
    assert printed.replace(str(out), "OUTPUT") == pinned("export-logins.json")
