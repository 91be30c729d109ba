"""Where the configuration is found, and reading it."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from aptien_ops.config.parsing import parse_settings
from aptien_ops.config.settings import DEFAULT_CONFIG, Settings, user_config_dir
from aptien_ops.errors import ConfigError


def find_config(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The config file to use, or None for the embedded default.

    Raises:
        ConfigError: ``--config`` or ``$APTIEN_OPS_CONFIG`` names a file that does not exist.
    """
    for source, value in (
        ("--config", explicit),
        ("APTIEN_OPS_CONFIG", os.environ.get("APTIEN_OPS_CONFIG")),
    ):
        if value:
            path = Path(value).expanduser()
            if not path.is_file():
                raise ConfigError(f"config file {path} (from {source}) does not exist")
            return path.resolve()
    for candidate in (Path.cwd() / "ops.toml", user_config_dir() / "ops.toml"):
        if candidate.is_file():
            return candidate.resolve()
    return None


def load_settings(explicit: str | os.PathLike[str] | None = None) -> Settings:
    """Find, read and validate the configuration.

    Raises:
        ConfigError: the file is malformed, has unknown keys, wrong values or a secret in it.
    """
    path = find_config(explicit)
    text_path = path or DEFAULT_CONFIG
    try:
        raw = tomllib.loads(text_path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{text_path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{text_path}: cannot read: {exc}") from None
    return parse_settings(raw, path)
