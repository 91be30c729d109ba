"""Key files appear whole (concurrent first runs all end up with the same key), are private
in production, and are never made again in place of one the catalog depends on."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from ci_skips import missing_tool

from aptien_ops.backends.backup_signing import RegionSigner
from aptien_ops.backends.region_keys import RegionSealer
from aptien_ops.composition import open_console
from aptien_ops.config import load_settings
from aptien_ops.errors import ConfigError, ExitCode, IntegrityFailure
from aptien_ops.keyfiles import create_exclusively
from aptien_ops.opslog import load_or_create_key
from aptien_ops.services.provisioning import ProvisionRequest


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


# ----------------------------------------------------------------------------- private keys

STRICT_LOADERS = {
    "ops-log key": lambda p, strict: load_or_create_key(p, create=False, strict_modes=strict),
    "region key": lambda p, strict: RegionSealer(p, create=False, strict_modes=strict),
    "region signing key": lambda p, strict: RegionSigner(p, create=False, strict_modes=strict),
}


def _key(directory: Path, mode: int) -> Path:
    directory.mkdir(mode=0o700, exist_ok=True)
    path = directory / "k.key"
    path.write_text("ab" * 32)
    path.chmod(mode)
    return path


@pytest.mark.parametrize("what", STRICT_LOADERS)
def test_in_production_a_key_others_can_read_is_refused_naming_the_fix(
    tmp_path: Path, what: str
) -> None:
    path = _key(tmp_path / "keys", 0o644)
    with pytest.raises(IntegrityFailure) as caught:
        STRICT_LOADERS[what](path, True)
    assert caught.value.exit_code == ExitCode.INTEGRITY
    assert caught.value.message == f"the {what} {path} is open to group or others (mode 0644)"
    assert caught.value.hint == f"chmod 600 {path}"
    STRICT_LOADERS[what](path, False)  # a sandbox takes it as it always did
    path.chmod(0o600)
    STRICT_LOADERS[what](path, True)


def test_in_production_a_key_in_a_directory_others_can_write_is_refused(tmp_path: Path) -> None:
    path = _key(tmp_path / "keys", 0o600)
    path.parent.chmod(0o777)
    with pytest.raises(IntegrityFailure) as caught:
        load_or_create_key(path, create=False, strict_modes=True)
    assert caught.value.message == (
        f"the directory {path.parent} of the ops-log key is writable by group or others (mode 0777)"
    )
    assert caught.value.hint == f"chmod go-w {path.parent}"
    path.parent.chmod(0o1777)  # sticky, as /tmp: nobody else can rename what is ours
    load_or_create_key(path, create=False, strict_modes=True)


def test_in_production_a_key_owned_by_another_account_is_refused(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        missing_tool("giving a file to another account needs root", "the key ownership test")
    path = _key(tmp_path / "keys", 0o600)
    os.chown(path, 65534, -1)
    with pytest.raises(IntegrityFailure, match="belongs to") as caught:
        load_or_create_key(path, create=False, strict_modes=True)
    assert caught.value.hint == f"chown root {path}"


def test_a_new_key_is_private_and_accepted_in_production(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "opslog.key"
    key = load_or_create_key(path, create=True, strict_modes=True)
    assert load_or_create_key(path, create=False, strict_modes=True) == key


# ----------------------------------------------------------------------------- never replaced


def test_a_missing_ops_log_key_is_not_made_again_once_the_log_has_entries(
    sandbox_config: Path,
) -> None:
    open_console(sandbox_config).close()  # the catalog's first entry
    key = load_settings(sandbox_config).security.opslog_key_file
    key.unlink()
    for deferred in (False, True):
        with pytest.raises(IntegrityFailure) as caught:
            open_console(sandbox_config, defer_catalog=deferred)
        assert caught.value.message == (
            f"the ops-log key {key} is missing, but the ops log has entries:"
            " a new key would not open them"
        )
        assert caught.value.hint == "restore it from the key escrow"
        assert not key.exists()


def test_a_missing_region_key_is_not_made_again_once_the_region_has_tenants(
    sandbox_config: Path,
) -> None:
    console = open_console(sandbox_config)
    try:
        console.provisioning.provision(ProvisionRequest("acme-gmbh", "DE"))
    finally:
        console.close()
    regions = load_settings(sandbox_config).regions
    regions["eu"].key_file.unlink()
    console = open_console(sandbox_config)
    try:
        with pytest.raises(IntegrityFailure, match="region eu has tenants whose secrets it sealed"):
            console.provisioning.provision(ProvisionRequest("globex-gmbh", "DE"))
        assert not regions["eu"].key_file.exists()
        console.provisioning.provision(ProvisionRequest("initech", "US"))  # us has none yet
        assert regions["us"].key_file.exists()
    finally:
        console.close()
