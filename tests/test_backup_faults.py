"""Faults and bad input: nothing corrupt is ever reported as good, and a failed or killed backup
leaves nothing visible. Real files, a real PostgreSQL server, real signals and a real full disk."""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from backup_site import Site, make_site, wait_for_partial
from ci_skips import missing_tool
from pyrage import x25519
from waiting import until

from aptien_ops.backends import backup_codec, pg_scratch
from aptien_ops.backends.backup_signing import RegionSigner
from aptien_ops.config import ClusterSettings
from aptien_ops.domain import BackupManifest, VerifyResult
from aptien_ops.errors import IntegrityFailure, NotFound, OpsError, Unavailable

BIG = {"users": 200, "logins": 20_000, "audit_events": 200_000}


@pytest.fixture
def backed_up(site: Site) -> tuple[Site, BackupManifest, Path]:
    """A good backup of a small seeded tenant ``acme``: (site, manifest, data file)."""
    manifest = site.backup(site.provision("acme"))
    return site, manifest, site.region.backup_store / "acme" / f"{manifest.backup_id}.dump.zst.age"


def payload_start(data: bytes) -> int:
    """Offset of the first age payload chunk: after the header's MAC line and the 16-byte nonce."""
    mac_line = data.index(b"\n--- ") + 1
    return data.index(b"\n", mac_line) + 1 + 16


def flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x10
    path.write_bytes(bytes(data))


def levels(site: Site, manifest: BackupManifest) -> tuple[VerifyResult, VerifyResult]:
    repo = site.repo()
    return (
        repo.verify(manifest, "quick", None, None),
        repo.verify(manifest, "full", site.identity, None),
    )


# ----------------------------------------------------------------------------- damaged files


@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_a_flipped_bit_anywhere_fails_quick_and_full_verification(
    backed_up: tuple[Site, BackupManifest, Path], where: str
) -> None:
    site, manifest, data = backed_up
    offset = {
        "start": 0,
        "middle": manifest.ciphertext_size // 2,
        "end": manifest.ciphertext_size - 1,
    }[where]
    flip(data, offset)

    quick, full = levels(site, manifest)
    assert not quick.ok and quick.detail == "ciphertext hash mismatch"
    assert not full.ok
    if where == "start":
        assert "age header" in full.detail
    else:
        assert "decryption failed at chunk" in full.detail and "altered" in full.detail


@pytest.mark.parametrize("cut", ["chunk boundary", "mid-chunk"])
def test_a_truncated_backup_fails_quick_and_full_verification_naming_the_chunk(
    backed_up: tuple[Site, BackupManifest, Path], cut: str
) -> None:
    site, manifest, data = backed_up
    raw = data.read_bytes()
    boundary = payload_start(raw) + 2 * (backup_codec.AGE_CHUNK + 16)
    keep = boundary if cut == "chunk boundary" else boundary + 1000
    assert keep < len(raw)
    data.write_bytes(raw[:keep])

    quick, full = levels(site, manifest)
    assert not quick.ok and quick.detail.startswith(
        f"truncated: the file has {keep:,} of {len(raw):,} bytes"
    )
    # Chunks 0 and 1 are whole either way; the stream ends where chunk 2 should be (or in it).
    assert not full.ok and full.detail.startswith("truncated at chunk 2 ")


def test_bytes_appended_to_a_backup_fail_quick_and_full_verification(
    backed_up: tuple[Site, BackupManifest, Path],
) -> None:
    site, manifest, data = backed_up
    with open(data, "ab") as fh:
        fh.write(b"\x00" * 100)
    quick, full = levels(site, manifest)
    assert not quick.ok and "size mismatch" in quick.detail
    assert not full.ok and "appended" in full.detail


def test_another_backup_of_the_same_tenant_in_its_place_is_caught(site: Site) -> None:
    tenant = site.provision("acme")
    first, second = site.backup(tenant, "bk-first"), site.backup(tenant, "bk-second")
    directory = site.region.backup_store / tenant
    (directory / "bk-second.dump.zst.age").write_bytes(
        (directory / "bk-first.dump.zst.age").read_bytes()
    )

    quick, full = levels(site, second)
    assert not quick.ok and ("mismatch" in quick.detail or "truncated" in quick.detail)
    assert not full.ok and "ciphertext hash mismatch" in full.detail
    assert levels(site, first)[1].ok


