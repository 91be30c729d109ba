"""A region's backup store, with the dump and restore tools of its clusters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from aptien_ops.config import ClusterSettings
from aptien_ops.domain import BackupManifest, OpsLogCheckpoint, VerifyResult


class BackupRepository(Protocol):
    """One region's backup store, with the dump and restore tools of its clusters.

    Files: ``<store>/<tenant>/<backup-id>.dump.zst.age`` and ``.manifest.json`` (signed with the
    region's Ed25519 key, written last). Anything without a valid manifest does not exist.
    ``<store>/_opslog/checkpoint-<seq>-<time>.json``: the ops log's head as backup runs saw it
    (signed with the same key; append-only, never pruned).
    """

    region: str

    def create(
        self,
        tenant: str,
        cluster: ClusterSettings,
        recipient: str,
        backup_id: str,
        progress: Callable[[int], None] | None = None,
    ) -> BackupManifest:
        """Dump the tenant (consistent snapshot) → zstd → age to ``recipient`` → the store.

        ``progress`` gets plaintext bytes done. Raises: Unavailable (cluster or store down,
        disk full — nothing partial is left visible), NotFound (the database is missing).
        """
        ...

    def manifests(self, tenant: str | None = None) -> list[BackupManifest]:
        """Valid, signed manifests, oldest first."""
        ...

    def manifest(self, tenant: str, backup_id: str) -> BackupManifest:
        """Raises: NotFound; IntegrityFailure (manifest missing its data, or signature bad)."""
        ...

    def verify(
        self,
        manifest: BackupManifest,
        level: str,
        identity: str | None,
        scratch_cluster: ClusterSettings | None,
    ) -> VerifyResult:
        """quick (no key) | full (identity) | restore (identity + a scratch cluster of the same
        region).

        Returns a failed result (ok=False, detail says what) rather than raising for a bad backup.
        """
        ...

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
        """Restore the backup into ``database``, an empty staging database of ``tenant`` on
        ``cluster`` (see ``TenantStore.staging``), and check it as a ``restore`` verification
        does: hashes, the archive's listing and every table's row count against the manifest.

        ``progress`` gets plaintext bytes done. A backup that does not restore faithfully is
        a failed result (ok False, the detail says what), never an exception.
        Raises: InvalidInput (a cluster of another region or kind, a bad identity),
        Unavailable (the cluster or the store).
        """
        ...

    def delete(self, manifest: BackupManifest) -> None: ...

    def clean_partials(self) -> list[str]:
        """Remove stale ``.partial`` files of crashed runs; returns what was removed."""
        ...

    def write_checkpoint(self, checkpoint: OpsLogCheckpoint) -> None:
        """Sign ``checkpoint`` and add it to the store (atomically; never replaces one).

        Raises: InvalidInput (a checkpoint of another region), Unavailable (the store).
        """
        ...

    def checkpoints(self) -> tuple[list[OpsLogCheckpoint], list[tuple[str, str]]]:
        """Every checkpoint whose signature is this region's, oldest first, and ``(path,
        reason)`` of each one that is not to be trusted. Raises: Unavailable."""
        ...
