"""Verifying a stored backup at one of three levels, and restoring one for ``backup restore``;
a bad backup is a failed result, never an exception.

``quick`` needs no key; ``full`` decrypts and walks the archive; ``restore`` restores it into a
scratch database of a cluster of the backup's own region and compares row counts. Plaintext
only ever goes to a cluster of the region: PostgreSQL restores into a scratch database, SQLite
decrypts into the cluster's scratch directory (:mod:`sqlite_scratch`), never into the store.
The archive is walked by the module of its kind: :mod:`sqlite_backup`, or :mod:`pg_backup`
(loaded only for a PostgreSQL backup, with psycopg).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from aptien_ops.backends import backup_codec as codec
from aptien_ops.backends import backup_verdicts as verdicts
from aptien_ops.backends import sqlite_backup, sqlite_scratch
from aptien_ops.backends.backup_files import BackupStore
from aptien_ops.backends.backup_manifests import PG_KIND, load_manifest
from aptien_ops.backends.backup_signing import RegionSigner
from aptien_ops.backends.sqlite_tenant_files import cluster_directory
from aptien_ops.config import ClusterSettings
from aptien_ops.domain import BackupManifest, VerifyResult
from aptien_ops.errors import IntegrityFailure, InvalidInput, NotFound

LEVELS = ("quick", "full", "restore")
Feed = Callable[[codec.Sink], codec.Opened]


def verify(
    store: BackupStore,
    signer: RegionSigner,
    manifest: BackupManifest,
    level: str,
    identity: str | None,
    scratch_cluster: ClusterSettings | None,
) -> VerifyResult:
    """Check the backup at ``level``; a bad backup is a failed result, never an exception.

    ``quick``: the stored manifest is this one and validly signed, the file's size and
    SHA-256 match (no key). ``full``: also decrypt, decompress, check the plaintext SHA-256
    and walk the archive (``pg_restore --list`` hash, ``pg_restore -f /dev/null``; SQLite:
    integrity check and schema listing of a scratch copy on a SQLite cluster of the region).
    ``restore``: like full, but restore into a scratch database on ``scratch_cluster`` and
    compare every table's row count with the manifest; the scratch is dropped whatever
    happens.

    Raises:
        InvalidInput: unknown level, no identity for full/restore, a scratch cluster of
            another region or kind (or none for a restore).
        Unavailable: the scratch cluster is down, the store is full or unreadable.
    """
    if level not in LEVELS:
        raise InvalidInput(
            f"unknown verify level {str(level)[:20]!r}", hint="quick, full or restore"
        )
    problem = _manifest_problem(store, signer, manifest)
    if problem is not None:
        return VerifyResult(manifest.backup_id, level, False, problem)
    if level == "quick":
        path = store.data_path(manifest.tenant, manifest.backup_id)
        verdict = verdicts.judge_file(path, manifest.ciphertext_size, manifest.ciphertext_sha256)
        return VerifyResult(manifest.backup_id, level, *verdict)
    checked = _feed(store, manifest, level, identity)
    if isinstance(checked, VerifyResult):
        return checked
    try:
        walked = _walk(store, manifest, level, scratch_cluster, checked)
    except OSError as exc:
        raise store.error(exc, f"verifying backup {manifest.backup_id}") from None
    return _judged(manifest, level, walked)


def restore(
    store: BackupStore,
    signer: RegionSigner,
    manifest: BackupManifest,
    identity: str,
    cluster: ClusterSettings,
    *,
    tenant: str,
    database: str,
    progress: Callable[[int], None] | None = None,
) -> VerifyResult:
    """Restore the backup into the staging database ``database`` of ``tenant`` on
    ``cluster`` (PostgreSQL: as the tenant's own role) and judge it as ``restore``
    verification does. ``progress`` gets plaintext bytes done.

    Raises: InvalidInput (no identity, a cluster of another region or kind), Unavailable.
    """
    store.check_cluster(cluster)
    if _kind_of(manifest) != cluster.kind:
        raise InvalidInput(
            f"backup {manifest.backup_id} ({manifest.kind}) cannot be restored into"
            f" {cluster.kind} cluster {cluster.name!r}"
        )
    problem = _manifest_problem(store, signer, manifest)
    if problem is not None:
        return VerifyResult(manifest.backup_id, "restore", False, problem)
    checked = _feed(store, manifest, "restore", identity, progress)
    if isinstance(checked, VerifyResult):
        return checked
    try:
        if cluster.kind == "sqlite":
            target = sqlite_scratch.path_of(cluster_directory(cluster.url), database)
            walked = sqlite_backup.walk(target, True, checked)
        else:
            from aptien_ops.backends import pg_backup
            from aptien_ops.backends.postgres_tenants import owner_role

            workdir = store.directory(manifest.tenant)
            role = owner_role(tenant)
            walked = pg_backup.restore_into(cluster, database, role, workdir, checked)
    except OSError as exc:
        raise store.error(exc, f"restoring backup {manifest.backup_id}") from None
    return _judged(manifest, "restore", walked)


def _manifest_problem(
    store: BackupStore, signer: RegionSigner, manifest: BackupManifest
) -> str | None:
    """What is wrong with the manifest in the store (missing, unsigned, not this one), or None."""
    try:
        stored = load_manifest(store, signer, manifest.tenant, manifest.backup_id)
    except NotFound:
        return "the manifest is missing from the store"
    except IntegrityFailure as exc:
        return exc.message
    return None if stored == manifest else "the manifest differs from the one in the store"


def _feed(
    store: BackupStore,
    manifest: BackupManifest,
    level: str,
    identity: str | None,
    progress: Callable[[int], None] | None = None,
) -> VerifyResult | Feed:
    """What decrypts the backup into a sink, or a failed result if ``identity`` is not the
    key it was encrypted to. Raises: InvalidInput (no identity, or not an age identity)."""
    if not identity:
        raise InvalidInput(f"{level} verification needs the tenant's backup identity")
    if (
        codec.recipient_fingerprint(str(codec.parse_identity(identity).to_public()))
        != manifest.recipient_fingerprint
    ):
        detail = "wrong key: the identity does not match the backup's recipient"
        return VerifyResult(manifest.backup_id, level, False, detail)
    path = store.data_path(manifest.tenant, manifest.backup_id)

    def feed(sink: codec.Sink) -> codec.Opened:
        counted = sink if progress is None else _Counted(sink, progress)
        return codec.decrypt(path, identity, counted, expected_size=manifest.ciphertext_size)

    return feed


class _Counted:
    """A sink that reports plaintext bytes as they pass, every ``codec.PROGRESS_STEP``."""

    def __init__(self, sink: codec.Sink, progress: Callable[[int], None]) -> None:
        self._sink, self._progress = sink, progress
        self._done = self._reported = 0

    def write(self, data: bytes) -> int:
        written = self._sink.write(data)
        self._done += len(data)
        if self._done - self._reported >= codec.PROGRESS_STEP:
            self._reported = self._done
            self._progress(self._done)
        return written


def _judged(manifest: BackupManifest, level: str, walked: verdicts.Walked) -> VerifyResult:
    ok, detail = verdicts.judge_walk(
        walked,
        ciphertext=(manifest.ciphertext_size, manifest.ciphertext_sha256),
        plaintext=(manifest.plaintext_size, manifest.plaintext_sha256),
        archive_list_sha256=manifest.archive_list_sha256,
        row_counts=manifest.row_counts if level == "restore" else None,
    )
    return VerifyResult(
        manifest.backup_id, level, ok, f"{detail}; {walked.note}" if walked.note else detail
    )


def _kind_of(manifest: BackupManifest) -> str:
    """The cluster kind a backup restores into. Raises: InvalidInput for an unknown kind."""
    if manifest.kind == sqlite_backup.KIND:
        return "sqlite"
    if manifest.kind == PG_KIND:
        return "postgresql"
    raise InvalidInput(f"backup {manifest.backup_id} is of unknown kind {manifest.kind!r}")


def _scratch_cluster(
    store: BackupStore,
    manifest: BackupManifest,
    level: str,
    given: ClusterSettings | None,
) -> ClusterSettings | None:
    """The cluster a verification puts its plaintext on: ``given`` (a restore names it), else,
    for a full verification of a SQLite backup, a SQLite cluster of the region, the backup's
    own first. None for a full verification of a PostgreSQL backup, which restores nothing.

    Raises: InvalidInput (none of the right kind, or one of another region).
    """
    kind = _kind_of(manifest)
    if level == "full" and kind == "postgresql":
        return None
    if given is None and level == "full":
        mine = sorted(
            (c for c in store.settings.clusters if c.kind == kind),
            key=lambda c: c.name != manifest.cluster,
        )
        given = mine[0] if mine else None
    if given is None or given.kind != kind:
        label = "SQLite" if kind == "sqlite" else "PostgreSQL"
        raise InvalidInput(
            f"{level} verification of {manifest.backup_id} needs a {label} cluster of region"
            f" {store.region} for its scratch copy"
        )
    store.check_cluster(given)
    return given


def _walk(
    store: BackupStore,
    manifest: BackupManifest,
    level: str,
    scratch_cluster: ClusterSettings | None,
    feed: Feed,
) -> verdicts.Walked:
    cluster = _scratch_cluster(store, manifest, level, scratch_cluster)
    if manifest.kind == sqlite_backup.KIND:
        assert cluster is not None
        with sqlite_scratch.held_copy(
            cluster.name, cluster_directory(cluster.url), manifest.tenant
        ) as copy:
            walked = sqlite_backup.walk(copy.path, level == "restore", feed)
        swept = copy.swept.describe()
        return replace(walked, note=swept) if swept else walked
    from aptien_ops.backends import pg_backup

    return pg_backup.walk(cluster, manifest.tenant, store.directory(manifest.tenant), feed)
