"""The TUI's fast start: the dashboard glance (raw driver, no SQLAlchemy), the console that
connects its catalog later, and services built only when first used.

Every test that takes ``glance_config`` runs on a sandbox whose catalog is a SQLite file and
on one whose catalog is a fresh database of the suite's PostgreSQL server.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from aptien_ops.backends.catalog_glance import PostgresCatalogGlance
from aptien_ops.backends.catalog_revision import SCHEMA_HEAD
from aptien_ops.cli.state import CliState
from aptien_ops.composition import Console, open_console
from aptien_ops.config import CatalogSettings, load_settings
from aptien_ops.domain import Tenant, TenantState, utcnow
from aptien_ops.errors import PendingApproval, Unavailable
from aptien_ops.glance import dashboard_glance
from aptien_ops.sandbox import write_sandbox_config

SQLITE_CATALOG_URL = 'url = "sqlite:///{data_dir}/catalog.db"'
#: (name, country, region, cluster, state): every state, a purged one without a cluster.
FLEET = [
    ("acme-gmbh", "DE", "eu", "eu-sandbox-1", TenantState.ACTIVE),
    ("nordlys-as", "NO", "eu", "eu-sandbox-1", TenantState.SUSPENDED),
    ("maple-inc", "CA", "us", "us-sandbox-1", TenantState.ACTIVE),
    ("gotham-legal", "US", "us", "us-sandbox-1", TenantState.CANCELLED),
    ("old-corp", "US", "us", None, TenantState.PURGED),
    ("new-corp", "FR", "eu", "eu-sandbox-1", TenantState.PROVISIONING),
]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def glance_config(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A sandbox (catalog not created yet) on SQLite or PostgreSQL; returns its ops.toml."""
    config, _ = write_sandbox_config(tmp_path / "sbx")
    if request.param == "postgresql":
        server = request.getfixturevalue("pg_server")
        text = config.read_text(encoding="utf-8")
        assert SQLITE_CATALOG_URL in text
        url = server.url(server.fresh_database("catalog"))
        config.write_text(text.replace(SQLITE_CATALOG_URL, f'url = "{url}"', 1), encoding="utf-8")
    return config


def _seed(console: Console) -> None:
    now = utcnow()
    with console.ctx.catalog.transaction() as tx:
        for name, country, region, cluster, state in FLEET:
            tx.tenants.insert(Tenant(name, country, region, cluster, state, None, None, now, now))
    with pytest.raises(PendingApproval):
        console.operators.grant("sam", "admin")  # one pending four-eyes request


def _sqlite_file(config: Path) -> Path:
    return Path(load_settings(config).catalog.url.removeprefix("sqlite:///"))


@pytest.fixture
def seeded(glance_config: Path) -> Path:
    console = open_console(glance_config)
    try:
        _seed(console)
    finally:
        console.close()
    return glance_config


def test_the_glance_shows_exactly_what_the_services_show(seeded: Path) -> None:
    console = open_console(seeded)
    try:
        glance = dashboard_glance(console.settings, console.identity.operator)
        assert glance is not None
        assert glance.roles == console.ctx.my_roles() == frozenset({"admin"})
        assert glance.counts == console.tenants.counts()
        with console.ctx.catalog.read() as tx:
            assert glance.loads == tx.tenants.cluster_loads()
        assert glance.regions(console.settings) == console.regions.list()
        assert glance.pending == console.approvals.list("pending")
        assert [a.action for a in glance.pending] == ["operator.grant-admin"]
    finally:
        console.close()


def test_an_operator_the_matrix_keeps_from_the_dashboard_gets_no_glance(seeded: Path) -> None:
    settings = load_settings(seeded)
    assert dashboard_glance(settings, "vic") is not None  # a viewer sees the dashboard
    assert (
        dashboard_glance(settings, "mallory") is None
    )  # not an operator: the services refuse and log it


def test_a_first_use_gets_no_glance_and_the_glance_creates_nothing(glance_config: Path) -> None:
    settings = load_settings(glance_config)
    assert dashboard_glance(settings, "ada") is None
    if settings.catalog.url.startswith("sqlite:///"):
        assert not Path(settings.catalog.url.removeprefix("sqlite:///")).exists()
    state = CliState(config=str(glance_config))
    console, glance = state.tui_console()
    try:
        assert glance is None and console.connected  # opened (and created) the usual way
        assert console.tenants.counts() == []
    finally:
        state.close()


