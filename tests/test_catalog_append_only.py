"""The ops log on PostgreSQL is append-only by the database's own privileges and trigger.

Each test gets a fresh database of the suite's server and two roles with passwords, as a DBA
would create them (docs/production.md, Catalog roles): the owner, which owns the database and
runs migrations, and the runtime role the console works as (``catalog.url``). The attacks
are made with psycopg directly, as someone holding either role's password could.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from aptien_ops.backends import catalog_schema
from aptien_ops.composition import Console, open_console
from aptien_ops.domain import Identity
from aptien_ops.errors import ExitCode, IntegrityFailure

from catalog_roles import (
    OWNER_PW,
    RUNTIME_PW,
    CatalogRoles,
    operators_as_at_0003,
    production_config,
    roles_in_env,
)
from cli_runner import run_cli
from pg_fixtures import PgServer

pytestmark = pytest.mark.postgres

#: What nobody but a migration may do to the ops log.
REWRITES = (
    "UPDATE opslog SET target = 'someone-else' WHERE seq = 1",
    "DELETE FROM opslog",
    "TRUNCATE opslog",
    "DELETE FROM opslog_head",
    "TRUNCATE opslog_head",
)


@pytest.fixture
def roles(pg_server: PgServer, monkeypatch: pytest.MonkeyPatch) -> CatalogRoles:
    """A fresh database owned by a new owner role, and a runtime role with no privileges yet."""
    return roles_in_env(pg_server, "append_only", monkeypatch)


@pytest.fixture
def config(tmp_path: Path, roles: CatalogRoles) -> Path:
    return production_config(tmp_path / "prod", roles)


@pytest.fixture
def ada(config: Path) -> Iterator[Console]:
    """A console acting as ada, which creates the catalog (and writes a few entries)."""
    console = open_console(config, identity=Identity("ada", "ada", None, "s-ada"))
    console.operators.add("olga", ["operator"])
    console.operators.add("vic", ["viewer"])
    yield console
    console.close()


def entries(roles: CatalogRoles) -> object:
    return roles.scalar("SELECT count(*) FROM opslog")


# ----------------------------------------------------------------------------- the two roles


def test_the_owner_creates_the_catalog_and_the_runtime_role_only_appends_to_the_log(
    ada: Console, roles: CatalogRoles, config: Path
) -> None:
    owners = roles.scalar(
        "SELECT array_agg(DISTINCT tableowner::text) FROM pg_tables WHERE schemaname = 'public'"
    )
    assert owners == [roles.owner]

    def may(table: str, privilege: str) -> object:
        query = f"SELECT has_table_privilege('{roles.runtime}', '{table}', '{privilege}')"
        return roles.scalar(query)

    assert [may("opslog", p) for p in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")] == [
        True,
        True,
        False,
        False,
        False,
    ]
    assert [may("opslog_head", p) for p in ("SELECT", "INSERT", "UPDATE", "DELETE")] == [
        True,
        False,
        True,
        False,
    ]
    assert [may("alembic_version", p) for p in ("SELECT", "UPDATE")] == [True, False]
    assert [may("tenants", p) for p in ("SELECT", "INSERT", "UPDATE", "DELETE")] == [True] * 4
    assert entries(roles) == 3  # created, olga and vic added
    assert ada.opslog.verify().entries == 3
    assert run_cli("ops-log", "verify", config=config, as_account="ada").code == 0


def test_once_the_schema_is_current_the_owner_password_is_not_needed(
    ada: Console, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(OWNER_PW)
    result = run_cli("--json", "operator", "list", config=config, as_account="ada")
    assert result.code == 0, result.stderr
    assert {"ada", "olga", "vic"} <= {o["name"] for o in result.json()}


def test_privileges_taken_from_the_runtime_role_are_granted_again_by_the_owner(
    ada: Console, roles: CatalogRoles, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The recipe of docs/production.md: the owner revokes, the next command grants again.
    roles.execute(roles.owner, f"REVOKE ALL ON alembic_version, operators FROM {roles.runtime}")
    monkeypatch.delenv(OWNER_PW)
    result = run_cli("--json", "operator", "list", config=config, as_account="ada")
    assert result.code == ExitCode.INVALID
    assert result.error()["message"].startswith("catalog.owner_password: environment variable")
    monkeypatch.setenv(OWNER_PW, roles.owner_password)
    result = run_cli("--json", "operator", "list", config=config, as_account="ada")
    assert result.code == 0, result.stderr
    assert {"ada", "olga", "vic"} <= {o["name"] for o in result.json()}


def test_a_catalog_table_of_another_role_stops_the_owner_granting(
    ada: Console, roles: CatalogRoles, config: Path
) -> None:
    roles.scalar(f"ALTER TABLE tenants OWNER TO {roles.runtime}")
    roles.execute(roles.owner, f"REVOKE ALL ON alembic_version FROM {roles.runtime}")
    result = run_cli("--json", "tenant", "list", config=config, as_account="ada")
    assert result.code == ExitCode.CONFLICT
    error = result.error()
    assert error["message"] == (
        f"the catalog table tenants belongs to the role {roles.runtime}, not to the catalog's owner"
    )
    assert f"REASSIGN OWNED BY {roles.runtime} TO" in error["hint"]


def test_a_runtime_role_without_an_owner_cannot_create_the_catalog_and_says_what_to_do(
    tmp_path: Path, roles: CatalogRoles
) -> None:
    config = production_config(tmp_path / "runtime-only", roles, owner=False)
    result = run_cli("--json", "ops-log", "verify", config=config, as_account="ada")
    assert result.code == ExitCode.CONFLICT
    error = result.error()
    assert "may not change the schema" in error["message"]
    assert "catalog.owner" in error["hint"]
    assert roles.scalar("SELECT to_regclass('public.opslog')") is None


# ----------------------------------------------------------------------------- direct SQL


@pytest.mark.parametrize("statement", REWRITES)
def test_the_runtime_role_may_not_rewrite_the_log_even_posing_as_a_migration(
    ada: Console, roles: CatalogRoles, config: Path, statement: str
) -> None:
    for posing in ((), ("SET LOCAL aptien_ops.migrating = 'on'",)):
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
            roles.execute(roles.runtime, *posing, statement)
    assert entries(roles) == 3
    assert roles.scalar("SELECT seq FROM opslog_head") == 3
    assert ada.opslog.verify().entries == 3


@pytest.mark.parametrize("statement", REWRITES)
def test_the_owner_is_stopped_by_the_trigger_outside_a_migration(
    ada: Console, roles: CatalogRoles, config: Path, statement: str
) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="is append-only") as refused:
        roles.execute(roles.owner, statement)
    assert refused.value.diag.table_name in ("opslog", "opslog_head")
    assert entries(roles) == 3
    assert roles.scalar("SELECT seq FROM opslog_head") == 3
    assert ada.opslog.verify().entries == 3


# ----------------------------------------------------------------------------- the head


def test_a_head_blanked_by_the_runtime_role_stops_the_next_command_without_a_fresh_log(
    ada: Console, roles: CatalogRoles, config: Path
) -> None:
    roles.execute(roles.runtime, "UPDATE opslog_head SET seq = 0, hmac = '', signature = ''")
    result = run_cli("--json", "tenant", "list", config=config, as_account="ada")
    assert result.code == ExitCode.INTEGRITY
    assert "blanked" in result.error()["message"]
    assert entries(roles) == 3
    assert roles.scalar("SELECT signature FROM opslog_head") == ""
    # A console that opened before the head was blanked refuses to chain onto it.
    with pytest.raises(IntegrityFailure, match="blanked"):
        ada.operators.add("pat", ["viewer"])
    assert entries(roles) == 3


def test_a_deleted_head_row_stops_every_command_with_exit_7(
    ada: Console, roles: CatalogRoles, config: Path
) -> None:
    # Only the owner, deliberately passing the trigger, can remove the row.
    roles.execute(roles.owner, "SET LOCAL aptien_ops.migrating = 'on'", "DELETE FROM opslog_head")
    for command in (("tenant", "list"), ("ops-log", "verify"), ("operator", "whoami")):
        result = run_cli("--json", *command, config=config, as_account="ada")
        assert result.code == ExitCode.INTEGRITY, command
        assert "head checkpoint row is missing" in result.error()["message"]
    with pytest.raises(IntegrityFailure, match="head checkpoint row is missing"):
        ada.operators.add("pat", ["viewer"])
    assert entries(roles) == 3


# ----------------------------------------------------------------------------- the upgrade


def test_the_upgrade_from_0003_keeps_every_entry_and_locks_the_log(
    tmp_path: Path, roles: CatalogRoles, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before 0004 the catalog ran as one role; that role becomes the owner.
    single = production_config(tmp_path / "prod", roles, owner=False)
    owner_url = roles.server.url(roles.database, user=roles.owner)
    runtime_url = roles.server.url(roles.database, user=roles.runtime)
    body = single.read_text(encoding="utf-8").replace(runtime_url, owner_url)
    single.write_text(body.replace(RUNTIME_PW, OWNER_PW), encoding="utf-8")
    with monkeypatch.context() as at_0003:
        at_0003.setattr(catalog_schema, "SCHEMA_HEAD", "0003")
        operators_as_at_0003(at_0003)
        before = open_console(single, identity=Identity("ada", "ada", None, "s-ada"))
        before.operators.add("olga", ["operator"])
        before.close()
    assert roles.scalar("SELECT version_num FROM alembic_version") == "0003"
    assert roles.scalar("SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal") == 0
    written = entries(roles)

    single.unlink()  # the same install (keys and all) now configured with both roles
    config = production_config(tmp_path / "prod", roles)
    result = run_cli("--json", "ops-log", "verify", config=config, as_account="ada")
    assert result.code == 0, result.stderr
    assert result.json()["entries"] == written
    assert roles.scalar("SELECT version_num FROM alembic_version") == catalog_schema.SCHEMA_HEAD
    for statement in REWRITES:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            roles.execute(roles.runtime, statement)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            roles.execute(roles.owner, statement)
    assert entries(roles) == written + 1  # and the verify's own entry, appended by the runtime
