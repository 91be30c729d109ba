"""Key files appear whole: concurrent first runs all end up with the same key."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from aptien_ops.backends.backup_signing import RegionSigner
from aptien_ops.backends.region_keys import RegionSealer
from aptien_ops.errors import ConfigError
from aptien_ops.keyfiles import create_exclusively
from aptien_ops.opslog import load_or_create_key


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


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "is missing"),
        (b"not hex at all\n", "is not hex"),
        (b"\xff\xfe", "is not hex"),
        (b"ab" * 16 + b"\n", "must hold 32 bytes, not 16"),
        (b"ab" * 33, "must hold 32 bytes, not 33"),
    ],
)
def test_every_key_file_is_refused_the_same_way_without_showing_its_content(
    tmp_path: Path, content: bytes | None, problem: str
) -> None:
    loaders = {
        "ops-log key": lambda p: load_or_create_key(p, create=False),
        "region key": lambda p: RegionSealer(p, create=False),
        "region signing key": lambda p: RegionSigner(p, create=False),
    }
    for what, load in loaders.items():
        path = tmp_path / what.replace(" ", "-")
        if content is not None:
            path.write_bytes(content)
        with pytest.raises(ConfigError) as caught:
            load(path)
        assert caught.value.message == f"the {what} {path} {problem}"
        if content:
            assert content.strip().decode("latin-1") not in str(caught.value.message)
        assert not path.exists() or path.read_bytes() == content  # a bad key is never replaced


def test_an_unreadable_key_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "opslog.key"
    path.mkdir()  # reading a directory fails with EISDIR
    with pytest.raises(ConfigError, match="cannot read the ops-log key"):
        load_or_create_key(path, create=True)
