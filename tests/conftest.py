"""Shared fixtures: an isolated environment per test, sandboxes, and the real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from backup_site import pg_site, site  # noqa: F401 - fixtures of the backup tests

from pg_fixtures import *  # noqa: F403 - the suite's own PostgreSQL server (pg_server, …)

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test sees the developer's config, data dir, or the repo's ./ops.toml."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    for var in ("APTIEN_OPS_CONFIG", "APTIEN_OPS_OPERATOR", "SSH_CONNECTION"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    yield


@pytest.fixture
def sandbox_dir(tmp_path: Path) -> Path:
    """A sandbox config (no catalog yet) in its own directory."""
    from aptien_ops.sandbox import write_sandbox_config

    directory = tmp_path / "sbx"
    write_sandbox_config(directory)
    return directory


@pytest.fixture
def sandbox_config(sandbox_dir: Path) -> Path:
    return sandbox_dir / "ops.toml"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def catalog_config(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A sandbox whose catalog is SQLite, or a fresh database on the suite's PostgreSQL."""
    from aptien_ops.sandbox import write_sandbox_config

    path, _ = write_sandbox_config(tmp_path / "sbx")
    if request.param == "postgresql":
        pg = request.getfixturevalue("pg_server")
        url = pg.url(dbname=pg.fresh_database("catalog"))
        path.write_text(
            path.read_text().replace('url = "sqlite:///{data_dir}/catalog.db"', f'url = "{url}"')
        )
    return path


@pytest.fixture
def console(sandbox_config: Path):  # type: ignore[no-untyped-def]
    """A console on a fresh sandbox, acting as the (admin) OS account running the tests."""
    from aptien_ops.composition import open_console

    c = open_console(sandbox_config)
    yield c
    c.close()


@pytest.fixture
def as_operator(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Act as another (sandbox) operator: ``as_operator("vic")``."""

    def switch(name: str | None) -> None:
        if name is None:
            monkeypatch.delenv("APTIEN_OPS_OPERATOR", raising=False)
        else:
            monkeypatch.setenv("APTIEN_OPS_OPERATOR", name)

    return switch
