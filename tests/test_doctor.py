"""``aptien-ops doctor`` in this process: a sandbox, a catalog or cluster that is down, and what
the PostgreSQL servers themselves say of a production catalog's roles and a cluster's admin.

A production console here runs as this test process, not as a service account through sudo,
so its process and file findings fail; those are tried with real accounts in
tests/test_doctor_install.py. Here each test looks at the findings it is about.
"""

from __future__ import annotations

import secrets
import sqlite3
from pathlib import Path

import psycopg
import pytest

from aptien_ops.backends import catalog_schema
from aptien_ops.errors import ExitCode
from aptien_ops.sandbox import write_sandbox_config
from aptien_ops.services.doctor_results import DoctorReport, Finding

from catalog_roles import (
    CatalogRoles,
    create_login_role,
    operators_as_at_0003,
    roles_in_env,
)
from catalog_roles import production_config as roles_config
from cli_runner import Result, run_cli
from fleet_configs import EU_CLUSTER
from pg_fixtures import PgServer

DEAD_PG = "postgresql+psycopg://ops@/aptien?host=/nonexistent-{tag}&port=5432"
CLUSTER_PW = "APTIEN_TEST_CLUSTER_ADMIN_PW"


def findings(result: Result) -> dict[str, dict[str, object]]:
    listed = result.json()
    assert isinstance(listed, list)
    return {f["check"]: f for f in listed}


def last_entry(config: Path, as_account: str | None = None) -> dict[str, object]:
    listed = run_cli(
        "--json", "ops-log", "list", "--limit", "1", config=config, as_account=as_account
    )
    assert listed.code == 0, listed.stderr
    [entry] = listed.json()
    assert isinstance(entry, dict)
    return entry


# ----------------------------------------------------------------------------- the exit rule


@pytest.mark.parametrize(
    ("failures", "code"),
    [
        ([], ExitCode.OK),
        ([Finding.failed("cluster.eu-1.reachable", "down", "start it", connectivity=True)], 6),
        (
            [
                Finding.failed("catalog.reachable", "down", "start it", connectivity=True),
                Finding.failed("files.key.opslog", "open to others", "chmod 600 k"),
            ],
            7,
        ),
    ],
)
def test_the_exit_code_is_7_for_a_broken_install_and_6_when_only_something_is_down(
    failures: list[Finding], code: int
) -> None:
    fine = [
        Finding.passed("catalog.schema", "current"),
        Finding.not_applicable("process", "a sandbox"),
        Finding.not_checked("catalog.policy", "the catalog cannot be reached"),
    ]
    report = DoctorReport("production", "ops.toml", (*fine, *failures), "not recorded")
    assert report.exit_code == code
    assert report.as_json()["ok"] is (code == 0)
    assert [f.ok for f in fine] == [True, True, False]  # not checked is not known to be ok


# ----------------------------------------------------------------------------- a sandbox


def test_a_new_sandbox_passes_and_the_doctor_does_not_create_its_catalog(
    sandbox_config: Path,
) -> None:
    result = run_cli("--json", "doctor", config=sandbox_config)
    assert result.code == 0, result.stderr
    found = findings(result)
    assert found["catalog.schema"]["detail"] == "no catalog yet: the first command creates it"
    assert found["catalog.mode"]["verdict"] == "not applicable"
    assert not (sandbox_config.parent / "catalog.db").exists()


def test_a_sandbox_is_checked_where_it_makes_sense_and_the_run_is_logged(
    sandbox_config: Path,
) -> None:
    assert run_cli("operator", "whoami", config=sandbox_config).code == 0  # the catalog
    result = run_cli("doctor", config=sandbox_config, operator="vic")
    assert result.code == 0, result.stderr
    assert "doctor checks production installs; this is a sandbox" in result.stderr
    lines = result.stdout.splitlines()
    for area in ("process", "accounts", "files", "catalog.policy", "catalog.owner"):
        assert any(line.startswith(f"– {area} ") for line in lines), area
    assert any(line.startswith("✓ catalog.schema ") for line in lines)
    assert any(line.startswith("✓ region.eu.store ") for line in lines)
    assert not any(line.startswith("✗") for line in lines)
    entry = last_entry(sandbox_config)
    assert (entry["operator"], entry["action"], entry["outcome"]) == ("vic", "doctor.run", "ok")
    as_json = run_cli("--json", "doctor", config=sandbox_config, operator="vic")
    assert as_json.code == 0
    assert all(f["ok"] for f in findings(as_json).values())
    assert set(next(iter(findings(as_json).values()))) == {
        "check", "ok", "verdict", "detail", "fix", "connectivity"
    }  # fmt: skip


