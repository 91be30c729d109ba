"""Shared fixtures: an isolated environment per test, sandboxes, and the real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from backup_site import pg_site, site  # noqa: F401 - fixtures of the backup tests

from pg_fixtures import *  # noqa: F403 - the suite's own PostgreSQL server (pg_server, …)
from sandboxes import BACKENDS, isolate, sandbox_on
from stripe_server import FaultProxy, LocalStripe, fault_proxy, start_localstripe

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test sees the developer's config, data dir, or the repo's ./ops.toml."""
    isolate(tmp_path, monkeypatch)
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


@pytest.fixture(params=BACKENDS)
def catalog_config(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A sandbox whose catalog is SQLite, or a fresh database on the suite's PostgreSQL."""
    return sandbox_on(request.param, tmp_path / "sbx", request)


@pytest.fixture(params=BACKENDS)
def sql_catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A bare catalog's URL (no sandbox): a SQLite file, or a fresh database of the suite's
    PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/catalog/catalog.db"
    server = request.getfixturevalue("pg_server")
    return str(server.url(server.fresh_database("catalog")))


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


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStripe]:
    """localstripe on a free loopback port, one per test process (tests/stripe_server.py).
    Missing, it skips the billing tests; under CI=true it fails them."""
    import importlib.util

    from ci_skips import missing_tool

    if importlib.util.find_spec("localstripe") is None:
        missing_tool(
            "localstripe is not installed (./scripts/bootstrap installs it)", "the billing tests"
        )
    server = start_localstripe(tmp_path_factory.mktemp("localstripe"))
    yield server
    server.stop()


@pytest.fixture
def stripe_server(localstripe: LocalStripe) -> LocalStripe:
    """The process's localstripe, emptied for this test."""
    localstripe.flush()
    return localstripe


@pytest.fixture
def stripe_proxy(stripe_server: LocalStripe) -> Iterator[FaultProxy]:
    """A loopback HTTP server in front of this test's localstripe that plays Stripe's
    failures when told (tests/stripe_server.py)."""
    with fault_proxy(stripe_server) as proxy:
        yield proxy


@pytest.fixture
def stripe_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """The API key the billing sandboxes name (billing_sync_world), set in the environment."""
    from billing_sync_world import KEY, KEY_ENV

    monkeypatch.setenv(KEY_ENV, KEY)
    return KEY
