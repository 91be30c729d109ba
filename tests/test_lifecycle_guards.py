"""Nothing reaches a tenant's cluster before the console may act: a refused operator changes no
login flag (PostgreSQL: ``pg_roles.rolcanlogin``), and a busy or locked catalog fails the
command (exit 6, "busy") within a bounded wait, before any cluster is touched, with the
attempt in the ops log or, if the catalog cannot take it, in the JSON event log."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from aptien_ops.backends.sql_catalog import errors as catalog_errors
from aptien_ops.composition import Console, open_console
from aptien_ops.config import load_settings
from aptien_ops.domain import TenantState
from aptien_ops.errors import Forbidden, PendingApproval, Unavailable
from aptien_ops.sandbox import write_sandbox_config
from aptien_ops.services.provisioning import ProvisionRequest
from aptien_ops.services.sandbox_seed import SeedRequest

from cli_runner import run_cli
from fleet_configs import (  # noqa: F401 - the fixtures kind, config and ops
    EU_CLUSTER,
    eu_cluster_kind,
    eu_fleet_config,
    eu_fleet_console,
)

#: How long the catalog is allowed to be waited for in these tests (the product waits 5 s).
WAIT_S = 0.4


@pytest.fixture
def active(ops: Console, tenant_name: str) -> str:
    ops.provisioning.provision(ProvisionRequest(tenant_name, "DE"))
    return tenant_name


def login_flag(ops: Console, name: str, request: pytest.FixtureRequest) -> bool:
    """Whether the cluster lets the tenant's own users log in, read from the cluster itself."""
    tenant = ops.tenants.show(name)
    store = ops.ctx.store(tenant.cluster or "")
    if store.kind == "postgresql":
        server = request.getfixturevalue("pg_server")
        role = f"tenant_{name}_owner"
        flag = server.psql(f"SELECT rolcanlogin FROM pg_roles WHERE rolname = '{role}'")
        assert flag.strip() in ("t", "f"), flag
        return bool(flag.strip() == "t")
    with store.connect(name) as conn:
        row = conn.execute("SELECT value FROM tenant_meta WHERE key = 'suspended'").fetchone()
    return bool(row[0] == "0")


# ----------------------------------------------------------------------------- authorise first

#: verb -> (how the tenant is prepared by an operator, the refused call).
VERBS: dict[str, tuple[Callable[[Console, str], object], Callable[[Console, str], object]]] = {
    "suspend": (lambda c, n: None, lambda c, n: c.lifecycle.suspend(n, "locked out")),
    "resume": (
        lambda c, n: c.lifecycle.suspend(n, "security incident"),
        lambda c, n: c.lifecycle.resume(n),
    ),
    "cancel": (lambda c, n: None, lambda c, n: c.lifecycle.cancel(n, 30)),
    "reinstate": (lambda c, n: c.lifecycle.cancel(n, 30), lambda c, n: c.lifecycle.reinstate(n)),
}
#: Who is refused: a viewer, someone who is no operator, an admin's read-only session.
REFUSED = {"viewer": ("vic", False), "non-operator": ("mallory", False), "read-only": ("ada", True)}


@pytest.mark.parametrize("who", list(REFUSED))
@pytest.mark.parametrize("verb", list(VERBS))
def test_a_refused_operator_changes_no_login_flag_on_the_cluster(
    config: Path,
    ops: Console,
    active: str,
    verb: str,
    who: str,
    request: pytest.FixtureRequest,
) -> None:
    prepare, attempt = VERBS[verb]
    prepare(ops, active)
    before = (ops.tenants.show(active), login_flag(ops, active, request))
    operator, read_only = REFUSED[who]
    refused = open_console(config, env={"APTIEN_OPS_OPERATOR": operator}, read_only=read_only)
    try:
        with pytest.raises(Forbidden):
            attempt(refused, active)
    finally:
        refused.close()
    assert (ops.tenants.show(active), login_flag(ops, active, request)) == before
    last = ops.opslog.list(limit=1)[0]
    assert (last.operator, last.action, last.outcome) == (operator, f"tenant.{verb}", "denied")
    assert [f for f in ops.fleet.check().findings if f.tenant == active] == []


@pytest.mark.parametrize(
    ("argv", "operator"),
    [
        (("--read-only", "tenant", "suspend", "{t}", "--reason", "x"), "ada"),
        (("--yes", "tenant", "cancel", "{t}"), "vic"),
        (("tenant", "suspend", "{t}", "--reason", "x"), "mallory"),
    ],
)
def test_the_cli_refuses_with_exit_4_and_the_cluster_keeps_its_login_flag(
    config: Path,
    ops: Console,
    active: str,
    argv: tuple[str, ...],
    operator: str,
    request: pytest.FixtureRequest,
) -> None:
    args = [a.format(t=active) for a in argv]
    result = run_cli("--json", *args, config=config, operator=operator)
    assert result.code == 4 and result.error()["code"] == "forbidden", result.stderr
    assert login_flag(ops, active, request)
    assert ops.tenants.show(active).state == TenantState.ACTIVE


