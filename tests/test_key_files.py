"""Key files appear whole: concurrent first runs all end up with the same key."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from aptien_ops.keyfiles import create_exclusively
from aptien_ops.opslog import load_or_create_key
from backends.backup_signing import RegionSigner
from backends.region_keys import RegionSealer


def test_concurrent_first_runs_agree_on_one_ops_log_key(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "opslog.key"
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: load_or_create_key(path, create=True), range(32)))
    assert len(keys) == 1
    assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["opslog.key"]


def test_concurrent_first_runs_agree_on_the_region_key(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "region-eu.key"
    with ThreadPoolExecutor(8) as pool:
        sealers = list(pool.map(lambda _: RegionSealer(path, create=True), range(16)))
    sealed = sealers[0].seal(b"secret", "ctx")
    assert all(s.unseal(sealed, "ctx") == b"secret" for s in sealers)


def test_concurrent_first_runs_agree_on_the_signing_key(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "region-eu.sign.key"
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: RegionSigner(path, create=True), range(16)))
    assert len(path.read_text().strip()) == 64


def test_an_existing_key_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "k"
    assert create_exclusively(path, b"first")
    assert not create_exclusively(path, b"second")
    assert path.read_bytes() == b"first"
