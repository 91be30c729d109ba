"""docs/disaster-recovery.md, followed literally: its shell blocks, in order, in one ``bash``,
against a real backup — with a PostgreSQL catalog and cluster (the catalog read as its runtime
role, with its password file), and on a SQLite sandbox — and, after a purge, restored by no one.

Only the page's settings block (section 2) is replaced, by the same variables with this
test's values; every other block runs exactly as the page prints it. So the page and the test
cannot drift apart.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from ci_skips import missing_tool

from aptien_ops.backends.backup_signing import RegionSigner
from aptien_ops.config import load_settings

from catalog_roles import OWNER_PW, RUNTIME_PW, SQLITE_CATALOG_URL, create_catalog_roles
from cli_runner import run_cli
from fleet_configs import sandbox_with_eu_on
from pg_fixtures import PgServer
from tenant_seeding import seeded_in

DOC = Path(__file__).resolve().parent.parent / "docs" / "disaster-recovery.md"
TOOLS = ("age", "zstd", "sqlite3", "jq", "openssl")
_BLOCK = re.compile(r"^```(sh(?: \w+)?)\n(.*?)^```$", re.S | re.M)
_ASSIGNED = re.compile(r"^(?:export )?(\w+)=|\s(\w+)=", re.M)


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
    """age, zstd, sqlite3, jq and openssl from Debian's packages: found, or installed when we
    are root."""
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


def blocks() -> list[tuple[str, str]]:
    """``(info, body)`` of every fenced shell block of the page, in order."""
    return [(info, body) for info, body in _BLOCK.findall(DOC.read_text())]


def assigned(block: str) -> set[str]:
    """The shell variables a block sets (``x=…``, ``export X=… Y=…``)."""
    return {a or b for a, b in _ASSIGNED.findall(block)}


@dataclass
class Followed:
    """What bash printed following the page, and the private directory it worked in."""

    code: int
    out: str
    workdir: Path

    def says(self, line: str) -> bool:
        return any(row.strip() == line for row in self.out.splitlines())


def follow(kind: str, values: dict[str, str], cwd: Path, path: str = "") -> Followed:
    """Run the page for a ``kind`` (``postgresql`` or ``sqlite``) catalog and cluster with
    ``values`` in place of its settings block."""
    settings = [body for info, body in blocks() if info == "sh settings"]
    assert len(settings) == 1, "the page has one settings block"
    ours = "set -o pipefail\n" + "".join(
        f"{'export ' if name.isupper() else ''}{name}={_quoted(value)}\n"
        for name, value in values.items()
    )
    assert assigned(settings[0]) <= set(values), "the test sets every variable of section 2"
    script = "".join(
        ours if info == "sh settings" else body
        for info, body in blocks()
        if info in ("sh", "sh settings", f"sh {kind}")
    )
    # After the page: where it worked (to check that nothing was left there).
    script += 'echo "workdir=$d"\n'
    # python3 is this interpreter (it has cryptography), as Debian's python3-cryptography.
    shims = cwd / "shims"
    shims.mkdir(exist_ok=True)
    (shims / "python3").unlink(missing_ok=True)
    (shims / "python3").symlink_to(sys.executable)
    env = {**os.environ, "PATH": f"{shims}:{path}{os.environ['PATH']}"}
    for variable in ("PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGPASSWORD"):
        env.pop(variable, None)
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    workdir = Path(done.stdout.strip().splitlines()[-1].removeprefix("workdir="))
    return Followed(done.returncode, done.stdout + done.stderr, workdir)


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


def provisioned(config: Path, name: str) -> None:
    seeded_in(config, name, logins=80, events=400, users=10, seed=5)


def backed_up(config: Path, name: str) -> Path:
    result = run_cli("--json", "backup", "run", name, config=config)
    assert result.code == 0, result.stderr
    backup_id = result.json()[0]["backup_id"]
    return load_settings(config).regions["eu"].backup_store / name / backup_id


def published_key(config: Path) -> tuple[str, str]:
    """``keys init`` for eu: the public key file it publishes, and its fingerprint."""
    result = run_cli("--json", "keys", "init", "--region", "eu", config=config)
    assert result.code == 0, result.stderr
    region = load_settings(config).regions["eu"]
    fingerprint = RegionSigner(region.signing_key_file, create=False).fingerprint
    assert result.json()["fingerprint"] == fingerprint
    return str(region.public_key_file), fingerprint


def manifest_counts(backup: Path) -> dict[str, int]:
    counts: dict[str, int] = json.loads(Path(f"{backup}.manifest.json").read_text())["row_counts"]
    assert counts.get("audit_events") == 400 and counts.get("login_events") == 80
    return counts


def restored_faithfully(followed: Followed, backup: Path) -> None:
    """Every check of the page passed, every count matched, and nothing was left behind."""
    assert followed.code == 0, followed.out
    assert "STOP" not in followed.out, followed.out
    assert followed.says("Signature Verified Successfully"), followed.out
    assert followed.says("the region's key") and followed.says("intact"), followed.out
    for table, rows in manifest_counts(backup).items():
        assert followed.says(f"{table}: {rows} rows, as the manifest says"), followed.out
    assert str(followed.workdir).startswith("/dev/shm/")
    assert not followed.workdir.exists(), "the private directory was left behind"


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("APTIEN_TEST_INSPECTOR_PW", "inspector-pw-for-tests")
    return tmp_path / "sbx"


@dataclass
class PgSite:
    """A sandbox whose catalog is a PostgreSQL database read through its runtime role (its
    password in a file, as production keeps it) and whose eu cluster is PostgreSQL."""

    config: Path
    values: dict[str, str]
    path: str
    server: PgServer


@pytest.fixture
def pg_site(
    sandbox: Path,
    tmp_path: Path,
    tenant_name: str,
    pg_server: PgServer,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[PgSite]:
    config = sandbox_with_eu_on("postgresql", sandbox, pg_server)
    roles = create_catalog_roles(pg_server, "dr_catalog")
    monkeypatch.setenv(RUNTIME_PW, roles.runtime_password)
    monkeypatch.setenv(OWNER_PW, roles.owner_password)
    catalog = roles.server.url(roles.database, user=roles.runtime)
    config.write_text(
        config.read_text().replace(
            SQLITE_CATALOG_URL,
            f'url = "{catalog}"\npassword_env = "{RUNTIME_PW}"\n'
            f'owner = "{roles.owner}"\nowner_password_env = "{OWNER_PW}"',
            1,
        )
    )
    password_file = tmp_path / "catalog.password"
    password_file.write_text(roles.runtime_password + "\n")
    password_file.chmod(0o600)
    pub, fingerprint = published_key(config)
    database = pg_server.fresh_database("dr_restored")
    pg_server.psql(f'DROP DATABASE "{database}"')  # the page creates it
    values = {
        "tenant": tenant_name,
        "pub": pub,
        "fingerprint": fingerprint,
        "key": str(load_settings(config).regions["eu"].key_file),
        "catalog": catalog.replace("postgresql+psycopg://", "postgresql://"),
        "catalog_password": str(password_file),
        "db": database,
        "PGHOST": pg_server.socket_dir,
        "PGPORT": str(pg_server.port),
        "PGUSER": pg_server.superuser,
    }
    path = f"{pg_server.binaries['psql'].parent}:"
    yield PgSite(config, values, path, pg_server)
    pg_server.psql(f'DROP DATABASE IF EXISTS "{database}"')


@pytest.fixture
def pg_backup(pg_site: PgSite, tenant_name: str) -> Path:
    """A seeded tenant of the PostgreSQL site, backed up: the backup's path, without suffix."""
    provisioned(pg_site.config, tenant_name)
    return backed_up(pg_site.config, tenant_name)


