"""Where the configuration is found, and reading it."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from aptien_ops import bastion
from aptien_ops.config.parsing import parse_settings
from aptien_ops.config.settings import DEFAULT_CONFIG, Settings, user_config_dir
from aptien_ops.errors import ConfigError, Forbidden


def find_config(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The config file to use, or None for the embedded default.

    A service account's config is fixed (see :mod:`aptien_ops.bastion`).

    Raises:
        ConfigError: ``--config`` or ``$APTIEN_OPS_CONFIG`` names a file that does not exist.
        Forbidden: either is given to a service account; or nothing is given and found, and
            this account is an operator of the machine's service account (use sudo).
        IntegrityFailure: the service account's config is not root's alone.
    """
    return _locate(explicit)[0]


def _locate(
    explicit: str | os.PathLike[str] | None,
) -> tuple[Path | None, bastion.ServiceAccount | None]:
    service = bastion.this_service_account()
    if service is not None:
        bastion.refuse_other_config(service, explicit, os.environ)
        return service.config, service
    for source, value in (
        ("--config", explicit),
        (bastion.CONFIG_ENV, os.environ.get(bastion.CONFIG_ENV)),
    ):
        if value:
            path = Path(value).expanduser()
            if not path.is_file():
                raise ConfigError(f"config file {path} (from {source}) does not exist")
            return path.resolve(), None
    for candidate in (Path.cwd() / "ops.toml", user_config_dir() / "ops.toml"):
        if candidate.is_file():
            return candidate.resolve(), None
    account = bastion.service_account_of_my_group()
    if account is not None:
        raise Forbidden(
            f"this machine's console runs as {account}, through sudo",
            hint=f"run: {bastion.sudo_command(account)}; or --config for a sandbox of your own",
        )
    return None, None


def load_settings(explicit: str | os.PathLike[str] | None = None) -> Settings:
    """Find, read and validate the configuration.

    Raises:
        ConfigError: the file is malformed, has unknown keys, wrong values or a secret in it;
            a service account's config is not production or names another account.
        Forbidden, IntegrityFailure: as :func:`find_config`.
    """
    path, service = _locate(explicit)
    text_path = path or DEFAULT_CONFIG
    try:
        raw = tomllib.loads(text_path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{text_path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{text_path}: cannot read: {exc}") from None
    settings = parse_settings(raw, path)
    if service is not None:
        bastion.check_service_settings(settings, service)
    return settings
