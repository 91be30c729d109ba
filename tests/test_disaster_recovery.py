"""docs/disaster-recovery.md, run as written: a tenant restored with age, zstd, pg_restore or
sqlite3 and the python one-liner alone — and, after a purge, restored by no one.

The commands are taken from the document itself, so the page and the test cannot drift apart.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ci_skips import missing_tool

from aptien_ops.config import load_settings

from cli_runner import run_cli
from fleet_configs import sandbox_with_eu_on
from pg_fixtures import PgServer
from tenant_seeding import seeded_in

DOC = Path(__file__).resolve().parent.parent / "docs" / "disaster-recovery.md"
TOOLS = ("age", "zstd", "sqlite3", "jq")


def _install(tools: list[str]) -> None:
    """As root with apt-get (a CI container, a fresh bastion): what scripts/bootstrap does."""
    apt = [
        "apt-get",
        "-o",
        "DPkg::Lock::Timeout=300",
        "install",
        "-y",
        "--no-install-recommends",
        *tools,
    ]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(apt, capture_output=True, env=env, check=False).returncode != 0:
        subprocess.run(
            ["apt-get", "-o", "DPkg::Lock::Timeout=300", "update"],
            capture_output=True,
            env=env,
            check=False,
        )
        subprocess.run(apt, capture_output=True, env=env, check=False)


@pytest.fixture(scope="session")
def stock_tools() -> None:
    """age, zstd, sqlite3 and jq from Debian's packages: found, or installed when we are root."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing and os.geteuid() == 0 and shutil.which("apt-get"):
        _install(missing)
        missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        missing_tool(
            f"{', '.join(missing)} not found (Debian: apt-get install {' '.join(missing)};"
            " scripts/bootstrap installs them as root)",
            "the disaster-recovery test",
        )


