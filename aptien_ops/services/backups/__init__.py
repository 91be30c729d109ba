"""Backups: run, list, reconcile with the stores, due, verify and prune.

The region stores' signed manifests are the truth; the catalog keeps an index of them and
every verification result. A tenant's backup, and a restore to verify it, only ever use its
own region's store and clusters. One module per use case: ``running`` (``backup run``),
``verifying``, ``catalogue`` (list, due, reconcile, prune), ``checkpoints`` (the ops log's
head signed into the stores after each run); ``common`` holds what they share.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aptien_ops.backup_policy import DueItem, PruneDecision
from aptien_ops.config import RegionSettings
from aptien_ops.domain import VerifyResult
from aptien_ops.ports import BackupRepository
from aptien_ops.services.backups.catalogue import (
    BackupCatalogue,
    BackupListing,
    BackupRow,
    ReconcileReport,
)
from aptien_ops.services.backups.checkpoints import CheckpointResult, OpsLogCheckpointer
from aptien_ops.services.backups.common import (
    BACKED_UP_STATES,
    MAX_PARALLEL,
    Progress,
    RegionStores,
    RunOutcome,
)
from aptien_ops.services.backups.running import BackupRunner
from aptien_ops.services.backups.verifying import BackupVerifier
from aptien_ops.services.context import OpsContext

__all__ = [
    "BACKED_UP_STATES",
    "MAX_PARALLEL",
    "BackupListing",
    "BackupRow",
    "BackupService",
    "CheckpointResult",
    "Progress",
    "ReconcileReport",
    "RunOutcome",
]


class BackupService:
    """Every backup use case, for the CLI and the TUI."""

    def __init__(
        self, ctx: OpsContext, repository_factory: Callable[[RegionSettings], BackupRepository]
    ) -> None:
        self.ctx = ctx
        self.stores = RegionStores(ctx, repository_factory)
        self.catalogue = BackupCatalogue(ctx, self.stores)
        self.verifier = BackupVerifier(ctx, self.stores)
        self.checkpointer = OpsLogCheckpointer(ctx, self.stores)
        self.runner = BackupRunner(
            ctx, self.stores, self.catalogue, self.verifier, self.checkpointer
        )

    def repository(self, region: str) -> BackupRepository:
        """The region's backup store, opened on first use. Raises: InvalidInput (unknown region)."""
        return self.stores.repository(region)

    def run(
        self,
        names: Sequence[str] = (),
        *,
        due: bool = False,
        region: str | None = None,
        parallel: int = 1,
        progress: Progress | None = None,
    ) -> list[RunOutcome]:
        """See :meth:`BackupRunner.run`."""
        return self.runner.run(names, due=due, region=region, parallel=parallel, progress=progress)

    def checkpoint(self, regions: Sequence[str] | None = None) -> CheckpointResult:
        """See :meth:`OpsLogCheckpointer.write` (``backup run`` does it after its work)."""
        return self.checkpointer.write(regions)

    def verify(self, backup_id: str, level: str | None = None) -> VerifyResult:
        """See :meth:`BackupVerifier.verify`."""
        return self.verifier.verify(backup_id, level)

    def listing(self, tenant: str | None = None, *, include_pruned: bool = False) -> BackupListing:
        """See :meth:`BackupCatalogue.listing` (a pure read)."""
        return self.catalogue.listing(tenant, include_pruned=include_pruned)

    def reconcile(self, region: str | None = None) -> ReconcileReport:
        """See :meth:`BackupCatalogue.reconcile`."""
        return self.catalogue.reconcile(region)

    def due(self, *, region: str | None = None) -> list[DueItem]:
        """See :meth:`BackupCatalogue.due`."""
        return self.catalogue.due(region=region)

    def prune(
        self, *, dry_run: bool = True, confirm: Callable[[list[PruneDecision]], None] | None = None
    ) -> list[PruneDecision]:
        """See :meth:`BackupCatalogue.prune`."""
        return self.catalogue.prune(dry_run=dry_run, confirm=confirm)