def test_a_cluster_that_is_down_alone_exits_6_and_the_rest_is_still_checked(
    tmp_path: Path,
) -> None:
    config, _ = write_sandbox_config(tmp_path / "sbx")
    dead = DEAD_PG.format(tag=secrets.token_hex(4))
    eu_on_pg = f'name = "eu-pg-gone"\nkind = "postgresql"\nurl = "{dead}"'
    config.write_text(config.read_text().replace(EU_CLUSTER, eu_on_pg, 1))
    assert run_cli("operator", "whoami", config=config).code == 0  # the catalog
    result = run_cli("--json", "doctor", config=config)
    assert result.code == ExitCode.UNAVAILABLE, result.stderr
    found = findings(result)
    down = found["cluster.eu-pg-gone.reachable"]
    assert down["verdict"] == "fail" and down["connectivity"] is True and down["fix"]
    assert found["cluster.eu-pg-gone.privileges"]["verdict"] == "not checked"
    failed = [check for check, f in found.items() if f["verdict"] == "fail"]
    assert failed == ["cluster.eu-pg-gone.reachable"]
    assert found["cluster.us-sandbox-1.privileges"]["verdict"] == "pass"
    assert "pg_dump" in str(found["region.eu.tools"]["detail"])
    assert result.error()["code"] == "unavailable"
    assert last_entry(config)["outcome"] == "failed:unavailable"


# ----------------------------------------------------------------------------- the catalog down


@pytest.mark.parametrize("key_on_disk", [False, True], ids=["new-install", "running-install"])
def test_with_the_catalog_down_the_doctor_still_prints_its_findings(
    tmp_path: Path, key_on_disk: bool
) -> None:
    config, _ = write_sandbox_config(tmp_path / "prod")
    body = config.read_text().replace('mode = "sandbox"', 'mode = "production"', 1)
    body = body.replace("catalog.db", "x", 1).replace(
        'url = "sqlite:///{data_dir}/x"', f'url = "{DEAD_PG.format(tag=secrets.token_hex(4))}"'
    )
    config.write_text(body)
    if key_on_disk:  # the console opens without its catalog; the catalog fails on first use
        key = tmp_path / "prod" / "keys" / "opslog.key"
        key.parent.mkdir(mode=0o700)
        key.write_text(secrets.token_hex(32))
        key.chmod(0o600)
    result = run_cli("--json", "doctor", config=config, as_account="ada")
    assert result.code == ExitCode.INTEGRITY  # and the process is not the service account
    found = findings(result)
    reachable = found["catalog.reachable"]
    assert reachable["verdict"] == "fail" and reachable["connectivity"] is True
    assert "cannot reach the catalog" in str(reachable["detail"])
    for check in ("catalog.schema", "catalog.opens", "catalog.policy", "catalog.admins"):
        assert found[check]["verdict"] == "not checked", check
    assert found["cluster.eu-sandbox-1.reachable"]["verdict"] == "pass"
    assert found["process.account"]["verdict"] == "fail"
    assert "not recorded" in result.error()["message"]


def test_a_catalog_the_console_refuses_to_open_is_named_with_the_reason(tmp_path: Path) -> None:
    config, _ = write_sandbox_config(tmp_path / "prod")
    body = config.read_text().replace('mode = "sandbox"', 'mode = "production"', 1)
    config.write_text(body.replace("initial_admins = []", 'initial_admins = ["ada"]', 1))
    assert run_cli("operator", "whoami", config=config, as_account="ada").code == 0
    with sqlite3.connect(tmp_path / "prod" / "catalog.db") as db:  # behind the console's back
        db.execute("UPDATE opslog_head SET seq = 0, hmac = '', signature = ''")
    result = run_cli("--json", "doctor", config=config, as_account="ada")
    opens = findings(result)["catalog.opens"]
    assert opens["verdict"] == "fail" and "blanked" in str(opens["detail"])
    assert opens["fix"] and opens["connectivity"] is False
    assert findings(result)["catalog.mode"]["verdict"] == "pass"  # read all the same
    assert "not recorded: the catalog did not open" in result.error()["message"]


# ----------------------------------------------------------------------------- PostgreSQL


