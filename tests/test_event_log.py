"""The JSON event log (the SIEM's copy) holds personal data: it is private however its directory
and the umask are set, and stays private as it rotates."""

from __future__ import annotations

import grp
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from aptien_ops.eventlog import EventLog


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def write_events(log: EventLog, count: int) -> None:
    for n in range(count):
        log.internal_error(ValueError(f"event {n}"))


def test_the_event_log_is_private_in_an_open_directory(tmp_path: Path, open_umask: None) -> None:
    logs = tmp_path / "logs"
    logs.mkdir(mode=0o755)
    log = EventLog(logs / "aptien-ops.jsonl")
    write_events(log, 1)
    log.close()
    assert mode(logs) == 0o755 and mode(logs / "aptien-ops.jsonl") == 0o600


def test_a_log_left_readable_by_an_older_version_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "aptien-ops.jsonl"
    path.write_text('{"event": "old"}\n')
    path.chmod(0o644)
    log = EventLog(path)
    write_events(log, 1)
    log.close()
    assert mode(path) == 0o600 and path.read_text().startswith('{"event": "old"}\n')


def test_with_a_log_group_the_log_is_readable_by_that_group_only(
    tmp_path: Path, open_umask: None
) -> None:
    group = grp.getgrgid(os.getegid()).gr_name  # one this process may give files to
    path = tmp_path / "aptien-ops.jsonl"
    log = EventLog(path, group=group)
    write_events(log, 1)
    log.close()
    assert mode(path) == 0o640 and path.stat().st_gid == os.getegid()


def test_the_log_rotates_by_size_and_keeps_private_copies(tmp_path: Path, open_umask: None) -> None:
    path = tmp_path / "logs" / "aptien-ops.jsonl"
    log = EventLog(path, rotate_bytes=4096, keep=2)
    write_events(log, 200)
    log.close()
    files = sorted(path.parent.iterdir())
    assert [f.name for f in files] == [
        "aptien-ops.jsonl",
        "aptien-ops.jsonl.1",
        "aptien-ops.jsonl.2",
    ]
    for f in files:
        assert mode(f) == 0o600
        assert 0 < f.stat().st_size <= 4096
        assert all(
            json.loads(line)["event"] == "internal_error" for line in f.read_text().splitlines()
        )
    newest = [json.loads(line)["error"] for line in path.read_text().splitlines()]
    assert newest and all(e == "ValueError" for e in newest)


def test_two_consoles_sharing_the_log_lose_and_split_no_line(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "aptien-ops.jsonl"
    first = EventLog(path, rotate_bytes=2048, keep=50)
    second = EventLog(path, rotate_bytes=2048, keep=50)
    for n in range(40):
        for log in (first, second):
            log.internal_error(ValueError(f"event {n}"))
    first.close()
    second.close()
    files = list(path.parent.iterdir())
    lines = [line for f in files for line in f.read_text().splitlines()]
    assert len(lines) == 80 and all(json.loads(line)["level"] == "error" for line in lines)
    assert len(files) > 2  # it did rotate