class Runbook:
    """The commands of docs/disaster-recovery.md, run by bash in a private working directory."""

    def __init__(self, workdir: Path, backup: Path, env: dict[str, str] | None = None) -> None:
        self.text = DOC.read_text()
        self.workdir = workdir
        self.env = {**os.environ, "b": str(backup), **(env or {})}

    def line(self, starts: str, contains: str = "") -> str:
        return next(
            row.strip()
            for row in self.text.splitlines()
            if row.startswith(starts) and contains in row
        )

    def unseal_program(self) -> str:
        found = re.search(r"\| python3 -c '([^']+)' \\\n\s+acme-gmbh (\S+) > key\.txt", self.text)
        assert found, "the python one-liner is missing from the document"
        return found.group(1)

    def sh(self, command: str, *, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["bash", "-o", "pipefail", "-ec", command],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        if check:
            assert done.returncode == 0, f"{command}\n{done.stderr}"
        return done

    def fetch_identity(
        self, catalog: Path, tenant: str, region_key: Path
    ) -> subprocess.CompletedProcess[str]:
        """Section 3 on a sandbox (SQLite) catalog; ``python3`` is this interpreter (it has
        cryptography)."""
        program = self.unseal_program()
        return self.sh(
            f'umask 077 && sqlite3 {catalog} "{sealed_identity_query(tenant)}"'
            f" | {sys.executable} -c '{program}' {tenant} {region_key} > key.txt",
            check=False,
        )


def sealed_identity_query(tenant: str) -> str:
    """The catalog query of section 3: the tenant's backup identity, sealed with the region key."""
    return (
        f"SELECT sealed FROM tenant_secrets WHERE tenant = '{tenant}' AND kind = 'backup_identity'"
    )


def provisioned(config: Path, name: str) -> None:
    seeded_in(config, name, logins=80, events=400, users=10, seed=5)


def backed_up(config: Path, name: str) -> Path:
    result = run_cli("--json", "backup", "run", name, config=config)
    assert result.code == 0, result.stderr
    backup_id = result.json()[0]["backup_id"]
    return load_settings(config).regions["eu"].backup_store / name / backup_id


def manifest_counts(runbook: Runbook) -> dict[str, int]:
    counts: dict[str, int] = json.loads(runbook.sh("jq .row_counts $b.manifest.json").stdout)
    assert counts.get("audit_events") == 400 and counts.get("login_events") == 80
    return counts


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("APTIEN_TEST_INSPECTOR_PW", "inspector-pw-for-tests")
    return tmp_path / "sbx"


def test_an_engineer_restores_a_sqlite_tenant_with_stock_tools_alone(
    stock_tools: None, sandbox: Path, tenant_name: str, tmp_path: Path
) -> None:
    config = sandbox_with_eu_on("sqlite", sandbox)
    provisioned(config, tenant_name)
    settings = load_settings(config)
    book = Runbook(tmp_path, backed_up(config, tenant_name))
    assert book.sh(book.line('test "$(sha256sum')).stdout.strip() == "intact"
    fetched = book.fetch_identity(
        settings.data_dir / "catalog.db", tenant_name, settings.regions["eu"].key_file
    )
    assert fetched.returncode == 0, fetched.stderr
    assert (tmp_path / "key.txt").read_text().startswith("AGE-SECRET-KEY-1")
    assert (tmp_path / "key.txt").stat().st_mode & 0o077 == 0
    book.sh(book.line("age -d -i key.txt", "> tenant.db"))
    assert book.sh("sqlite3 tenant.db 'PRAGMA integrity_check'").stdout.strip() == "ok"
    for table, count in manifest_counts(book).items():
        assert book.sh(
            f"sqlite3 tenant.db 'SELECT count(*) FROM \"{table}\"'"
        ).stdout.strip() == str(count), table
    book.sh("shred -u key.txt")


@pytest.mark.postgres
def test_an_engineer_restores_a_postgresql_tenant_with_stock_tools_alone(
    stock_tools: None, sandbox: Path, tenant_name: str, tmp_path: Path, pg_server: PgServer
) -> None:
    config = sandbox_with_eu_on("postgresql", sandbox, pg_server)
    provisioned(config, tenant_name)
    settings = load_settings(config)
    bindir = pg_server.binaries["psql"].parent
    pg_env = {
        "PGHOST": pg_server.socket_dir,
        "PGPORT": str(pg_server.port),
        "PGUSER": pg_server.superuser,
        "PATH": f"{bindir}:{os.environ['PATH']}",
    }
    book = Runbook(tmp_path, backed_up(config, tenant_name), pg_env)
    assert book.sh(book.line('test "$(sha256sum')).stdout.strip() == "intact"
    fetched = book.fetch_identity(
        settings.data_dir / "catalog.db", tenant_name, settings.regions["eu"].key_file
    )
    assert fetched.returncode == 0, fetched.stderr
    database = f"restored_{secrets.token_hex(4)}"
    try:
        book.sh(book.line("createdb acme_restored").replace("acme_restored", database))
        book.sh(book.line("age -d -i key.txt", "pg_restore").replace("acme_restored", database))
        for table, count in manifest_counts(book).items():
            schema, _, name = table.rpartition(".")
            qualified = f'"{schema}"."{name}"' if schema else f'"{name}"'
            assert book.sh(
                f"psql -At -d {database} -c 'SELECT count(*) FROM {qualified}'"
            ).stdout.strip() == str(count), table
    finally:
        pg_server.psql(f'DROP DATABASE IF EXISTS "{database}"')
        book.sh("shred -u key.txt", check=False)


def test_after_purge_even_a_copied_backup_cannot_be_decrypted_by_anyone(
    stock_tools: None, sandbox: Path, tenant_name: str, tmp_path: Path
) -> None:
    config = sandbox_with_eu_on("sqlite", sandbox)
    provisioned(config, tenant_name)
    bystander = f"{tenant_name}-b"
    provisioned(config, bystander)
    settings = load_settings(config)
    catalog, region_key = settings.data_dir / "catalog.db", settings.regions["eu"].key_file
    backup = backed_up(config, tenant_name)
    copy = tmp_path / "stolen.dump.zst.age"
    shutil.copyfile(f"{backup}.dump.zst.age", copy)
    book = Runbook(tmp_path, backup)
    assert book.fetch_identity(catalog, tenant_name, region_key).returncode == 0
    book.sh(f"age -d -i key.txt {copy} | zstd -d > /dev/null")  # before the purge it opens
    sealed = subprocess.run(
        ["sqlite3", str(catalog), sealed_identity_query(tenant_name)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    book.sh("shred -u key.txt")

    assert (
        run_cli(
            "--json", "--yes", "tenant", "cancel", tenant_name, "--retain-days", "0", config=config
        ).code
        == 0
    )
    approval = run_cli("--json", "--yes", "tenant", "purge", tenant_name, config=config).error()[
        "approval_id"
    ]
    assert (
        run_cli("--json", "approval", "approve", str(approval), config=config, operator="ada").code
        == 0
    )

    after = book.fetch_identity(catalog, tenant_name, region_key)
    assert after.returncode != 0 and "not a sealed secret" in after.stderr
    for path in catalog.parent.glob("catalog.db*"):
        assert sealed.encode() not in path.read_bytes(), (
            f"{path.name} still holds the sealed identity"
        )
    # Every identity the catalog still holds (here: the bystander's) fails on the copy.
    assert book.fetch_identity(catalog, bystander, region_key).returncode == 0
    tried = book.sh(f"age -d -i key.txt {copy} | zstd -d > /dev/null", check=False)
    assert tried.returncode != 0 and "no identity matched" in tried.stderr
    verify = run_cli("--json", "backup", "verify", backup.name, "--level", "full", config=config)
    assert verify.code == 7 and "destroyed" in verify.error()["message"]