@pytest.mark.postgres
def test_an_engineer_restores_a_postgresql_tenant_following_the_page_literally(
    stock_tools: None, pg_site: PgSite, pg_backup: Path, tenant_name: str, tmp_path: Path
) -> None:
    backup = pg_backup
    there = {*tmp_path.iterdir(), tmp_path / "shims"}

    followed = follow("postgresql", {**pg_site.values, "b": str(backup)}, tmp_path, pg_site.path)

    restored_faithfully(followed, backup)
    assert followed.says(f"the catalog holds {tenant_name}'s identity"), followed.out
    assert set(tmp_path.iterdir()) == there, "the page left a file where it started"


@pytest.mark.postgres
def test_a_catalog_that_cannot_be_reached_is_not_mistaken_for_a_purge(
    stock_tools: None, pg_site: PgSite, pg_backup: Path, tenant_name: str, tmp_path: Path
) -> None:
    backup = pg_backup
    values = {**pg_site.values, "b": str(backup)}
    values["catalog_password"] = str(tmp_path / "wrong.password")
    (tmp_path / "wrong.password").write_text("not-the-password\n")

    followed = follow("postgresql", values, tmp_path, pg_site.path)

    assert followed.says(
        "STOP: the catalog could not be read (the error is above): this says nothing about"
        f" {tenant_name}"
    ), followed.out
    assert "password authentication failed" in followed.out
    assert "purged" not in followed.out
    assert not followed.workdir.exists()


