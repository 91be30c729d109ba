"""Sandbox configurations whose eu region runs on SQLite or on the suite's real PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from aptien_ops.composition import Console, open_console
from aptien_ops.sandbox import write_sandbox_config

#: The eu cluster of a new sandbox's config, to be replaced by another.
EU_CLUSTER = (
    'name = "eu-sandbox-1"\nkind = "sqlite"\nurl = "sqlite:///{data_dir}/tenants/eu-sandbox-1"'
)


def sandbox_with_eu_on(
    kind: str, directory: Path, pg_server: object | None = None, *, capacity: int = 20000
) -> Path:
    """Write a sandbox whose eu cluster is ``kind`` (us stays SQLite: two regions never share a
    server)."""
    config, _ = write_sandbox_config(directory)
    text = config.read_text()
    if kind == "postgresql":
        assert pg_server is not None
        url = pg_server.url()  # type: ignore[attr-defined]
        text = text.replace(
            EU_CLUSTER,
            f'name = "eu-pg-1"\nkind = "postgresql"\nurl = "{url}"\n'
            'inspector_password_env = "APTIEN_TEST_INSPECTOR_PW"',
        )
    text = text.replace("capacity = 20000", f"capacity = {capacity}")
    config.write_text(text)
    return config


def eu_unreachable(config: Path, nowhere: Path) -> None:
    """Point the eu cluster at a place where nothing answers: a path under a plain file
    (SQLite), a socket directory with no server in it (PostgreSQL)."""
    text = config.read_text()
    blocker = nowhere / "plain-file"
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("not a directory")
    sqlite_eu = "sqlite:///{data_dir}/tenants/eu-sandbox-1"
    if sqlite_eu in text:
        text = text.replace(sqlite_eu, f"sqlite:///{blocker}/eu")
    else:
        text = re.sub(r"host=[^&\"]+", f"host={nowhere}", text, count=1)
    config.write_text(text)


# Fixtures for test modules that import them
# (``from fleet_configs import eu_cluster_kind, eu_fleet_config``): registered there under the
# names ``kind``, ``config`` and ``ops``.


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], name="kind"
)
def eu_cluster_kind(request: pytest.FixtureRequest) -> str:
    """What the eu cluster runs on: SQLite files, then the suite's PostgreSQL server."""
    return str(request.param)


@pytest.fixture(name="config")
def eu_fleet_config(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A sandbox whose eu cluster is ``kind`` (on PostgreSQL, its inspector's password set)."""
    monkeypatch.setenv("APTIEN_TEST_INSPECTOR_PW", "inspector-pw-for-tests")
    pg = request.getfixturevalue("pg_server") if kind == "postgresql" else None
    return sandbox_with_eu_on(kind, tmp_path / "sbx", pg)


@pytest.fixture(name="ops")
def eu_fleet_console(config: Path) -> Iterator[Console]:
    """The console opened on ``config``, closed afterwards."""
    console = open_console(config)
    yield console
    console.close()