@pytest.mark.parametrize("revision", ["0001", "9999"])
def test_a_catalog_at_another_schema_revision_gets_no_glance(tmp_path: Path, revision: str) -> None:
    config, _ = write_sandbox_config(tmp_path / "sbx")
    open_console(config).close()
    settings = load_settings(config)
    assert dashboard_glance(settings, "ada") is not None
    with sqlite3.connect(_sqlite_file(config)) as db:
        db.execute("UPDATE alembic_version SET version_num = ?", (revision,))
    assert revision != SCHEMA_HEAD
    assert dashboard_glance(settings, "ada") is None


def test_a_catalog_whose_ops_log_is_not_signed_yet_gets_no_glance(tmp_path: Path) -> None:
    config, _ = write_sandbox_config(tmp_path / "sbx")
    open_console(config).close()
    with sqlite3.connect(_sqlite_file(config)) as db:
        db.execute("UPDATE opslog_head SET signature = ''")
    assert dashboard_glance(load_settings(config), "ada") is None


@pytest.mark.postgres
def test_an_unreachable_postgresql_catalog_gets_no_glance_and_the_adapter_says_why(
    tmp_path: Path,
) -> None:
    # Port 1 on this host: nothing listens there, the connection is refused at once.
    url = "postgresql+psycopg://aptien@127.0.0.1:1/catalog"
    with pytest.raises(Unavailable):
        PostgresCatalogGlance(CatalogSettings(url=url)).glance("ada")
    config, _ = write_sandbox_config(tmp_path / "sbx")
    text = config.read_text(encoding="utf-8").replace(SQLITE_CATALOG_URL, f'url = "{url}"', 1)
    config.write_text(text, encoding="utf-8")
    assert dashboard_glance(load_settings(config), "ada") is None


def test_the_glance_read_in_a_forked_child_is_the_one_read_in_process(seeded: Path) -> None:
    # A process of its own: this test process runs threads, so it would read in-process.
    code = (
        "import sys, threading\n"
        "from aptien_ops.config import load_settings\n"
        "from aptien_ops.glance import dashboard_glance, start_dashboard_glance\n"
        "settings = load_settings(sys.argv[1])\n"
        "assert threading.active_count() == 1\n"
        "waiting = start_dashboard_glance(settings, 'ada')\n"
        "print(waiting() == dashboard_glance(settings, 'ada') is not None, 'sqlalchemy' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(seeded)], capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["True", "False"]


def test_the_tui_start_draws_from_a_glance_and_connects_the_catalog_later(seeded: Path) -> None:
    state = CliState(config=str(seeded))
    console, glance = state.tui_console()
    try:
        assert glance is not None and not console.connected
        assert console.settings.sandbox and console.identity.operator  # the header needs no catalog
        assert [t.name for t in console.tenants.list(state="active")] == [
            "acme-gmbh",
            "maple-inc",
        ]
        assert console.connected  # the first service call connected it
    finally:
        state.close()


def test_concurrent_first_calls_on_a_deferred_console_connect_once(seeded: Path) -> None:
    console = open_console(seeded, defer_catalog=True)
    catalog = console.ctx.catalog
    connects: list[int] = []
    original = catalog._connect  # type: ignore[attr-defined]
    catalog._connect = lambda: connects.append(1) or original()  # type: ignore[attr-defined]
    results: list[int] = []
    threads = [
        threading.Thread(target=lambda: results.append(len(console.tenants.counts())))
        for _ in range(4)
    ]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(connects) == 1 and len(results) == 4 and len(set(results)) == 1
    finally:
        console.close()


def test_approvals_know_every_executor_whichever_service_is_used_first(
    sandbox_config: Path,
) -> None:
    console = open_console(sandbox_config)
    try:
        assert set(console.approvals._executors) >= {"operator.grant-admin", "tenant.purge"}
    finally:
        console.close()


def test_a_scripted_list_builds_only_the_service_it_calls(sandbox_config: Path) -> None:
    code = (
        "import json, sys\n"
        "from aptien_ops.composition import open_console\n"
        "console = open_console(sys.argv[1])\n"
        "console.tenants.list()\n"
        "built = sorted(k for k in vars(console) if not k.startswith('_') and k != 'ctx')\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('aptien_ops.services.'))\n"
        "console.close()\n"
        "print(json.dumps([built, loaded]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(sandbox_config)],
        capture_output=True,
        text=True,
        check=True,
    )
    built, loaded = json.loads(out.stdout.splitlines()[-1])
    assert built == ["tenants"]
    assert (
        "aptien_ops.services.inspection" not in loaded
        and "aptien_ops.services.backups" not in loaded
    )
