"""A file a live run holds is never swept: not even by a sweep that comes at the worst moment,
between the file getting its name and its lock (found once as a parallel ``backup run`` on
SQLite whose second worker's sweep removed the first worker's scratch copy being created)."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from aptien_ops.backends import held_files, sqlite_scratch
from aptien_ops.errors import Conflict

_flock = fcntl.flock


def sweep_before_the_first_lock(
    monkeypatch: pytest.MonkeyPatch, sweep: Callable[[], None]
) -> list[int]:
    """Run ``sweep`` just before the creator's first blocking lock, as another thread's sweep
    could; returns the list the sweep's turn is counted in."""
    turns: list[int] = []

    def flock(fd: int, operation: int) -> None:
        if operation == fcntl.LOCK_EX and not turns:
            turns.append(fd)
            sweep()
        _flock(fd, operation)

    monkeypatch.setattr(held_files.fcntl, "flock", flock)
    return turns


def held_by_someone(path: Path) -> bool:
    with path.open("rb") as fh:
        try:
            _flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        _flock(fh.fileno(), fcntl.LOCK_UN)
        return False


def test_a_sweep_between_open_and_lock_finds_nothing_to_take(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "scratch_acme_0123abcd.db"
    swept: list[bool] = []
    turns = sweep_before_the_first_lock(
        monkeypatch, lambda: swept.append(held_files.remove_if_unheld(path))
    )
    fd = held_files.create_held(path)
    try:
        assert turns and swept == [False]  # the sweep came, and the name was not there yet
        assert path.exists() and held_by_someone(path)
        assert held_files.remove_if_unheld(path) is False
    finally:
        os.close(fd)
    assert held_files.remove_if_unheld(path) is True  # released: a dead run's leftover


def test_without_nameless_files_a_swept_creation_is_made_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "scratch_acme_0123abcd.db"
    swept: list[bool] = []
    sweep_before_the_first_lock(
        monkeypatch, lambda: swept.append(held_files.remove_if_unheld(path))
    )
    fd = held_files._create_by_name(path)
    try:
        assert swept == [True]  # the sweep took the first, unlocked file...
        assert path.exists() and held_by_someone(path)  # ...and the second is held
    finally:
        os.close(fd)


def test_an_existing_name_is_another_runs(tmp_path: Path) -> None:
    path = tmp_path / "scratch_acme_0123abcd.db"
    path.write_bytes(b"")
    with pytest.raises(Conflict, match="another run"):
        held_files.create_held(path)
    with pytest.raises(Conflict, match="another run"):
        held_files._create_by_name(path)


def test_a_scratch_copy_being_created_survives_a_parallel_sweep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster = tmp_path / "cluster"
    cluster.mkdir()
    sweeps = []
    sweep_before_the_first_lock(
        monkeypatch, lambda: sweeps.append(sqlite_scratch.sweep("eu-1", cluster))
    )
    with sqlite_scratch.held_copy("eu-1", cluster, "acme") as copy:
        assert copy.path.exists() and held_by_someone(copy.path)
        assert [s.removed for s in sweeps] == [()]
    assert not copy.path.exists()
