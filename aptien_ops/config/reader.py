"""Reading one table of the TOML document: typed values, and errors that name the key."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from aptien_ops.config.settings import SecretRef
from aptien_ops.errors import ConfigError

#: Keys that would hold a secret if they were allowed in the file.
SECRET_KEYS = re.compile(r"(^|_)(password|passwd|secret|token|api_key|apikey|private_key)$")


class TableReader:
    """Reads one table of the TOML document, remembering its dotted location for errors."""

    def __init__(self, file: str, where: str, table: Any) -> None:
        if not isinstance(table, dict):
            raise ConfigError(f"{file}: [{where}] must be a table")
        self.file, self.where, self.table = file, where, table
        self.seen: set[str] = set()

    def _key(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def fail(self, key: str, reason: str) -> ConfigError:
        return ConfigError(f"{self.file}: {self._key(key)}: {reason}")

    def get(
        self, key: str, kind: type | tuple[type, ...], default: Any = ..., *, required: bool = False
    ) -> Any:
        self.seen.add(key)
        if key not in self.table:
            if required or default is ...:
                raise self.fail(key, "is required")
            return default
        value = self.table[key]
        if isinstance(value, bool) and kind is int or not isinstance(value, kind):
            names = (
                kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            )
            raise self.fail(key, f"must be {article(names)}, got {value!r:.60}")
        return value

    def within(
        self, key: str, default: float, low: float, high: float, kind: type | tuple[type, ...] = int
    ) -> Any:
        """A number between ``low`` and ``high`` (inclusive). Raises: ConfigError."""
        value = self.get(key, kind, default)
        if not low <= value <= high:
            raise self.fail(key, f"must be between {low:g} and {high:g}, got {value}")
        return value

    def sub(self, key: str, default: Any = ...) -> TableReader:
        self.seen.add(key)
        if key not in self.table:
            if default is ...:
                raise self.fail(key, "is required")
            return TableReader(self.file, self._key(key), default)
        return TableReader(self.file, self._key(key), self.table[key])

    def secret(self, prefix: str = "password") -> SecretRef:
        file = self.get(f"{prefix}_file", str, None)
        env = self.get(f"{prefix}_env", str, None)
        if file and env:
            raise self.fail(f"{prefix}_file", f"give {prefix}_file or {prefix}_env, not both")
        if env is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", env):
            raise self.fail(f"{prefix}_env", f"{env!r} is not an environment variable name")
        return SecretRef(file=Path(file).expanduser() if file else None, env=env)

    def done(self) -> None:
        for key in self.table:
            if SECRET_KEYS.search(key):
                raise self.fail(
                    key,
                    "secrets may not be written in the config file; "
                    "use password_file or password_env",
                )
        unknown = sorted(set(self.table) - self.seen)
        if unknown:
            raise self.fail(unknown[0], "unknown key")


def article(name: str) -> str:
    return {
        "str": "a string",
        "int": "an integer",
        "list": "a list",
        "dict": "a table",
        "bool": "true or false",
    }.get(name, name)


def check_url(reader: TableReader, key: str, url: str, kinds: tuple[str, ...]) -> None:
    scheme = url.split(":", 1)[0]
    kind = scheme.split("+", 1)[0]
    if "://" not in url or kind not in kinds:
        raise reader.fail(
            key,
            f"must be a URL starting with {' or '.join(k + '://' for k in kinds)}, got {url.split('://')[0]!r}",
        )
    netloc = url.split("://", 1)[1].split("/", 1)[0]
    if "@" in netloc and ":" in netloc.rsplit("@", 1)[0]:
        raise reader.fail(
            key, "the URL contains a password; use password_file or password_env instead"
        )
