"""Backups: run, list, reconcile with the stores, due, verify, restore and prune.

The region stores' signed manifests are the truth; the catalog keeps an index of them and
every verification result. A tenant's backup, and a restore to verify it or to put it back
into service, only ever use its own region's store and clusters. One module per use case:
``running`` (``backup run``), ``verifying``, ``restoring`` (``backup restore``),
``catalogue`` (list, due, reconcile, prune), ``checkpoints`` (the ops log's head signed into
the stores after each run); ``common`` holds what they share.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aptien_ops.backup_policy import BackupRecord, DueItem, PruneDecision
from aptien_ops.config import RegionSettings
from aptien_ops.domain import VerifyResult
from aptien_ops.ports import BackupRepository
from aptien_ops.services.approvals import ApprovalService
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
from aptien_ops.services.backups.restoring import BackupRestorer, RestoreResult
from aptien_ops.services.backups.running import BackupRunner
from aptien_ops.services.backups.verifying import BackupVerifier
from aptien_ops.services.context import OpsContext
from aptien_ops.services.provisioning import Progress as StepProgress
from aptien_ops.services.provisioning import ProvisioningService

__all__ = [
    "BACKED_UP_STATES",
    "MAX_PARALLEL",
    "BackupListing",
    "BackupRow",
    "BackupService",
    "CheckpointResult",
    "Progress",
    "ReconcileReport",
    "RestoreResult",
    "RunOutcome",
]


class BackupService:
    """Every backup use case, for the CLI and the TUI."""

    def __init__(
        self,
        ctx: OpsContext,
        repository_factory: Callable[[RegionSettings], BackupRepository],
        approvals: ApprovalService,
        provisioning: Callable[[], ProvisioningService],
    ) -> None:
        """``approvals`` learns to run approved replacements; ``provisioning`` is asked for
        the provisioning service when a restore makes a new tenant."""
        self.ctx = ctx
        self.stores = RegionStores(ctx, repository_factory)
        self.catalogue = BackupCatalogue(ctx, self.stores)
        self.verifier = BackupVerifier(ctx, self.stores)
        self.restorer = BackupRestorer(ctx, self.stores, approvals, provisioning)
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

    def restore(
        self,
        backup_id: str,
        to: str,
        *,
        progress: Progress | None = None,
        steps: StepProgress | None = None,
        confirm_replace: Callable[[BackupRecord], None] | None = None,
    ) -> RestoreResult:
        """See :meth:`BackupRestorer.restore`."""
        return self.restorer.restore(
            backup_id, to, progress=progress, steps=steps, confirm_replace=confirm_replace
        )

    def listing(
        self, tenant: str | None = None, *, include_pruned: bool = False, grep: str | None = None
    ) -> BackupListing:
        """See :meth:`BackupCatalogue.listing` (a pure read)."""
        return self.catalogue.listing(tenant, include_pruned=include_pruned, grep=grep)

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