@pytest.mark.postgres
def test_an_altered_manifest_fails_the_signature_check(
    stock_tools: None, pg_site: PgSite, pg_backup: Path, tenant_name: str, tmp_path: Path
) -> None:
    backup = pg_backup
    manifest = Path(f"{backup}.manifest.json")
    document = json.loads(manifest.read_text())
    document["row_counts"]["audit_events"] += 1
    manifest.write_text(json.dumps(document, indent=2, sort_keys=True))

    followed = follow("postgresql", {**pg_site.values, "b": str(backup)}, tmp_path, pg_site.path)

    assert followed.says("Signature Verification Failure"), followed.out
    assert followed.says("STOP: the manifest was altered, or is not this region's")


def sqlite_values(config: Path, tenant: str, backup: Path, tmp_path: Path) -> dict[str, str]:
    pub, fingerprint = published_key(config)
    settings = load_settings(config)
    return {
        "tenant": tenant,
        "b": str(backup),
        "pub": pub,
        "fingerprint": fingerprint,
        "key": str(settings.regions["eu"].key_file),
        "catalog": str(settings.data_dir / "catalog.db"),
        "catalog_password": "",
        "db": str(tmp_path / "tenant.db"),
        "PGHOST": "",
        "PGUSER": "",
    }


def test_an_engineer_restores_a_sqlite_tenant_following_the_page_literally(
    stock_tools: None, sandbox: Path, tenant_name: str, tmp_path: Path
) -> None:
    config = sandbox_with_eu_on("sqlite", sandbox)
    provisioned(config, tenant_name)
    backup = backed_up(config, tenant_name)

    followed = follow("sqlite", sqlite_values(config, tenant_name, backup, tmp_path), tmp_path)

    restored_faithfully(followed, backup)
    assert followed.says("ok")  # PRAGMA integrity_check
    assert (tmp_path / "tenant.db").exists()  # the restore itself, where the engineer put it


def test_the_page_never_writes_the_decrypted_dump_to_a_file() -> None:
    """The plaintext flows through pipes only: the one redirect of a decrypted stream is a
    SQLite restore into its own database file."""
    for info, body in blocks():
        for line in body.splitlines():
            if "zstd -d" in line and ">" in line.split("zstd -d", 1)[1]:
                assert info == "sh sqlite" and line.rstrip().endswith('> "$db"'), line


def test_after_purge_even_a_copied_backup_cannot_be_decrypted_by_anyone(
    stock_tools: None, sandbox: Path, tenant_name: str, tmp_path: Path
) -> None:
    config = sandbox_with_eu_on("sqlite", sandbox)
    provisioned(config, tenant_name)
    bystander = f"{tenant_name}-b"
    provisioned(config, bystander)
    settings = load_settings(config)
    catalog = settings.data_dir / "catalog.db"
    backup = backed_up(config, tenant_name)
    copy = tmp_path / "stolen"
    shutil.copyfile(f"{backup}.dump.zst.age", f"{copy}.dump.zst.age")
    shutil.copyfile(f"{backup}.manifest.json", f"{copy}.manifest.json")
    values = sqlite_values(config, tenant_name, copy, tmp_path)
    restored_faithfully(follow("sqlite", values, tmp_path), backup)  # before the purge it opens
    (tmp_path / "tenant.db").unlink()
    query = f"SELECT sealed FROM tenant_secrets WHERE tenant = '{tenant_name}'"
    before = subprocess.run(
        ["sqlite3", str(catalog), query], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert before.startswith("v1:")

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

    after = follow("sqlite", values, tmp_path)
    assert after.says(
        f"STOP: the catalog has no identity for {tenant_name}: purged, or never provisioned"
    ), after.out
    assert "not a sealed secret" in after.out
    for path in catalog.parent.glob("catalog.db*"):
        assert before.encode() not in path.read_bytes(), (
            f"{path.name} still holds the sealed identity"
        )
    # Every identity the catalog still holds (here: the bystander's) fails on the copy.
    tried = follow("sqlite", {**values, "tenant": bystander}, tmp_path)
    assert tried.says(f"the catalog holds {bystander}'s identity"), tried.out
    assert "no identity matched" in tried.out
    verify = run_cli("--json", "backup", "verify", backup.name, "--level", "full", config=config)
    assert verify.code == 7 and "destroyed" in verify.error()["message"]
