"""Sandboxes for the tests: on either catalog backend, and isolated from the user running the
suite (their config, data dir and ./ops.toml) for as long as a fixture needs one."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def sandbox_on(backend: str, directory: Path, request: pytest.FixtureRequest) -> Path:
    """A sandbox config in ``directory`` whose catalog is SQLite, or a fresh database on the
    suite's PostgreSQL (``backend`` "postgresql")."""
    from aptien_ops.sandbox import write_sandbox_config

    if backend == "postgresql":
        return sandbox_on_postgresql(directory, request.getfixturevalue("pg_server"))[0]
    return write_sandbox_config(directory)[0]


def sandbox_on_postgresql(directory: Path, pg: Any, name: str = "catalog") -> tuple[Path, str]:
    """A sandbox config in ``directory`` whose catalog is a fresh database ``name…`` on the
    suite's PostgreSQL ``pg`` (the ``pg_server`` fixture); returns it and that database's
    conninfo (for a raw psycopg connection)."""
    from aptien_ops.sandbox import write_sandbox_config

    path, _ = write_sandbox_config(directory)
    database = pg.fresh_database(name)
    url = pg.url(dbname=database)
    path.write_text(
        path.read_text().replace('url = "sqlite:///{data_dir}/catalog.db"', f'url = "{url}"')
    )
    return path, str(pg.conninfo(dbname=database))


def isolate(place: Path, patch: pytest.MonkeyPatch) -> None:
    """Home, data and config dirs under ``place``, no operator or config from the environment,
    and ``place`` the working directory (undone with ``patch``)."""
    home = place / "home"
    home.mkdir(exist_ok=True)
    patch.setenv("XDG_DATA_HOME", str(home / "data"))
    patch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    for var in ("APTIEN_OPS_CONFIG", "APTIEN_OPS_OPERATOR", "SSH_CONNECTION"):
        patch.delenv(var, raising=False)
    patch.chdir(place)


@contextmanager
def isolated_from_the_user(place: Path) -> Iterator[None]:
    """What ``isolated_env`` does for a test, for a fixture that outlives one (module scope)."""
    with pytest.MonkeyPatch.context() as patch:
        isolate(place, patch)
        yield
