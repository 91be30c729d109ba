"""Verifying a stored backup at one of three levels; a bad backup is a failed result.

``quick`` needs no key; ``full`` decrypts and walks the archive; ``restore`` restores it into a
scratch database (SQLite: a scratch file in the store) and compares row counts. The archive is
walked by the module of its kind: :mod:`sqlite_backup`, or :mod:`pg_backup` (loaded only for
a PostgreSQL backup, with psycopg).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from aptien_ops.backends import backup_codec as codec
from aptien_ops.backends import backup_verdicts as verdicts
from aptien_ops.backends import sqlite_backup
from aptien_ops.backends.backup_files import PARTIAL, BackupStore, Partial
from aptien_ops.backends.backup_manifests import PG_KIND, load_manifest
from aptien_ops.backends.backup_signing import RegionSigner
from aptien_ops.config import ClusterSettings
from aptien_ops.domain import BackupManifest, VerifyResult
from aptien_ops.errors import IntegrityFailure, InvalidInput, NotFound

LEVELS = ("quick", "full", "restore")


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
    integrity check and schema listing). ``restore``: like full, but restore into a scratch
    database on ``scratch_cluster`` (SQLite: a scratch file in the store) and compare every
    table's row count with the manifest; the scratch is dropped whatever happens.

    Raises:
        InvalidInput: unknown level, no identity for full/restore, a scratch cluster of
            another region or kind (or none for a PostgreSQL restore).
        Unavailable: the scratch cluster is down, the store is full or unreadable.
    """
    if level not in LEVELS:
        raise InvalidInput(
            f"unknown verify level {str(level)[:20]!r}", hint="quick, full or restore"
        )

    def result(verdict: tuple[bool, str]) -> VerifyResult:
        return VerifyResult(manifest.backup_id, level, verdict[0], verdict[1])

    try:
        stored = load_manifest(store, signer, manifest.tenant, manifest.backup_id)
    except NotFound:
        return result((False, "the manifest is missing from the store"))
    except IntegrityFailure as exc:
        return result((False, exc.message))
    if stored != manifest:
        return result((False, "the manifest differs from the one in the store"))
    path = store.data_path(manifest.tenant, manifest.backup_id)
    if level == "quick":
        return result(
            verdicts.judge_file(path, manifest.ciphertext_size, manifest.ciphertext_sha256)
        )
    if not identity:
        raise InvalidInput(f"{level} verification needs the tenant's backup identity")
    if (
        codec.recipient_fingerprint(str(codec.parse_identity(identity).to_public()))
        != manifest.recipient_fingerprint
    ):
        return result((False, "wrong key: the identity does not match the backup's recipient"))

    def feed(sink: codec.Sink) -> codec.Opened:
        return codec.decrypt(path, identity, sink, expected_size=manifest.ciphertext_size)

    try:
        walked = _walk(store, manifest, level, scratch_cluster, feed)
    except OSError as exc:
        raise store.error(exc, f"verifying backup {manifest.backup_id}") from None
    ok, detail = verdicts.judge_walk(
        walked,
        ciphertext=(manifest.ciphertext_size, manifest.ciphertext_sha256),
        plaintext=(manifest.plaintext_size, manifest.plaintext_sha256),
        archive_list_sha256=manifest.archive_list_sha256,
        row_counts=manifest.row_counts if level == "restore" else None,
    )
    return result((ok, f"{detail}; {walked.note}" if walked.note else detail))


def _walk(
    store: BackupStore,
    manifest: BackupManifest,
    level: str,
    scratch_cluster: ClusterSettings | None,
    feed: Callable[[codec.Sink], codec.Opened],
) -> verdicts.Walked:
    directory = store.directory(manifest.tenant)
    if manifest.kind == sqlite_backup.KIND:
        scratch = directory / f"{manifest.backup_id}.scratch-{secrets.token_hex(4)}.sqlite{PARTIAL}"
        with Partial(scratch) as held:
            try:
                return sqlite_backup.walk(held.path, level == "restore", feed)
            finally:
                sqlite_backup.remove_side_files(held.path)
    if manifest.kind != PG_KIND:
        raise InvalidInput(f"backup {manifest.backup_id} is of unknown kind {manifest.kind!r}")
    cluster = None
    if level == "restore":
        if scratch_cluster is None or scratch_cluster.kind != "postgresql":
            raise InvalidInput(
                f"restoring {manifest.backup_id} needs a PostgreSQL cluster"
                f" of region {store.region}"
            )
        store.check_cluster(scratch_cluster)
        cluster = scratch_cluster
    from aptien_ops.backends import pg_backup

    return pg_backup.walk(cluster, manifest.tenant, directory, feed)
