"""Where the plaintext of a backup goes while it is checked or taken, and what is left of it:
scratch copies live on the region's own cluster, never in the backup store; the next verify,
backup run or fleet check removes what a killed run left, purge removes a tenant's; a scratch
database the cluster will not drop keeps the verification's result and says why; a failed
backup leaves no empty directory in the store."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from backup_site import Site, make_site
from test_backups_cli import backup, ok, provision, store_dir

from aptien_ops.backends import pg_backup, pg_scratch, sqlite_backup, sqlite_scratch
from aptien_ops.backends.pg_common import scram_sha256_verifier
from aptien_ops.composition import open_console
from aptien_ops.config import ClusterSettings, SecretRef, load_settings
from aptien_ops.errors import NotFound, PendingApproval

from cli_runner import run_cli
from fleet_configs import eu_cluster_kind, eu_fleet_config  # noqa: F401 - the fixtures kind, config
from pg_fixtures import PgServer


def eu_cluster(config: Path) -> ClusterSettings:
    return load_settings(config).regions["eu"].clusters[0]


def plant_stale_copy(config: Path, tenant: str) -> str:
    """What a verification killed with ``kill -9`` leaves: a scratch copy nobody holds."""
    cluster = eu_cluster(config)
    name = f"scratch_{tenant}_{secrets.token_hex(4)}"
    if cluster.kind == "sqlite":
        directory = sqlite_scratch.directory_of(Path(cluster.url.removeprefix("sqlite:///")))
        (directory / f"{name}.db").write_bytes(b"decrypted personal data")
    else:
        with pg_scratch.admin_connect(cluster) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    return name


def scratch_copies(config: Path, tenant: str) -> list[str]:
    cluster = eu_cluster(config)
    if cluster.kind == "sqlite":
        directory = Path(cluster.url.removeprefix("sqlite:///")) / "scratch"
        names = sorted(p.name for p in directory.iterdir()) if directory.exists() else []
        stems = [n.removesuffix(".db") for n in names]
        return [n for n in stems if pg_scratch.is_scratch_of(n, tenant)]
    with pg_scratch.admin_connect(cluster) as conn:
        rows = conn.execute("SELECT datname FROM pg_database ORDER BY 1").fetchall()
    return [r[0] for r in rows if pg_scratch.is_scratch_of(r[0], tenant)]


@pytest.fixture
def tenant(config: Path, tenant_name: str) -> str:
    return provision(config, tenant_name)


# ----------------------------------------------------------------------------- never in the store


def test_plaintext_never_lands_in_the_backup_store(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[Path] = []
    for name in ("walk", "backup"):
        real = getattr(sqlite_backup, name)

        def spy(*args: object, _real: Callable[..., object] = real) -> object:
            written.extend(a for a in args if isinstance(a, Path))
            return _real(*args)

        monkeypatch.setattr(sqlite_backup, name, spy)
    manifest = site.backup(site.provision("acme"))
    repo = site.repo()
    for level in ("full", "restore"):
        assert repo.verify(manifest, level, site.identity, site.cluster).ok
    store = site.region.backup_store.resolve()
    if site.kind == "sqlite":
        scratch = (site.base / "cluster" / "scratch").resolve()
        assert len(written) == 3 and all(p.resolve().parent == scratch for p in written)
        assert oct(scratch.stat().st_mode & 0o777) == "0o700"
        assert list(scratch.iterdir()) == []
    assert not any(store in p.resolve().parents for p in written)
    assert sorted(p.name for p in (store / "acme").iterdir()) == [
        f"{manifest.backup_id}.dump.zst.age",
        f"{manifest.backup_id}.manifest.json",
    ]


# ----------------------------------------------------------------------------- swept


def test_the_next_verification_removes_a_killed_ones_scratch_copy(
    config: Path, tenant: str
) -> None:
    [backup_id] = backup(config, tenant)
    stale = plant_stale_copy(config, tenant)

    verified = ok(
        run_cli("--json", "backup", "verify", backup_id, "--level", "restore", config=config)
    ).json()

    assert verified["ok"] and "dropped 1 leftover scratch copy" in verified["detail"]
    assert stale in verified["detail"] and "interrupted" not in verified["detail"]
    assert scratch_copies(config, tenant) == []


def test_the_next_backup_run_removes_a_killed_ones_scratch_copy(config: Path, tenant: str) -> None:
    stale = plant_stale_copy(config, tenant)

    outcomes = ok(run_cli("--json", "backup", "run", tenant, config=config)).json()

    [clean] = [o for o in outcomes if o["action"] == "clean" and stale in o["detail"]]
    assert clean["ok"] and "dropped 1 leftover scratch copy" in clean["detail"]
    assert scratch_copies(config, tenant) == []


def test_fleet_check_by_an_operator_removes_a_killed_ones_scratch_copy_and_a_viewers_does_not(
    config: Path, tenant: str
) -> None:
    stale = plant_stale_copy(config, tenant)

    # (Exit 7 on the suite's shared PostgreSQL server: other tests' tenants are orphans here.)
    assert run_cli("--json", "fleet", "check", config=config, operator="vic").code in (0, 7)
    assert scratch_copies(config, tenant) == [stale]
    assert run_cli("--json", "fleet", "check", config=config, operator="olga").code in (0, 7)

    assert scratch_copies(config, tenant) == []
    # The sweep's entry, then the backup index's reconcile of each region.
    newest = ok(run_cli("--json", "ops-log", "list", "--limit", "3", config=config)).json()
    entry = newest[-1]
    assert (entry["action"], entry["target"], entry["outcome"]) == (
        "backup.reconcile",
        "scratch",
        "ok",
    )
    assert [(e["action"], e["target"]) for e in newest[:-1]] == [
        ("backup.reconcile", "us"),
        ("backup.reconcile", "eu"),
    ]
    assert stale in entry["params"]


def test_purge_removes_every_scratch_copy_of_its_tenant_and_no_other(
    config: Path, tenant: str, tenant_name: str
) -> None:
    neighbour = provision(config, f"{tenant_name}-n")
    mine, theirs = plant_stale_copy(config, tenant), plant_stale_copy(config, neighbour)
    assert ok(run_cli("--yes", "tenant", "cancel", tenant, "--retain-days", "0", config=config))
    console = open_console(config)
    try:
        with pytest.raises(PendingApproval) as pending:
            console.lifecycle.purge(tenant)
    finally:
        console.close()

    ok(
        run_cli(
            "approval", "approve", str(pending.value.approval_id), config=config, operator="ada"
        )
    )

    try:
        assert scratch_copies(config, tenant) == []
        assert scratch_copies(config, neighbour) == [theirs]
        assert mine not in scratch_copies(config, neighbour)
    finally:  # the PostgreSQL cluster outlives the test: leave no copy for the next one to sweep
        cluster = eu_cluster(config)
        if cluster.kind == "sqlite":
            sqlite_scratch.sweep(cluster.name, Path(cluster.url.removeprefix("sqlite:///")))
        else:
            with pg_scratch.admin_connect(cluster) as conn:
                pg_scratch.sweep_scratch(conn, cluster.name, neighbour)


def test_a_scratch_copy_a_live_run_holds_is_never_swept(site: Site) -> None:
    tenant = site.provision("acme")
    with site.store.staging(tenant) as live:
        assert site.store.sweep_scratch().removed == ()
        assert site.store.sweep_scratch(tenant).removed == ()
        other = make_site(site.kind, site.base, site.cluster).store
        assert other.sweep_scratch().removed == ()  # another adapter, as another process
        other.close()
    assert live not in site.store.sweep_scratch().removed  # it was dropped on the way out


# ----------------------------------------------------------------------------- refused drop


@pytest.fixture
def unprivileged_site(
    pg_server: PgServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Site, str]]:
    """A site whose cluster admin has CREATEDB and CREATEROLE but not pg_signal_backend."""
    admin, password = f"ops_admin_{secrets.token_hex(4)}", secrets.token_urlsafe(18)
    pg_server.psql(
        f'CREATE ROLE "{admin}" LOGIN CREATEDB CREATEROLE'
        f" PASSWORD '{scram_sha256_verifier(password)}'"
    )
    monkeypatch.setenv("APTIEN_TEST_ADMIN_PASSWORD", password)
    cluster = ClusterSettings(
        "pg-unprivileged",
        "postgresql",
        pg_server.url(user=admin),
        10,
        password=SecretRef(env="APTIEN_TEST_ADMIN_PASSWORD"),
    )
    site = make_site("postgresql", tmp_path, cluster)
    try:
        yield site, admin
    finally:
        for tenant in site.passwords:
            site.store.drop_database(tenant)
        site.store.close()
        pg_server.psql(f'DROP OWNED BY "{admin}" CASCADE; DROP ROLE "{admin}"')


@pytest.mark.postgres
def test_a_scratch_database_the_cluster_will_not_drop_keeps_the_result_and_names_the_privilege(
    unprivileged_site: tuple[Site, str],
    pg_server: PgServer,
    tenant_name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    site, admin = unprivileged_site
    manifest = site.backup(site.provision(tenant_name))
    monkeypatch.setattr(pg_scratch, "DROP_RETRY_PAUSES", (0.05, 0.1))
    # Autovacuum, as the admin sees it: a session of a role it may not end, in the database.
    intruder, intruder_pw = f"intruder_{secrets.token_hex(4)}", secrets.token_urlsafe(12)
    pg_server.psql(f"CREATE ROLE \"{intruder}\" LOGIN PASSWORD '{intruder_pw}'")
    sessions: list[psycopg.Connection] = []
    real = pg_backup.restore_into

    def restore_then_intrude(cluster, dbname, role, workdir, feed):  # type: ignore[no-untyped-def]
        walked = real(cluster, dbname, role, workdir, feed)
        pg_server.psql(f'GRANT CONNECT ON DATABASE "{dbname}" TO "{intruder}"')
        conninfo = pg_server.conninfo(dbname, user=intruder, password=intruder_pw)
        sessions.append(psycopg.connect(conninfo))
        return walked

    with monkeypatch.context() as patched:
        patched.setattr(pg_backup, "restore_into", restore_then_intrude)
        result = site.repo().verify(manifest, "restore", site.identity, site.cluster)

    assert result.ok, result.detail  # the verification's verdict is not lost
    assert "every count matches" in result.detail
    assert "could not be dropped" in result.detail and "pg_signal_backend" in result.detail
    assert f"GRANT pg_signal_backend TO {admin}" in result.detail
    [left] = [n for n in scratch_names(site) if pg_scratch.is_scratch_of(n, tenant_name)]
    assert left in result.detail

    for session in sessions:
        session.close()
    again = site.repo().verify(manifest, "restore", site.identity, site.cluster)
    assert again.ok and "dropped 1 leftover scratch copy" in again.detail and left in again.detail
    assert "interrupted" not in again.detail
    assert [n for n in scratch_names(site) if pg_scratch.is_scratch_of(n, tenant_name)] == []
    pg_server.psql(f'DROP ROLE "{intruder}"')


def scratch_names(site: Site) -> list[str]:
    with pg_scratch.admin_connect(site.cluster) as conn:
        return [r[0] for r in conn.execute("SELECT datname FROM pg_database").fetchall()]


# ----------------------------------------------------------------------------- failed backups


def test_a_failed_first_backup_leaves_no_empty_directory_in_the_store(site: Site) -> None:
    with pytest.raises(NotFound):
        site.backup("ghost")
    assert not (site.region.backup_store / "ghost").exists()
    tenant = site.provision("acme")
    manifest = site.backup(tenant)
    site.store.drop_database(tenant)
    with pytest.raises(NotFound):
        site.backup(tenant)  # a later failure keeps the directory of the backups it holds
    assert site.files(tenant) == [
        f"{manifest.backup_id}.dump.zst.age",
        f"{manifest.backup_id}.manifest.json",
    ]


def test_a_failed_backup_run_leaves_no_empty_directory(config: Path, tenant: str) -> None:
    console = open_console(config)
    try:
        cluster = console.tenants.show(tenant).cluster or ""
        console.ctx.store(cluster).drop_database(tenant)
    finally:
        console.close()
    assert run_cli("--json", "backup", "run", tenant, config=config).code != 0
    assert not (store_dir(config) / tenant).exists()
    assert os.listdir(store_dir(config)) in ([], ["_opslog"])