def test_a_corrupt_backup_fails_restore_verification_and_drops_its_scratch(
    backed_up: tuple[Site, BackupManifest, Path],
) -> None:
    from test_backup_engine import scratch_databases

    site, manifest, data = backed_up
    before = scratch_databases(site)
    flip(data, manifest.ciphertext_size // 2)
    result = site.repo().verify(manifest, "restore", site.identity, site.cluster)
    assert not result.ok and "decryption failed at chunk" in result.detail
    assert scratch_databases(site) == before


# ----------------------------------------------------------------------------- manifests


def test_a_tampered_manifest_fails_its_signature_and_is_not_listed(
    backed_up: tuple[Site, BackupManifest, Path],
) -> None:
    site, manifest, data = backed_up
    path = data.with_name(f"{manifest.backup_id}.manifest.json")
    document = json.loads(path.read_text())
    document["row_counts"]["audit_events"] -= 1
    path.write_text(json.dumps(document))

    repo = site.repo()
    with pytest.raises(IntegrityFailure, match="signature"):
        repo.manifest("acme", manifest.backup_id)
    assert repo.manifests() == []
    assert [p for p, _ in repo.invalid_manifests()] == [str(path)]
    assert "signature" in repo.invalid_manifests()[0][1]
    quick = repo.verify(manifest, "quick", None, None)
    assert not quick.ok and "signature" in quick.detail


def test_a_manifest_signed_with_wrong_row_counts_fails_restore_verification(
    backed_up: tuple[Site, BackupManifest, Path],
) -> None:
    site, manifest, data = backed_up
    counts = dict(manifest.row_counts, audit_events=manifest.row_counts["audit_events"] + 2)
    lying = dataclasses.replace(manifest, row_counts=counts)
    document: dict[str, object] = lying.as_json()
    document["signature"] = RegionSigner(
        site.base / "keys" / "region-eu.sign.key", create=False
    ).sign(document)
    data.with_name(f"{manifest.backup_id}.manifest.json").write_text(json.dumps(document))

    repo = site.repo()
    assert repo.verify(lying, "full", site.identity, None).ok  # the archive itself is intact
    result = repo.verify(lying, "restore", site.identity, site.cluster)
    assert not result.ok
    assert result.detail == "row count of audit_events 2,000 ≠ 2,002"


def test_a_missing_manifest_hides_the_backup_and_its_data_is_cleaned(
    backed_up: tuple[Site, BackupManifest, Path],
) -> None:
    site, manifest, data = backed_up
    data.with_name(f"{manifest.backup_id}.manifest.json").unlink()

    repo = site.repo()
    assert repo.manifests() == []
    with pytest.raises(NotFound):
        repo.manifest("acme", manifest.backup_id)
    assert not repo.verify(manifest, "quick", None, None).ok
    assert repo.clean_partials() == [str(data)]
    assert site.files("acme") == []


def test_a_manifest_without_its_data_file_is_an_integrity_failure(
    backed_up: tuple[Site, BackupManifest, Path],
) -> None:
    site, manifest, data = backed_up
    data.unlink()
    with pytest.raises(IntegrityFailure, match="data file is missing"):
        site.repo().manifest("acme", manifest.backup_id)
    assert site.repo().manifests() == []


def test_a_backup_copied_under_another_tenant_is_refused(
    backed_up: tuple[Site, BackupManifest, Path],
) -> None:
    site, manifest, data = backed_up
    other = site.region.backup_store / "bobco"
    other.mkdir()
    for name in (data.name, f"{manifest.backup_id}.manifest.json"):
        (other / name).write_bytes((data.parent / name).read_bytes())
    with pytest.raises(IntegrityFailure, match="describes"):
        site.repo().manifest("bobco", manifest.backup_id)
    assert site.repo().manifests("bobco") == []


def test_an_unknown_backup_id_is_not_found(site: Site) -> None:
    with pytest.raises(NotFound, match="no backup bk-nope"):
        site.repo().manifest("acme", "bk-nope")


# ----------------------------------------------------------------------------- keys


def test_the_wrong_key_fails_full_verification(
    backed_up: tuple[Site, BackupManifest, Path],
) -> None:
    site, manifest, data = backed_up
    stranger = str(x25519.Identity.generate())
    result = site.repo().verify(manifest, "full", stranger, None)
    assert not result.ok and result.detail.startswith("wrong key")
    # Below the fingerprint check, age itself refuses: no stanza opens with that identity.
    opened = backup_codec.decrypt(
        data, stranger, _Discard(), expected_size=manifest.ciphertext_size
    )
    assert opened.problem is not None and opened.problem.startswith(
        "wrong key: no matching identity"
    )
    assert opened.plaintext_size == 0


class _Discard:
    def write(self, data: bytes) -> int:
        return len(data)


# ----------------------------------------------------------------------------- crashes


#: The start of a child process's program: the site's repository, rebuilt from the spec file
#: that :func:`_start_child` names on its command line.
_CHILD_REPO = """
import json, sys
from pathlib import Path
from aptien_ops.config import ClusterSettings, RegionSettings
from aptien_ops.backends.backup_repository import FsBackupRepository
spec = json.loads(Path(sys.argv[1]).read_text())
cluster = ClusterSettings(**spec["cluster"])
region = RegionSettings(
    "eu", "EEA", Path(spec["store"]), (cluster,), Path(spec["key_file"]), "aptien_inspector_eu"
)
repo = FsBackupRepository(region, create=False)
"""
_CHILD = _CHILD_REPO + 'repo.create(spec["tenant"], cluster, spec["recipient"], "bk-killed")\n'


def _start_child(site: Site, program: str, **spec: str) -> subprocess.Popen[bytes]:
    """Run ``program`` in a new interpreter, given ``spec`` and the site's cluster, store and
    region key in a JSON file (a process of its own, so that the test can kill it)."""
    path = site.base / "child.json"
    cluster = {
        k: v
        for k, v in dataclasses.asdict(site.cluster).items()
        if k in ("name", "kind", "url", "capacity")
    }
    path.write_text(
        json.dumps(
            {
                "cluster": cluster,
                "store": str(site.region.backup_store),
                "key_file": str(site.region.key_file),
                **spec,
            }
        )
    )
    return subprocess.Popen([sys.executable, "-c", program, str(path)], stderr=subprocess.PIPE)


def test_a_backup_killed_mid_stream_is_never_listed_and_its_partial_is_cleaned(site: Site) -> None:
    tenant = site.provision("acme", **BIG)
    site.repo()  # creates the signing key the child will use
    child = _start_child(site, _CHILD, tenant=tenant, recipient=site.recipient)
    try:
        partial = wait_for_partial(site.region.backup_store / tenant, 256 * 1024)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL, child.stderr.read() if child.stderr else ""

    repo = site.repo(create=False)
    assert repo.manifests() == [] and repo.invalid_manifests() == []
    removed = repo.clean_partials()
    assert str(partial) in removed
    assert all(p.endswith(".partial") or "-journal" in p for p in removed)
    assert site.files(tenant) == []
    # The store works again at once: the next run succeeds.
    assert repo.verify(site.backup(tenant), "quick", None, None).ok


def test_a_partial_that_a_live_writer_holds_is_not_cleaned(site: Site) -> None:
    directory = site.region.backup_store / "acme"
    directory.mkdir(parents=True)
    held = directory / "bk-live.dump.zst.age.partial"
    with open(held, "wb") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        assert site.repo().clean_partials() == []
        assert held.exists()
    assert site.repo().clean_partials() == [str(held)]


_VERIFY_CHILD = _CHILD_REPO + (
    'manifest = repo.manifest(spec["tenant"], spec["backup_id"])\n'
    'repo.verify(manifest, "restore", spec["identity"], cluster)\n'
)


def scratch_of(site: Site, tenant: str) -> list[str]:
    from test_backup_engine import scratch_databases

    return [name for name in scratch_databases(site) if name.startswith(f"scratch_{tenant}_")]


def _running(child: subprocess.Popen[bytes]) -> None:
    assert child.poll() is None, child.stderr.read() if child.stderr else ""


def restoring_into_scratch(site: Site, tenant: str) -> bool:
    """Whether pg_restore is connected to the tenant's scratch database (restoring into it)."""
    with pg_scratch.admin_connect(site.cluster) as conn:
        connected = [r[0] for r in conn.execute("SELECT datname FROM pg_stat_activity")]
    return any(name and name.startswith(f"scratch_{tenant}_") for name in connected)


@pytest.mark.postgres
def test_a_restore_verification_killed_mid_restore_leaves_a_scratch_database_the_next_one_drops(
    pg_site: Site, tenant_name: str
) -> None:
    site = pg_site
    tenant = site.provision(tenant_name, **BIG)
    manifest = site.backup(tenant)
    child = _start_child(
        site, _VERIFY_CHILD, tenant=tenant, backup_id=manifest.backup_id, identity=site.identity
    )
    try:
        until(
            lambda: restoring_into_scratch(site, tenant),
            "pg_restore restoring into a scratch database",
            meanwhile=lambda: _running(child),
        )
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL, child.stderr.read() if child.stderr else ""
    [left] = scratch_of(site, tenant)  # kill -9 runs no clean-up: the database stays, for now

    again = site.repo().verify(manifest, "restore", site.identity, site.cluster)
    assert again.ok, again.detail
    assert f"dropped 1 leftover scratch copy on cluster {site.cluster.name!r}" in again.detail
    assert left in again.detail
    assert scratch_of(site, tenant) == []


@pytest.mark.postgres
def test_a_scratch_database_in_use_by_a_live_verification_is_never_swept(
    pg_site: Site, tenant_name: str
) -> None:
    site = pg_site
    tenant = site.provision(tenant_name)
    manifest = site.backup(tenant)
    with pg_scratch.scratch_database(site.cluster, tenant) as scratch:
        live = scratch.name
        result = site.repo().verify(manifest, "restore", site.identity, site.cluster)
        assert result.ok and "scratch database(s)" not in result.detail
        assert live in scratch_of(site, tenant)
    assert scratch_of(site, tenant) == []
    # Not ours to drop: a database that only looks like a scratch database by its prefix.
    with pg_scratch.admin_connect(site.cluster) as conn:
        conn.execute(f'CREATE DATABASE "scratch_{tenant}_keep"')
    try:
        assert site.repo().verify(manifest, "restore", site.identity, site.cluster).ok
        assert scratch_of(site, tenant) == [f"scratch_{tenant}_keep"]
    finally:
        with pg_scratch.admin_connect(site.cluster) as conn:
            conn.execute(f'DROP DATABASE "scratch_{tenant}_keep"')


@pytest.mark.postgres
def test_a_database_dropped_mid_dump_fails_the_backup_naming_the_tenant(
    pg_site: Site, tenant_name: str
) -> None:
    site = pg_site
    tenant = site.provision(tenant_name, **BIG)
    outcome: list[BaseException | BackupManifest] = []

    def run() -> None:
        try:
            outcome.append(site.backup(tenant))
        except OpsError as exc:
            outcome.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    wait_for_partial(site.region.backup_store / tenant, 256 * 1024)
    site.store.drop_database(tenant)
    worker.join(timeout=120)
    assert len(outcome) == 1 and isinstance(outcome[0], Unavailable), outcome
    assert tenant in outcome[0].message and "pg_dump" in outcome[0].message
    assert site.repo().manifests() == []
    assert site.files(tenant) == []


# ----------------------------------------------------------------------------- full disk


@pytest.fixture
def tiny_store(site: Site) -> Iterator[Site]:
    """The site with its backup store on a 256 KiB tmpfs (a size-limited file system)."""
    mount_point = site.region.backup_store
    mount_point.mkdir(parents=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        missing_tool(
            f"mount (of a tmpfs, needs root) failed: {done.stderr.strip()}", "the disk-full test"
        )
    try:
        yield site
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True, check=False)


def test_a_full_store_fails_the_backup_clearly_and_leaves_nothing(tiny_store: Site) -> None:
    site = tiny_store
    tenant = site.provision("acme", audit_events=5_000)
    with pytest.raises(Unavailable, match="backup store of region eu is full"):
        site.backup(tenant)
    repo = site.repo()
    assert repo.manifests() == []
    assert site.files(tenant) == []
    assert repo.clean_partials() == []


def test_a_cluster_that_is_down_fails_the_backup_as_unavailable(tmp_path: Path) -> None:
    down = ClusterSettings(
        "eu-down",
        "postgresql",
        f"postgresql+psycopg://postgres@/postgres?host={tmp_path}/gone&port=5432",
        10,
    )
    site = make_site("postgresql", tmp_path, down)
    with pytest.raises(Unavailable, match="eu-down"):
        site.backup("acme")
    assert site.files("acme") == []
    assert site.repo().manifests() == []
