"""``aptien-ops doctor`` on a production install made as docs/production.md says, with real
accounts, sudo, the catalog's two roles on the suite's PostgreSQL and a PostgreSQL cluster
whose admin holds exactly what it needs (tests/bastion_site.py installs the host).

The correct install passes every check; the broken one (a key 0644, a missing public key,
the runtime role given UPDATE on the ops log, a cluster admin without CREATEROLE, one admin
only) lists exactly those findings, each with its fix. Needs root (accounts): skipped
without it, failed under CI=true.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from bastion_site import Bastion, bastion_site, service_config
from catalog_roles import SQLITE_CATALOG_URL, CatalogRoles, create_catalog_roles, create_login_role
from cli_runner import Result
from fleet_configs import EU_CLUSTER
from pg_fixtures import PgServer

pytestmark = pytest.mark.postgres


@dataclass(frozen=True)
class Install:
    host: Bastion
    server: PgServer
    catalog: CatalogRoles
    cluster_admin: str
    secrets: dict[str, str]
    """Each password file's name and the password in it."""

    @property
    def keys(self) -> Path:
        return self.host.data / "keys"

    def doctor(self, *flags: str) -> Result:
        return self.host.sudo(self.host.alice, *flags, "doctor")

    def superuser(self, *statements: str, database: str | None = None) -> None:
        with psycopg.connect(self.server.conninfo(database or "postgres"), autocommit=True) as c:
            for statement in statements:
                c.execute(statement.encode())


def _config(server: PgServer, roles: CatalogRoles, admin: str) -> object:
    def config(b: Bastion) -> str:
        text = service_config(b)
        secrets_dir = b.data / "secrets"
        catalog = (
            f'url = "{server.url(roles.database, user=roles.runtime)}"\n'
            f'password_file = "{secrets_dir}/catalog.password"\n'
            f'owner = "{roles.owner}"\n'
            f'owner_password_file = "{secrets_dir}/catalog-owner.password"'
        )
        cluster = (
            f'name = "eu-pg"\nkind = "postgresql"\nurl = "{server.url(user=admin)}"\n'
            f'password_file = "{secrets_dir}/cluster-eu-pg.password"'
        )
        admins = (f'initial_admins = ["{b.alice}"]', f'initial_admins = ["{b.alice}", "{b.bob}"]')
        for old, new in ((SQLITE_CATALOG_URL, catalog), (EU_CLUSTER, cluster), admins):
            assert old in text, old
            text = text.replace(old, new, 1)
        return text

    return config


def _private(b: Bastion, path: Path, mode: int) -> None:
    os.chown(path, b.uid(b.service), -1)
    path.chmod(mode)


@pytest.fixture(scope="module")
def install(pg_server: PgServer) -> Iterator[Install]:
    roles = create_catalog_roles(pg_server, "doctor_install")
    admin, admin_password = f"eu_admin_{secrets.token_hex(4)}", secrets.token_urlsafe(16)
    create_login_role(pg_server, admin, admin_password, "CREATEDB CREATEROLE")
    passwords = {
        "catalog.password": roles.runtime_password,
        "catalog-owner.password": roles.owner_password,
        "cluster-eu-pg.password": admin_password,
    }
    with bastion_site(_config(pg_server, roles, admin)) as b:  # type: ignore[arg-type]
        made = Install(b, pg_server, roles, admin, passwords)
        made.superuser(f"GRANT pg_signal_backend TO {admin}")
        secrets_dir = b.data / "secrets"
        secrets_dir.mkdir()
        _private(b, secrets_dir, 0o700)
        for name, password in passwords.items():
            (secrets_dir / name).write_text(password + "\n")
            _private(b, secrets_dir / name, 0o600)
        for region in ("eu", "us"):
            store = b.data / "backups" / region
            store.mkdir(parents=True)
            _private(b, store.parent, 0o700)
            _private(b, store, 0o700)
        first = b.sudo(b.alice, "--json", "operator", "whoami")  # creates the catalog
        assert first.code == 0, first.stderr
        for region in ("eu", "us"):
            keys = b.sudo(b.alice, "--json", "keys", "init", "--region", region)
            assert keys.code == 0, keys.stderr
        yield made


def _findings(result: Result) -> dict[str, dict[str, object]]:
    return {f["check"]: f for f in json.loads(result.stdout)}


