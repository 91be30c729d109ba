"""Interactive sessions in the ops log, and ``operator sessions``: who is on now, and a
session whose process is gone without an end entry shown as stale, never on forever.
Through a real sshd and terminal: tests/test_ssh_tui.py."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from aptien_ops.composition import open_console
from aptien_ops.services import sessions
from aptien_ops.services.sessions import Holder, process_start

from cli_runner import run_cli


def _last_child() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_session_is_on_until_it_ends(sandbox_config: Path) -> None:
    console = open_console(sandbox_config)
    try:
        started = console.sessions.start()
        [row] = console.sessions.list().sessions
        assert (row.operator, row.state, row.since, row.pid) == (
            started.operator, "on", started.at, os.getpid())  # fmt: skip
        console.sessions.end(started, "quit")
        assert console.sessions.list().sessions == []
        [ended] = console.sessions.list(ended=True).sessions
        assert ended.state == "ended" and ended.ended_at is not None
    finally:
        console.close()


@pytest.mark.parametrize(
    ("holder", "state"),
    [
        (lambda: Holder(_last_child(), Holder.of_this_process().host, "1"), "stale"),  # gone
        (lambda: replace(Holder.of_this_process(), started="1"), "stale"),  # pid reused
        (lambda: replace(Holder.of_this_process(), host="other-bastion"), "elsewhere"),
    ],
    ids=["process-gone", "pid-reused", "other-host"],
)
def test_a_session_left_without_an_end_is_never_on(
    sandbox_config: Path, monkeypatch: pytest.MonkeyPatch, holder: object, state: str
) -> None:
    made = holder()  # type: ignore[operator]
    monkeypatch.setattr(sessions.Holder, "of_this_process", classmethod(lambda cls: made))
    console = open_console(sandbox_config)
    try:
        console.sessions.start()  # and then the process "crashed": no end
        [row] = console.sessions.list().sessions
        assert row.state == state
    finally:
        console.close()


def test_the_process_start_time_tells_a_reused_pid(tmp_path: Path) -> None:
    mine = process_start(os.getpid())
    assert mine is not None and mine == process_start(os.getpid())
    assert process_start(_last_child()) is None
    fake = tmp_path / "42"
    fake.mkdir()
    fake.joinpath("stat").write_text("42 (a) b) c) S " + " ".join(map(str, range(1, 30))))
    assert process_start(42, tmp_path) == "19"  # after the name, whatever it holds


def test_operator_sessions_needs_security_or_admin_and_is_logged(sandbox_config: Path) -> None:
    console = open_console(sandbox_config)
    try:
        console.sessions.start()
    finally:
        console.close()
    listed = run_cli("--json", "operator", "sessions", config=sandbox_config)
    assert listed.code == 0, listed.stderr
    [row] = listed.json()
    assert row["state"] == "on" and row["origin"] is None
    text = run_cli("operator", "sessions", config=sandbox_config)
    assert text.stdout.splitlines()[0].split() == [
        "OPERATOR", "ORIGIN", "SINCE", "STATE", "HOST", "SESSION_ID"]  # fmt: skip
    refused = run_cli("--json", "operator", "sessions", config=sandbox_config, operator="vic")
    assert refused.code == 4
    log = run_cli("--json", "ops-log", "list", "--limit", "3", config=sandbox_config).json()
    assert [(e["action"], e["outcome"]) for e in log[:2]] == [
        ("session.view", "denied"), ("session.view", "ok")]  # fmt: skip