@pytest.fixture
def roles(pg_server: PgServer, monkeypatch: pytest.MonkeyPatch) -> CatalogRoles:
    """The catalog's owner and runtime roles on a fresh database, their passwords set."""
    return roles_in_env(pg_server, "doctor", monkeypatch)


@pytest.mark.postgres
def test_the_servers_say_what_the_runtime_role_and_the_cluster_admin_may_do(
    tmp_path: Path, pg_server: PgServer, roles: CatalogRoles, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin, admin_password = f"eu_admin_{secrets.token_hex(4)}", secrets.token_urlsafe(16)
    create_login_role(pg_server, admin, admin_password, "CREATEDB")  # no CREATEROLE
    monkeypatch.setenv(CLUSTER_PW, admin_password)
    config = roles_config(tmp_path / "prod", roles)
    cluster = f'url = "{pg_server.url(user=admin)}"\npassword_env = "{CLUSTER_PW}"'
    eu_on_pg = f'name = "eu-pg"\nkind = "postgresql"\n{cluster}'
    config.write_text(config.read_text().replace(EU_CLUSTER, eu_on_pg, 1))

    first = run_cli("--json", "doctor", config=config, as_account="ada")
    found = findings(first)
    assert found["catalog.owner"]["verdict"] == "pass"
    assert found["catalog.log-privileges"]["verdict"] == "pass"
    assert found["catalog.triggers"]["verdict"] == "pass"
    assert found["catalog.admins"]["verdict"] == "pass"  # ada and the test's own account
    lacking = found["cluster.eu-pg.privileges"]
    assert lacking["verdict"] == "fail"
    assert lacking["detail"] == f"{admin} lacks CREATEROLE, pg_signal_backend"
    assert lacking["fix"] == (
        f'as a superuser: ALTER ROLE "{admin}" CREATEROLE; GRANT pg_signal_backend TO "{admin}";'
    )

    with psycopg.connect(pg_server.conninfo(roles.database), autocommit=True) as conn:
        conn.execute(f"GRANT UPDATE, TRUNCATE ON opslog TO {roles.runtime}".encode())
        conn.execute(b"ALTER TABLE opslog DISABLE TRIGGER opslog_no_truncate")
        conn.execute(f"ALTER ROLE {admin} CREATEROLE".encode())
        conn.execute(f"GRANT pg_signal_backend TO {admin}".encode())
    second = run_cli("--json", "doctor", config=config, as_account="ada")
    found = findings(second)
    rewrites = found["catalog.log-privileges"]
    assert rewrites["detail"] == (
        f"the server says {roles.runtime} may UPDATE, TRUNCATE the ops log (opslog)"
    )
    assert rewrites["fix"] == (
        f"as the catalog's owner: REVOKE UPDATE, TRUNCATE ON opslog FROM {roles.runtime};"
    )
    assert found["catalog.triggers"]["verdict"] == "fail"
    assert "opslog_no_truncate" in str(found["catalog.triggers"]["detail"])
    assert found["cluster.eu-pg.privileges"]["verdict"] == "pass"
    assert second.code == ExitCode.INTEGRITY
    entry = last_entry(config, as_account="ada")
    assert (entry["action"], entry["outcome"]) == ("doctor.run", "failed:integrity")
    said = first.stdout + first.stderr + second.stdout + second.stderr
    for secret in (roles.runtime_password, roles.owner_password, admin_password):
        assert secret not in said


@pytest.mark.postgres
def test_a_catalog_behind_is_reported_and_left_as_it_is(
    tmp_path: Path, roles: CatalogRoles, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = roles_config(tmp_path / "prod", roles)
    with monkeypatch.context() as at_0003:
        at_0003.setattr(catalog_schema, "SCHEMA_HEAD", "0003")
        operators_as_at_0003(at_0003)
        assert run_cli("operator", "whoami", config=config, as_account="ada").code == 0
    result = run_cli("--json", "doctor", config=config, as_account="ada")
    found = findings(result)
    schema = found["catalog.schema"]
    assert schema["detail"] == f"the schema is at revision 0003, not {catalog_schema.SCHEMA_HEAD}"
    assert "owner's password in place" in str(schema["fix"])
    for check in ("catalog.opens", "catalog.policy", "catalog.log-privileges"):
        assert found[check]["verdict"] == "not checked", check
    assert roles.scalar("SELECT version_num FROM alembic_version") == "0003"  # not upgraded
    assert "not recorded" in result.error()["message"]