def test_a_correct_production_install_passes_every_check(install: Install) -> None:
    result = install.doctor("--json")
    assert result.code == 0, result.stdout + result.stderr
    found = _findings(result)
    assert [c for c, f in found.items() if f["verdict"] != "pass"] == []
    for check in (
        "process.account", "process.config", "accounts.service", "accounts.log-group",
        "files.data-dir", "files.keys-dir", "files.key.opslog", "files.key.region-eu.sign",
        "files.key.region-us.pub", "files.event-log", "files.secret.catalog",
        "catalog.owner", "catalog.log-privileges", "catalog.triggers", "catalog.admins",
        "cluster.eu-pg.privileges", "cluster.us-sandbox-1.privileges",
        "region.eu.store", "region.eu.tools", "region.us.store",
    ):  # fmt: skip
        assert check in found, check
    b = install.host
    assert found["process.account"]["detail"] == (
        f"runs as the service account {b.service}, through sudo by {b.alice}"
    )
    said = result.stdout + result.stderr
    assert not any(password in said for password in install.secrets.values())


@pytest.fixture
def broken(install: Install) -> Iterator[Install]:
    """The install with five faults, each put right afterwards."""
    keys, database = install.keys, install.catalog.database
    runtime, admin, bob = install.catalog.runtime, install.cluster_admin, install.host.bob
    public = keys / "region-us.sign.pub"
    saved = public.read_bytes()
    try:
        (keys / "region-eu.key").chmod(0o644)
        public.unlink()
        install.superuser(f"GRANT UPDATE ON opslog TO {runtime}", database=database)
        install.superuser(f"ALTER ROLE {admin} NOCREATEROLE")
        only_alice = f"DELETE FROM operator_roles WHERE operator = '{bob}' AND role = 'admin'"
        install.superuser(only_alice, database=database)
        yield install
    finally:
        (keys / "region-eu.key").chmod(0o600)
        public.write_bytes(saved)
        _private(install.host, public, 0o644)
        install.superuser(f"REVOKE UPDATE ON opslog FROM {runtime}", database=database)
        install.superuser(f"ALTER ROLE {admin} CREATEROLE")
        install.superuser(
            f"INSERT INTO operator_roles (operator, role) VALUES ('{bob}', 'admin')"
            " ON CONFLICT DO NOTHING",
            database=database,
        )


def test_a_broken_install_lists_exactly_what_is_wrong_with_its_fixes(broken: Install) -> None:
    b, keys = broken.host, broken.keys
    result = broken.doctor("--json")
    assert result.code == 7, result.stderr
    failed = {c: f["fix"] for c, f in _findings(result).items() if f["verdict"] != "pass"}
    assert failed == {
        "files.key.region-eu": f"chmod 600 {keys / 'region-eu.key'}",
        "files.key.region-us.pub": "aptien-ops keys init --region us"
        " (writes it again from the signing key)",
        "catalog.admins": "add a second admin: aptien-ops operator add NAME --role viewer,"
        " then a DBA grants admin (docs/production.md, Doctor)",
        "catalog.log-privileges": "as the catalog's owner: REVOKE UPDATE ON opslog FROM"
        f" {broken.catalog.runtime};",
        "cluster.eu-pg.privileges": f'as a superuser: ALTER ROLE "{broken.cluster_admin}"'
        " CREATEROLE;",
    }
    error = result.error()
    assert error["code"] == "integrity" and "5 of" in error["message"]
    text = broken.doctor()
    assert text.code == 7
    lines = text.stdout.splitlines()
    for check in failed:
        [at] = [i for i, line in enumerate(lines) if line.startswith(f"✗ {check} ")]
        assert lines[at + 1].strip() == f"fix: {failed[check]}"
    log = b.sudo(b.alice, "--json", "ops-log", "list", "--limit", "1")
    [entry] = log.json()
    assert (entry["operator"], entry["action"], entry["outcome"]) == (
        b.alice, "doctor.run", "failed:integrity")  # fmt: skip
    assert sorted(json.loads(entry["params"])["failed"]) == sorted(failed)


def test_the_doctor_runs_as_root_but_says_how_to_run_it(install: Install) -> None:
    b = install.host
    result = b.run([str(b.program), "--config", str(b.config), "--json", "doctor"])
    assert result.code == 7
    found = _findings(result)
    assert found["process.account"]["detail"] == "root may not run the production console"
    assert found["process.account"]["fix"].startswith(f"as an operator: sudo -u {b.service} ")
    assert found["files.key.opslog"]["verdict"] == "pass"  # root may look, judged for the service
    assert "not recorded" in result.error()["message"]
    assert shutil.which("sudo")
