"""The backup engine against real systems: a seeded tenant on SQLite and on a real PostgreSQL
server, dumped in one snapshot, compressed, encrypted to the tenant's own age recipient, stored
with a signed manifest, and verified at every level."""

from __future__ import annotations

import hashlib
import json
import secrets
import stat
from pathlib import Path

import pyrage
import pytest
import zstandard
from backup_site import Site, make_site
from pyrage import x25519

from aptien_ops.backends import pg_scratch
from aptien_ops.config import ClusterSettings
from aptien_ops.errors import ConfigError, InvalidInput, NotFound


def decrypt_file(path: Path, identity: str) -> bytes:
    sealed = pyrage.decrypt(path.read_bytes(), [x25519.Identity.from_str(identity)])
    return zstandard.ZstdDecompressor().stream_reader(sealed).read()


def scratch_databases(site: Site) -> list[str]:
    """Scratch files in the tenant's store (SQLite) or scratch databases on the cluster."""
    if site.kind == "sqlite":
        return [n for n in site.files("acme") if "scratch" in n]
    with pg_scratch.admin_connect(site.cluster) as conn:
        return [
            r[0]
            for r in conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE 'scratch\\_%'"
            )
        ]


# ----------------------------------------------------------------------------- backups


def test_a_backup_of_a_seeded_tenant_is_listed_with_a_signed_manifest_of_its_own_snapshot(
    site: Site,
) -> None:
    tenant = site.provision("acme")
    manifest = site.backup(tenant, "bk-20260318T153012Z-a1b2c3")

    assert (manifest.tenant, manifest.region, manifest.cluster) == ("acme", "eu", site.cluster.name)
    assert manifest.row_counts == site.counts(tenant)
    assert manifest.row_counts["audit_events"] == 2_000 and manifest.row_counts["users"] == 40
    if site.kind == "postgresql":
        assert manifest.kind == "postgresql-custom" and manifest.database == "tenant_acme"
        assert manifest.snapshot and manifest.dump_tool.startswith("pg_dump (PostgreSQL)")
        assert manifest.server_version[:2].isdigit()
    else:
        assert (
            manifest.kind == "sqlite"
            and manifest.database == "tenant_acme.db"
            and manifest.snapshot is None
        )
    assert 0 < manifest.ciphertext_size < manifest.plaintext_size
    assert all(
        len(h) == 64
        for h in (
            manifest.plaintext_sha256,
            manifest.ciphertext_sha256,
            manifest.archive_list_sha256 or "",
        )
    )
    assert (
        manifest.recipient_fingerprint
        == "sha256:" + hashlib.sha256(site.recipient.encode()).hexdigest()[:16]
    )
    assert manifest.started_at <= manifest.finished_at and manifest.finished_at.endswith("Z")
    assert manifest.format == 1

    repo = site.repo(create=False)
    assert repo.manifests() == [manifest] == repo.manifests("acme")
    assert repo.manifest("acme", manifest.backup_id) == manifest
    assert site.files("acme") == [
        f"{manifest.backup_id}.dump.zst.age",
        f"{manifest.backup_id}.manifest.json",
    ]
    data = site.region.backup_store / "acme" / f"{manifest.backup_id}.dump.zst.age"
    assert data.stat().st_size == manifest.ciphertext_size
    assert hashlib.sha256(data.read_bytes()).hexdigest() == manifest.ciphertext_sha256
    for path in (
        data,
        data.with_name(f"{manifest.backup_id}.manifest.json"),
        site.base / "keys" / "region-eu.sign.key",
    ):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(data.parent.stat().st_mode) == 0o700


def test_the_manifest_and_the_backup_file_hold_no_payload_and_no_secret(site: Site) -> None:
    marker = f"canary-{secrets.token_hex(8)}"
    tenant = site.provision("acme", marker=marker)
    manifest = site.backup(tenant)

    stored = site.region.backup_store / "acme"
    manifest_text = (stored / f"{manifest.backup_id}.manifest.json").read_text()
    ciphertext = (stored / f"{manifest.backup_id}.dump.zst.age").read_bytes()
    secret_key = site.identity.encode()
    for blob in (manifest_text.encode(), ciphertext):
        assert marker.encode() not in blob
        assert secret_key not in blob and secret_key.lower() not in blob
        assert b"AGE-SECRET-KEY" not in blob
    document = json.loads(manifest_text)
    assert set(document) == set(manifest.as_json()) | {"signature"}
    assert document["signature"].startswith("ed25519:")
    # Even decrypted, the dump carries only the platform's sealed payloads, never the marker.
    assert marker.encode() not in decrypt_file(
        stored / f"{manifest.backup_id}.dump.zst.age", site.identity
    )


def test_the_backup_file_decrypts_with_the_tenants_identity_and_no_other(site: Site) -> None:
    manifest = site.backup(site.provision("acme"))
    data = site.region.backup_store / "acme" / f"{manifest.backup_id}.dump.zst.age"

    plaintext = decrypt_file(data, site.identity)
    assert len(plaintext) == manifest.plaintext_size
    assert hashlib.sha256(plaintext).hexdigest() == manifest.plaintext_sha256
    assert plaintext.startswith(b"PGDMP" if site.kind == "postgresql" else b"SQLite format 3\x00")
    stranger = x25519.Identity.generate()
    with pytest.raises(pyrage.DecryptError):
        pyrage.decrypt(data.read_bytes(), [stranger])


def test_progress_is_reported_in_plaintext_bytes_up_to_the_dump_size(site: Site) -> None:
    tenant = site.provision("acme")
    seen: list[int] = []
    manifest = site.repo().create(
        tenant, site.cluster, site.recipient, "bk-progress", progress=seen.append
    )
    assert seen and seen[-1] == manifest.plaintext_size and seen == sorted(seen)


