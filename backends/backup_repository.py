"""A region's backup store on a file system (the ``BackupRepository`` port).

Layout: ``<store>/<tenant>/<backup-id>.dump.zst.age`` (zstd, then age to the tenant's own
X25519 recipient) and ``<backup-id>.manifest.json`` (signed with the region's Ed25519 key).
How the files are written, held and cleaned is :mod:`backup_files`; how manifests are signed
and read back, :mod:`backup_manifests`; how a backup is checked, :mod:`backup_verification`;
the ops-log checkpoints kept beside the backups, :mod:`backup_checkpoints`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyrage
import zstandard

from aptien_ops.backends import backup_codec as codec
from aptien_ops.backends import backup_verification, sqlite_backup, sqlite_scratch
from aptien_ops.backends.backup_checkpoints import scan_checkpoints, write_checkpoint
from aptien_ops.backends.backup_files import (
    PARTIAL,
    BackupStore,
    Partial,
    fsync_directory,
    remove_stale,
)
from aptien_ops.backends.backup_manifests import (
    FORMAT,
    PG_KIND,
    VerifiedManifests,
    load_manifest,
    scan_manifests,
    write_manifest,
)
from aptien_ops.backends.backup_signing import RegionSigner, signing_key_path
from aptien_ops.backends.sqlite_tenant_files import cluster_directory
from aptien_ops.config import ClusterSettings, RegionSettings
from aptien_ops.domain import BackupManifest, Clock, OpsLogCheckpoint, VerifyResult, iso, utcnow
from aptien_ops.errors import Conflict, Unavailable
from aptien_ops.ports import BackupRepository, TenantStore


class FsBackupRepository:
    """Implements :class:`aptien_ops.ports.BackupRepository` for one region."""

    def __init__(
        self,
        region: RegionSettings,
        *,
        create: bool = False,
        strict_modes: bool = False,
        signing_key_file: Path | None = None,
        store_factory: Callable[[ClusterSettings], TenantStore] | None = None,
        clock: Clock = utcnow,
    ) -> None:
        """Open the region's store (created on first write) and its signing key.

        ``create`` makes a missing signing key (sandbox, first run); ``strict_modes``
        (production) refuses one that is not private to this account; ``signing_key_file``
        defaults to ``region-<r>.sign.key`` beside the region key; ``store_factory`` opens a
        cluster's tenant store (default: the registered adapter of its kind); ``clock`` stamps
        the manifests.

        Raises: ConfigError if the signing key is missing (and not ``create``) or malformed;
        IntegrityFailure if it is not private (``strict_modes``).
        """
        self.region = region.name
        self.root = region.backup_store
        self._store = BackupStore(region)
        self._signer = RegionSigner(
            signing_key_file or signing_key_path(region), create=create, strict_modes=strict_modes
        )
        self._tenant_stores = store_factory or _default_store
        self.clock = clock
        self._verified = VerifiedManifests()

    def data_path(self, tenant: str, backup_id: str) -> Path:
        """Raises: InvalidInput (tenant name or backup id)."""
        return self._store.data_path(tenant, backup_id)

    def manifest_path(self, tenant: str, backup_id: str) -> Path:
        """Raises: InvalidInput (tenant name or backup id)."""
        return self._store.manifest_path(tenant, backup_id)

    # ------------------------------------------------------------------ backup

    def create(
        self,
        tenant: str,
        cluster: ClusterSettings,
        recipient: str,
        backup_id: str,
        progress: Callable[[int], None] | None = None,
    ) -> BackupManifest:
        """Dump the tenant in one consistent snapshot → zstd → age → the store, manifest last.

        Raises:
            InvalidInput: bad tenant name, backup id or recipient; a cluster of another region.
            Conflict: a backup with this id exists or is being written.
            NotFound: the tenant's database does not exist.
            Unavailable: the cluster or the store is down, the store is full, the dump failed
                (e.g. the database was dropped mid-dump). Nothing is left visible.
        """
        directory = self._store.directory(tenant)
        self.data_path(tenant, backup_id)  # checks the id before anything is created
        codec.parse_recipient(recipient)
        self._store.check_cluster(cluster)
        try:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            directory.mkdir(mode=0o700, exist_ok=True)
        except OSError as exc:
            raise self._store.error(exc, f"backup of tenant {tenant!r}") from None
        try:
            return self._create(tenant, cluster, recipient, backup_id, progress)
        except BaseException:
            _remove_if_empty(directory)  # a failed first backup leaves no empty directory
            raise

    def _create(
        self,
        tenant: str,
        cluster: ClusterSettings,
        recipient: str,
        backup_id: str,
        progress: Callable[[int], None] | None,
    ) -> BackupManifest:
        directory, data_final = self._store.directory(tenant), self.data_path(tenant, backup_id)
        try:
            # This tenant's only: a fleet run must not rescan every tenant.
            self.clean_partials(tenant)
            if self.manifest_path(tenant, backup_id).exists() or data_final.exists():
                raise Conflict(
                    f"backup {backup_id} of {tenant} already exists in region {self.region}"
                )
            started = iso(self.clock()) or ""
            with Partial(data_final.with_name(data_final.name + PARTIAL)) as data:
                sealed: list[codec.Sealed] = []

                def consume(stream: codec.Source) -> None:
                    sealed.append(codec.encrypt(stream, data.fh, recipient, progress))

                info = self._dump(tenant, cluster, consume)
                data.publish(data_final)
                manifest = BackupManifest(
                    backup_id=backup_id,
                    tenant=tenant,
                    region=self.region,
                    cluster=cluster.name,
                    database=info.database,
                    kind=PG_KIND if cluster.kind == "postgresql" else sqlite_backup.KIND,
                    server_version=info.server_version,
                    dump_tool=info.dump_tool,
                    snapshot=info.snapshot,
                    started_at=started,
                    finished_at=iso(self.clock()) or "",
                    plaintext_size=sealed[0].plaintext_size,
                    ciphertext_size=sealed[0].ciphertext_size,
                    plaintext_sha256=sealed[0].plaintext_sha256,
                    ciphertext_sha256=sealed[0].ciphertext_sha256,
                    recipient_fingerprint=codec.recipient_fingerprint(recipient),
                    row_counts=info.row_counts,
                    archive_list_sha256=info.archive_list_sha256,
                    format=FORMAT,
                )
                write_manifest(self._store, self._signer, manifest)
                fsync_directory(directory)
                data.keep()
        except OSError as exc:
            raise self._store.error(exc, f"backup of tenant {tenant!r}") from None
        return manifest

    def _dump(
        self,
        tenant: str,
        cluster: ClusterSettings,
        consume: Callable[[codec.Source], None],
    ) -> codec.DumpInfo:
        store = self._tenant_stores(cluster)
        try:
            directory = self._store.directory(tenant)
            if cluster.kind == "postgresql":
                from aptien_ops.backends import pg_backup

                return pg_backup.backup(store, cluster, tenant, directory, consume)
            # The plaintext copy stays on the cluster, in its scratch area, never in the store.
            scratch = cluster_directory(cluster.url)
            with sqlite_scratch.held_copy(cluster.name, scratch, tenant) as copy:
                return sqlite_backup.backup(store, tenant, copy.path, consume)
        except (pyrage.EncryptError, zstandard.ZstdError) as exc:
            raise Unavailable(
                f"tenant {tenant!r}: compressing or encrypting the backup failed: {exc}"
            ) from None
        finally:
            store.close()

    # ------------------------------------------------------------------ manifests

    def manifest(self, tenant: str, backup_id: str) -> BackupManifest:
        """The backup's signed manifest.

        Raises: InvalidInput (names), NotFound, IntegrityFailure (bad signature, data file
        missing, a manifest moved from elsewhere), Unavailable (the store cannot be read).
        """
        return load_manifest(self._store, self._signer, tenant, backup_id)

    def manifests(self, tenant: str | None = None) -> list[BackupManifest]:
        """Valid, signed manifests (with their data file), oldest first. Invalid ones are
        skipped, logged and reported by :meth:`invalid_manifests`. Raises: Unavailable."""
        return scan_manifests(self._store, self._signer, tenant, self._verified)[0]

    def invalid_manifests(self, tenant: str | None = None) -> list[tuple[str, str]]:
        """``(path, reason)`` of every manifest that :meth:`manifests` skips.

        Raises: Unavailable.
        """
        return scan_manifests(self._store, self._signer, tenant)[1]

    def restore(
        self,
        manifest: BackupManifest,
        identity: str,
        cluster: ClusterSettings,
        *,
        tenant: str,
        database: str,
        progress: Callable[[int], None] | None = None,
    ) -> VerifyResult:
        """Restore the backup into the staging database ``database`` of ``tenant`` on
        ``cluster`` and judge it as a ``restore`` verification does (see
        :func:`backup_verification.restore`); a bad backup is a failed result.

        Raises: InvalidInput (a cluster of another region or kind), Unavailable.
        """
        return backup_verification.restore(
            self._store,
            self._signer,
            manifest,
            identity,
            cluster,
            tenant=tenant,
            database=database,
            progress=progress,
        )

    def delete(self, manifest: BackupManifest) -> None:
        """Remove the backup: manifest first (it vanishes at once), then its data. Idempotent.

        Raises: Unavailable if the store refuses.
        """
        directory = self._store.directory(manifest.tenant)
        try:
            self.manifest_path(manifest.tenant, manifest.backup_id).unlink(missing_ok=True)
            self.data_path(manifest.tenant, manifest.backup_id).unlink(missing_ok=True)
            if directory.exists():
                fsync_directory(directory)
        except OSError as exc:
            raise self._store.error(exc, f"deleting backup {manifest.backup_id}") from None

    def clean_partials(self, tenant: str | None = None) -> list[str]:
        """Remove what crashed runs left (``.partial`` files, data without a manifest) that no
        live process holds, in the whole store or one tenant's directory; returns their paths.

        Raises: InvalidInput (tenant name), Unavailable.
        """
        removed: list[str] = []
        try:
            dirs = (
                [self._store.directory(tenant)]
                if tenant is not None
                else [p for p in self.root.iterdir() if p.is_dir()]
            )
            for path in remove_stale(dirs):
                removed.append(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise self._store.error(exc, "cleaning partial files") from None
        return removed

    # ------------------------------------------------------------------ ops-log checkpoints

    def write_checkpoint(self, checkpoint: OpsLogCheckpoint) -> None:
        """Sign ``checkpoint`` and add it to ``<store>/_opslog`` (never replacing a file).

        Raises: InvalidInput (another region's checkpoint), Unavailable (the store refused).
        """
        write_checkpoint(self._store, self._signer, checkpoint)

    def checkpoints(self) -> tuple[list[OpsLogCheckpoint], list[tuple[str, str]]]:
        """Checkpoints this region signed, oldest first, and ``(path, reason)`` of each file
        that is not to be trusted (altered, signed by another key, misplaced).

        Raises: Unavailable (the store cannot be read).
        """
        return scan_checkpoints(self._store, self._signer)

    # ------------------------------------------------------------------ verify

    def verify(
        self,
        manifest: BackupManifest,
        level: str,
        identity: str | None,
        scratch_cluster: ClusterSettings | None,
    ) -> VerifyResult:
        """Check the backup at ``level`` (see :func:`backup_verification.verify`); a bad
        backup is a failed result, never an exception.

        Raises:
            InvalidInput: unknown level, no identity for full/restore, a scratch cluster of
                another region or kind (or none for a PostgreSQL restore).
            Unavailable: the scratch cluster is down, the store is full or unreadable.
        """
        return backup_verification.verify(
            self._store, self._signer, manifest, level, identity, scratch_cluster
        )


def _remove_if_empty(directory: Path) -> None:
    try:
        directory.rmdir()
    except OSError:
        pass  # it holds backups (or files of another run): it stays


def _default_store(cluster: ClusterSettings) -> TenantStore:
    from aptien_ops import backends

    store: TenantStore = backends.load("tenant_store", cluster.kind)(cluster)
    return store


_: type[BackupRepository] = FsBackupRepository
