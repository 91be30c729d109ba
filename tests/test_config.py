"""ops.toml: found in the documented order, validated with the file, key and reason named."""

from __future__ import annotations

from pathlib import Path

import pytest

from aptien_ops.config import DEFAULT_CONFIG, find_config, load_settings
from aptien_ops.errors import ConfigError, ExitCode

REPO = Path(__file__).resolve().parent.parent

GOOD = """
mode = "sandbox"
data_dir = "."
[catalog]
url = "sqlite:///{data_dir}/catalog.db"
[regions.eu]
backup_store = "backups/eu"
[[regions.eu.clusters]]
name = "eu-1"
kind = "sqlite"
url = "sqlite:///{data_dir}/tenants/eu-1"
[regions.us]
backup_store = "backups/us"
[[regions.us.clusters]]
name = "us-1"
kind = "sqlite"
url = "sqlite:///{data_dir}/tenants/us-1"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ops.toml"
    path.write_text(text)
    return path


def refused(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text))
    assert info.value.exit_code == ExitCode.INVALID
    message = info.value.one_line()
    assert "\n" not in message and str(tmp_path / "ops.toml") in message
    return message


def test_the_repository_ops_toml_is_the_embedded_default() -> None:
    assert (REPO / "ops.toml").read_text() == DEFAULT_CONFIG.read_text()


def test_the_embedded_default_is_a_valid_sandbox_in_the_user_data_dir(tmp_path: Path) -> None:
    settings = load_settings()
    assert settings.path is None and settings.sandbox
    assert settings.data_dir == tmp_path / "home" / "data" / "aptien-ops" / "sandbox"
    assert set(settings.regions) == {"eu", "us"}


def test_config_is_found_by_flag_then_env_then_cwd_then_user_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = tmp_path / "home" / "config" / "aptien-ops"
    user.mkdir(parents=True)
    (user / "ops.toml").write_text(GOOD)
    assert find_config() == (user / "ops.toml").resolve()
    cwd = write(tmp_path, GOOD)
    assert find_config() == cwd.resolve()
    env_file = tmp_path / "env.toml"
    env_file.write_text(GOOD)
    monkeypatch.setenv("APTIEN_OPS_CONFIG", str(env_file))
    assert find_config() == env_file.resolve()
    flag = tmp_path / "flag.toml"
    flag.write_text(GOOD)
    assert find_config(flag) == flag.resolve()


def test_a_missing_config_named_by_flag_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        find_config(tmp_path / "nope.toml")


def test_malformed_toml_is_refused_with_the_file_named(tmp_path: Path) -> None:
    assert "not valid TOML" in refused(tmp_path, "mode = [unclosed")


def test_an_unknown_key_is_refused_by_its_dotted_name(tmp_path: Path) -> None:
    assert "regions.eu.clusters.0.colour: unknown key" in refused(
        tmp_path, GOOD.replace('kind = "sqlite"', 'kind = "sqlite"\ncolour = "red"', 1)
    )
    assert "catalgo: unknown key" in refused(tmp_path, GOOD + "\n[catalgo]\nurl='x'\n")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('mode = "sandbox"', 'mode = "staging"'), 'mode: must be "sandbox" or "production"'),
        (('kind = "sqlite"', 'kind = "mysql"'), "kind: must be"),
        (('name = "eu-1"', 'name = "EU 1"'), "not a valid cluster name"),
        (('backup_store = "backups/us"\n', ""), "regions.us.backup_store: is required"),
        (
            ("[[regions.eu.clusters]]", "[[regions.eu.clusters]]\ncapacity = 0"),
            "capacity: must be at least 1",
        ),
        (
            ("[[regions.eu.clusters]]", '[[regions.eu.clusters]]\ncapacity = "ten"'),
            "capacity: must be an integer",
        ),
        (
            ('mode = "sandbox"', 'mode = "sandbox"\n[jobs]\nkeep_days = 0'),
            "jobs.keep_days: must be",
        ),
        (
            ('mode = "sandbox"', 'mode = "sandbox"\n[jobs]\nkeep_days = 30\nkeep_failed_days = 7'),
            "jobs.keep_failed_days: must be between keep_days",
        ),
    ],
)
def test_wrong_values_are_refused_with_the_reason(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    assert expected in refused(tmp_path, GOOD.replace(*change, 1))


PG_CATALOG = '[catalog]\nurl = "postgresql+psycopg://ops_runtime@/ops?host=/run/pg"'


@pytest.mark.parametrize(
    ("catalog", "expected"),
    [
        ('[catalog]\nurl = "sqlite:///x.db"\nowner = "ops_owner"', "owner: applies to a Postgre"),
        (f'{PG_CATALOG}\nowner = "ops_runtime"', "owner: must be a role other than the url's"),
        (f'{PG_CATALOG}\nowner = "Ops Owner"', "is not a PostgreSQL role name"),
        (f'{PG_CATALOG}\nowner_password_env = "PW"', "owner_password_env: is only used with"),
        (
            '[catalog]\nurl = "postgresql+psycopg:///ops"\nowner = "ops_owner"',
            "url: must name the runtime role",
        ),
        (f'{PG_CATALOG}\nowner = "o"\nowner_password = "hunter2"', "owner_password: secrets"),
    ],
)
def test_a_catalog_owner_is_checked_with_the_key_named(
    tmp_path: Path, catalog: str, expected: str
) -> None:
    text = GOOD.replace('[catalog]\nurl = "sqlite:///{data_dir}/catalog.db"', catalog)
    message = refused(tmp_path, text)
    assert expected in message and "hunter2" not in message


def test_a_catalog_owner_and_its_password_reference_are_read(tmp_path: Path) -> None:
    text = f'{PG_CATALOG}\nowner = "ops_owner"\nowner_password_file = "/etc/ops/owner.pw"'
    settings = load_settings(
        write(tmp_path, GOOD.replace('[catalog]\nurl = "sqlite:///{data_dir}/catalog.db"', text))
    )
    assert settings.catalog.owner == "ops_owner"
    assert settings.catalog.owner_password.file == Path("/etc/ops/owner.pw")


@pytest.mark.parametrize(
    "secret",
    [
        '[catalog]\nurl = "postgresql+psycopg://ops:hunter2@db/ops"',
        '[catalog]\nurl = "sqlite:///x.db"\npassword = "hunter2"',
        '[catalog]\nurl = "sqlite:///x.db"\napi_key = "sk_live_123"',
    ],
)
def test_a_secret_written_in_the_file_is_refused_and_not_echoed(
    tmp_path: Path, secret: str
) -> None:
    text = GOOD.replace('[catalog]\nurl = "sqlite:///{data_dir}/catalog.db"', secret)
    message = refused(tmp_path, text)
    assert "hunter2" not in message and "sk_live_123" not in message
    assert "password_file" in message or "password_env" in message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ('backup_store = "backups/us"', 'backup_store = "backups/eu"'),
            "shares storage with region 'eu'",
        ),
        (
            ('backup_store = "backups/us"', 'backup_store = "backups/eu/us"'),
            "shares storage with region 'eu'",
        ),
        (
            ("sqlite:///{data_dir}/tenants/us-1", "sqlite:///{data_dir}/tenants/eu-1"),
            "also used by region 'eu'",
        ),
    ],
)
def test_two_regions_sharing_a_store_or_cluster_break_residency_and_are_refused(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    assert expected in refused(tmp_path, GOOD.replace(*change, 1))


def test_an_override_to_an_unknown_region_is_refused(tmp_path: Path) -> None:
    assert "unknown region 'apac'" in refused(
        tmp_path, GOOD + '\n[region_overrides]\nIL = "apac"\n'
    )


def test_relative_paths_are_relative_to_data_dir_which_is_relative_to_the_file(
    tmp_path: Path,
) -> None:
    settings = load_settings(write(tmp_path, GOOD))
    assert settings.data_dir == tmp_path
    assert settings.regions["eu"].backup_store == tmp_path / "backups" / "eu"
    assert settings.catalog.url == f"sqlite:///{tmp_path}/catalog.db"


def test_the_bastion_section_names_accounts_and_groups(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, GOOD))
    assert settings.bastion.service_account == "aptien-ops"
    assert settings.bastion.operators_group is None and settings.bastion.log_group is None
    section = (
        '\n[bastion]\nservice_account = "ops-svc"\noperators_group = "ops"\nlog_group = "adm"\n'
    )
    bastion = load_settings(write(tmp_path, GOOD + section)).bastion
    assert (bastion.service_account, bastion.operators_group, bastion.log_group) == (
        "ops-svc", "ops", "adm")  # fmt: skip


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ('service_account = "root"', "bastion.service_account: must be an account of its own"),
        ('service_account = "Ops Svc"', "bastion.service_account: 'Ops Svc' is not an account"),
        ('log_group = "adm;rm"', "bastion.log_group: 'adm;rm' is not an account or group name"),
        ('operators = "ops"', "bastion.operators: unknown key"),
    ],
)
def test_a_wrong_bastion_section_is_refused(tmp_path: Path, section: str, expected: str) -> None:
    assert expected in refused(tmp_path, f"{GOOD}\n[bastion]\n{section}\n")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("rotate_mib = -1", "logging.rotate_mib: must be between 0 and 65536, got -1"),
        ("keep_rotated = 1001", "logging.keep_rotated: must be between 0 and 1000, got 1001"),
    ],
)
def test_event_log_rotation_is_checked(tmp_path: Path, line: str, expected: str) -> None:
    assert expected in refused(tmp_path, f"{GOOD}\n[logging]\n{line}\n")