class Touches:
    """Every use a console makes of a tenant cluster or a backup store, from its opening on."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def factory(self, opened: Callable[[Any], Any], what: str) -> Callable[[Any], Any]:
        def opening(settings: Any) -> Any:
            self.calls.append(f"{what} {settings.name}: opened")
            return _Recorded(opened(settings), f"{what} {settings.name}", self.calls)

        return opening


class _Recorded:
    def __init__(self, inner: Any, where: str, calls: list[str]) -> None:
        self._inner, self._where, self._calls = inner, where, calls

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if not callable(value):
            return value

        def called(*args: Any, **kwargs: Any) -> Any:
            self._calls.append(f"{self._where}: {name}")
            return value(*args, **kwargs)

        return called


def _purge_requested(ops: Console, name: str) -> int:
    ops.lifecycle.cancel(name, 0)
    with pytest.raises(PendingApproval) as pending:
        ops.lifecycle.purge(name)
    return int(pending.value.approval_id)


def _backed_up(ops: Console, name: str) -> str:
    [outcome] = [o for o in ops.backups.run([name]) if o.action == "backup"]
    assert outcome.ok and outcome.backup_id, outcome
    return outcome.backup_id


#: Everything that reaches a tenant cluster or a backup store once allowed: (how an operator
#: prepares the tenant, the refused call given what that returned, who is refused).
EVERY_EFFECT: dict[str, tuple[Callable[[Console, str], Any], Callable[..., object], str]] = {
    "provision": (
        lambda c, n: None,
        lambda c, n, _: c.provisioning.provision(ProvisionRequest(f"{n}-2", "DE")),
        "viewer non-operator read-only",
    ),
    **{
        verb: (prepare, lambda c, n, _, call=call: call(c, n), "viewer non-operator read-only")
        for verb, (prepare, call) in VERBS.items()
    },
    "purge": (
        lambda c, n: c.lifecycle.cancel(n, 0),
        lambda c, n, _: c.lifecycle.purge(n),
        "viewer non-operator read-only",
    ),
    "approve a purge": (
        _purge_requested,
        lambda c, n, approval: c.approvals.approve(approval),
        "viewer non-operator read-only",
    ),
    "fleet migrate": (
        lambda c, n: None,
        lambda c, n, _: c.fleet.migrate(),
        "viewer non-operator read-only",
    ),
    "fleet check": (lambda c, n: None, lambda c, n, _: c.fleet.check(), "non-operator"),
    "backup run": (
        lambda c, n: None,
        lambda c, n, _: c.backups.run([n]),
        "viewer non-operator read-only",
    ),
    "backup verify": (
        _backed_up,
        lambda c, n, backup: c.backups.verify(backup, "restore"),
        "viewer non-operator read-only",
    ),
    "backup restore into a new tenant": (
        _backed_up,
        lambda c, n, backup: c.backups.restore(backup, f"{n}-r"),
        "viewer non-operator read-only",
    ),
    "backup restore over the tenant": (
        _backed_up,
        lambda c, n, backup: c.backups.restore(backup, n),
        "viewer non-operator read-only",
    ),
    "backup reconcile": (
        lambda c, n: None,
        lambda c, n, _: c.backups.reconcile(),
        "viewer non-operator read-only",
    ),
    "sandbox seed": (
        lambda c, n: None,
        lambda c, n, _: c.seeding.seed(SeedRequest(tenants=1, users=2, events=5)),
        "viewer non-operator read-only",
    ),
}


@pytest.mark.parametrize("effect", list(EVERY_EFFECT))
def test_a_refused_operator_never_reaches_a_cluster_or_a_backup_store(
    config: Path, ops: Console, active: str, effect: str
) -> None:
    prepare, attempt, refused_ones = EVERY_EFFECT[effect]
    prepared = prepare(ops, active)
    for who in refused_ones.split():
        operator, read_only = REFUSED[who]
        refused = open_console(config, env={"APTIEN_OPS_OPERATOR": operator}, read_only=read_only)
        touches = Touches()
        assert refused.ctx.store_factory is not None
        refused.ctx.store_factory = touches.factory(refused.ctx.store_factory, "cluster")
        stores = refused.backups.stores
        stores._factory = touches.factory(stores._factory, "backup store")
        try:
            with pytest.raises(Forbidden):
                attempt(refused, active, prepared)
        finally:
            refused.close()
        assert touches.calls == [], f"{who}: {touches.calls}"
        last = ops.opslog.list(limit=1)[0]
        assert (last.operator, last.outcome) == (operator, "denied"), who


# ----------------------------------------------------------------------------- a busy catalog


@pytest.fixture
def short_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """Consoles opened from now on wait WAIT_S for a catalog lock instead of 5 s."""
    monkeypatch.setattr(catalog_errors, "CATALOG_LOCK_WAIT_S", WAIT_S)


@pytest.fixture
def catalog_held(config: Path) -> Iterator[sqlite3.Connection]:
    """Another process's write lock on the SQLite catalog, held until the test ends."""
    holder = sqlite3.connect(load_settings(config).data_dir / "catalog.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    yield holder
    holder.execute("ROLLBACK")
    holder.close()


def unrecorded(config: Path) -> list[dict[str, Any]]:
    log = load_settings(config).logging.file
    events = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return [e for e in events if e["event"] == "ops_action_unrecorded"]


@pytest.mark.parametrize("verb", list(VERBS))
def test_a_locked_sqlite_catalog_is_busy_before_the_cluster_is_touched(
    config: Path,
    ops: Console,
    active: str,
    verb: str,
    short_wait: None,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prepare, attempt = VERBS[verb]
    prepare(ops, active)
    state, login = ops.tenants.show(active).state, login_flag(ops, active, request)
    olga = open_console(config, env={"APTIEN_OPS_OPERATOR": "olga"})
    waits_run_out: list[str] = []  # each a catalog lock wait of WAIT_S that ran out
    ran_out = catalog_errors.busy

    def counted(where: str) -> Unavailable:
        waits_run_out.append(where)
        return ran_out(where)

    monkeypatch.setattr(catalog_errors, "busy", counted)
    try:
        holder = request.getfixturevalue("catalog_held")
        with pytest.raises(Unavailable, match="is busy") as busy:
            attempt(olga, active)
    finally:
        olga.close()
    assert "nothing was recorded" in (busy.value.hint or "")
    assert len(waits_run_out) == 2  # the change's wait, then the log entry's: no retries
    assert login_flag(ops, active, request) == login  # the cluster was never asked
    [kept] = [e for e in unrecorded(config) if e["action"] == f"tenant.{verb}"]
    assert (kept["operator"], kept["target"], kept["outcome"]) == (
        "olga",
        active,
        "failed:unavailable",
    )
    assert "busy" in kept["why"]
    holder.execute("ROLLBACK")  # the other process is done: the same command goes through
    holder.execute("BEGIN")  # (the fixture ends what it began)
    assert ops.tenants.show(active).state == state
    olga = open_console(config, env={"APTIEN_OPS_OPERATOR": "olga"})
    try:
        attempt(olga, active)
    finally:
        olga.close()
    last = ops.opslog.list(limit=1)[0]
    assert (last.operator, last.action, last.outcome) == ("olga", f"tenant.{verb}", "ok")
    assert login_flag(ops, active, request) != login


def test_the_cli_says_busy_with_exit_6(
    config: Path, active: str, short_wait: None, catalog_held: sqlite3.Connection
) -> None:
    result = run_cli(
        "--json", "tenant", "suspend", active, "--reason", "x", config=config, operator="olga"
    )
    assert result.code == 6, result.stderr
    error = result.error()
    assert error["code"] == "unavailable" and "busy" in error["message"]


# ----------------------------------------------------------------------------- PostgreSQL catalog


@pytest.mark.postgres
def test_a_locked_postgresql_catalog_is_busy_before_the_cluster_is_touched(
    tmp_path: Path,
    tenant_name: str,
    short_wait: None,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    server = request.getfixturevalue("pg_server")
    monkeypatch.setenv("APTIEN_TEST_INSPECTOR_PW", "inspector-pw-for-tests")
    catalog = server.fresh_database("catalog")
    config, _ = write_sandbox_config(tmp_path / "pg-catalog")
    text = config.read_text().replace(
        'url = "sqlite:///{data_dir}/catalog.db"', f'url = "{server.url(catalog)}"', 1
    )
    config.write_text(
        text.replace(
            EU_CLUSTER,
            f'name = "eu-pg-1"\nkind = "postgresql"\nurl = "{server.url()}"\n'
            'inspector_password_env = "APTIEN_TEST_INSPECTOR_PW"',
        )
    )
    admin = open_console(config)
    olga = open_console(config, env={"APTIEN_OPS_OPERATOR": "olga"})
    try:
        admin.provisioning.provision(ProvisionRequest(tenant_name, "DE"))
        with psycopg.connect(server.conninfo(catalog)) as holder:  # another console, mid-change
            holder.execute("SELECT 1 FROM tenants WHERE name = %s FOR UPDATE", (tenant_name,))
            with pytest.raises(Unavailable, match="is busy"):
                olga.lifecycle.suspend(tenant_name, "locked out")
            role = f"tenant_{tenant_name}_owner"
            flag = server.psql(f"SELECT rolcanlogin FROM pg_roles WHERE rolname = '{role}'")
            assert flag.strip() == "t"  # the cluster was never asked
        last = admin.opslog.list(limit=1)[0]  # the log's head was free: the attempt is in it
        assert (last.operator, last.action, last.outcome) == (
            "olga",
            "tenant.suspend",
            "failed:unavailable",
        )
        assert admin.tenants.show(tenant_name).state == TenantState.ACTIVE
    finally:
        olga.close()
        admin.ctx.store("eu-pg-1").drop_database(tenant_name)
        admin.close()