# ----------------------------------------------------------------------------- verification


def test_a_good_backup_passes_quick_full_and_restore_verification(site: Site) -> None:
    manifest = site.backup(site.provision("acme"))
    repo = site.repo(create=False)

    quick = repo.verify(manifest, "quick", None, None)
    full = repo.verify(manifest, "full", site.identity, None)
    restore = repo.verify(manifest, "restore", site.identity, site.cluster)

    assert (quick.ok, full.ok, restore.ok) == (True, True, True), (quick, full, restore)
    assert (quick.level, full.level, restore.level) == ("quick", "full", "restore")
    assert quick.backup_id == manifest.backup_id
    assert "ciphertext SHA-256" in quick.detail
    assert f"{manifest.plaintext_size:,} bytes" in full.detail
    total = sum(manifest.row_counts.values())
    assert f"{total:,} rows" in restore.detail and "every count matches" in restore.detail


def test_restore_verification_leaves_no_scratch_database_or_file_behind(site: Site) -> None:
    manifest = site.backup(site.provision("acme"))
    before = scratch_databases(site)
    assert site.repo().verify(manifest, "restore", site.identity, site.cluster).ok
    assert scratch_databases(site) == before
    assert site.files("acme") == [
        f"{manifest.backup_id}.dump.zst.age",
        f"{manifest.backup_id}.manifest.json",
    ]


def test_verification_levels_need_what_they_need(site: Site) -> None:
    manifest = site.backup(site.provision("acme"))
    repo = site.repo()
    with pytest.raises(InvalidInput, match="unknown verify level"):
        repo.verify(manifest, "thorough", site.identity, site.cluster)
    with pytest.raises(InvalidInput, match="identity"):
        repo.verify(manifest, "full", None, None)


@pytest.mark.postgres
def test_a_postgresql_restore_needs_a_cluster_of_the_backups_own_region(pg_site: Site) -> None:
    site = pg_site
    manifest = site.backup(site.provision("t-" + secrets.token_hex(5)))
    foreign = ClusterSettings("us-pg", "postgresql", site.cluster.url + "&application_name=us", 10)
    with pytest.raises(InvalidInput, match="not a cluster of region eu"):
        site.repo().verify(manifest, "restore", site.identity, foreign)
    with pytest.raises(InvalidInput, match="PostgreSQL cluster"):
        site.repo().verify(manifest, "restore", site.identity, None)


# ----------------------------------------------------------------------------- refusals


def test_a_cluster_of_another_region_is_refused_before_anything_is_written(site: Site) -> None:
    tenant = site.provision("acme")
    foreign = ClusterSettings("us-files", "sqlite", f"sqlite:///{site.base}/us-cluster", 100)
    with pytest.raises(InvalidInput, match="not a cluster of region eu"):
        site.repo().create(tenant, foreign, site.recipient, "bk-foreign")
    assert site.files(tenant) == []


def test_a_missing_tenant_database_is_not_found_and_leaves_nothing(site: Site) -> None:
    with pytest.raises(NotFound):
        site.repo().create("ghost", site.cluster, site.recipient, "bk-ghost")
    assert site.files("ghost") == []
    assert site.repo().manifests() == []


def test_bad_names_ids_and_recipients_are_invalid_input(site: Site) -> None:
    repo = site.repo()
    with pytest.raises(InvalidInput):
        repo.create("Not_A_Tenant", site.cluster, site.recipient, "bk-1")
    with pytest.raises(InvalidInput):
        repo.create("acme", site.cluster, site.recipient, "../../etc/passwd")
    with pytest.raises(InvalidInput, match="recipient"):
        repo.create("acme", site.cluster, "age1notarecipient", "bk-1")
    with pytest.raises(InvalidInput):
        repo.manifest("acme", "bk/../x")


def test_a_second_backup_with_the_same_id_is_a_conflict(site: Site) -> None:
    from aptien_ops.errors import Conflict

    tenant = site.provision("acme")
    first = site.backup(tenant, "bk-same")
    with pytest.raises(Conflict):
        site.backup(tenant, "bk-same")
    assert site.repo().manifests() == [first]


def test_without_its_signing_key_a_production_store_refuses_to_open(tmp_path: Path) -> None:
    site = make_site("sqlite", tmp_path)
    with pytest.raises(ConfigError, match="signing key"):
        site.repo(create=False)
    repo = site.repo(create=True)
    key = tmp_path / "keys" / "region-eu.sign.key"
    assert key.is_file() and stat.S_IMODE(key.stat().st_mode) == 0o600
    assert site.repo(create=False).region == repo.region == "eu"


_GUARD = """
CREATE FUNCTION public.refuse_superuser(value bigint) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION 'tenant code ran as superuser %', current_user;
    END IF;
    RETURN value;
END $$
"""


@pytest.mark.postgres
def test_restore_verification_runs_the_tenants_own_ddl_without_the_admins_powers(
    pg_site: Site, tenant_name: str
) -> None:
    site = pg_site
    tenant = site.provision(tenant_name)
    with site.store.connect_as_owner(tenant, site.passwords[tenant]) as conn:
        # An expression index runs the tenant's function whenever the index is built.
        conn.execute(_GUARD)
        conn.execute("CREATE INDEX users_guarded ON public.users (public.refuse_superuser(id))")
    manifest = site.backup(tenant)
    result = site.repo().verify(manifest, "restore", site.identity, site.cluster)
    assert result.ok, result.detail
