"""Backups: run, list, reconcile with the stores, due, verify, restore and prune.

The region stores' signed manifests are the truth; the catalog keeps an index of them and
every verification result. A tenant's backup, and a restore to verify it or to put it back
into service, only ever use its own region's store and clusters. One module per use case:
``running`` (``backup run``), ``verifying``, ``restoring`` (``backup restore``),
``catalogue`` (list, due, reconcile, prune), ``checkpoints`` (the ops log's head signed into
the stores after each run); ``common`` holds what they share.
"""

from __future__ import annotations

from collections.abc import Callable

from aptien_ops.config import RegionSettings
from aptien_ops.ports import BackupRepository
from aptien_ops.services.approvals import ApprovalService
from aptien_ops.services.backups.catalogue import (
    BackupCatalogue,
    BackupListing,
    BackupRow,
    ReconcileReport,
    RegionAttention,
)
from aptien_ops.services.backups.checkpoints import CheckpointResult, OpsLogCheckpointer
from aptien_ops.services.backups.common import (
    BACKED_UP_STATES,
    MAX_PARALLEL,
    Progress,
    RegionStores,
    RunOutcome,
)
from aptien_ops.services.backups.pages import BackupPage, BackupPages, DuePage
from aptien_ops.services.backups.restoring import BackupRestorer, RestoreResult
from aptien_ops.services.backups.running import BackupRunner
from aptien_ops.services.backups.verifying import BackupVerifier
from aptien_ops.services.context import OpsContext
from aptien_ops.services.provisioning import ProvisioningService

__all__ = [
    "BACKED_UP_STATES",
    "MAX_PARALLEL",
    "BackupListing",
    "BackupPage",
    "BackupRow",
    "BackupService",
    "CheckpointResult",
    "DuePage",
    "Progress",
    "ReconcileReport",
    "RegionAttention",
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
        self.pages = BackupPages(ctx, self.catalogue)
        self.verifier = BackupVerifier(ctx, self.stores)
        self.restorer = BackupRestorer(ctx, self.stores, approvals, provisioning)
        self.checkpointer = OpsLogCheckpointer(ctx, self.stores)
        self.runner = BackupRunner(
            ctx, self.stores, self.catalogue, self.verifier, self.checkpointer
        )
        # The use cases, each served by the class that writes it (its docstring is the one).
        self.repository = self.stores.repository
        self.run = self.runner.run
        self.checkpoint = self.checkpointer.write
        self.verify = self.verifier.verify
        self.restore = self.restorer.restore
        self.listing = self.catalogue.listing
        self.reconcile = self.catalogue.reconcile
        self.due = self.catalogue.due
        self.page = self.pages.page
        self.due_page = self.pages.due_page
        self.attention = self.catalogue.attention
        self.prune = self.catalogue.prune
