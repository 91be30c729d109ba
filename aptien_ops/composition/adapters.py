"""How the composition root reaches its adapters: each one loaded by kind and name from
:mod:`aptien_ops.backends` (imported only when first needed), and the factories the services
are given for a region's backup store, a cluster's inspection reader and the doctor's probes.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aptien_ops.config import ClusterSettings, RegionSettings, Settings
from aptien_ops.domain import Clock
from aptien_ops.keyfiles import SIGNING_KEY, never_replace
from aptien_ops.ports import (
    BackupRepository,
    BillingSource,
    Catalog,
    InspectionReader,
    TenantStore,
)

if TYPE_CHECKING:
    from aptien_ops.services.context import OpsContext
    from aptien_ops.services.doctor import InstallProbes
    from aptien_ops.services.notify_engine import Channels


def backend(kind: str, name: str) -> Any:
    """The adapter registered for ``kind`` as ``name`` (see :mod:`aptien_ops.backends`)."""
    backends = importlib.import_module("aptien_ops.backends")
    return backends.load(kind, name)


def backup_repositories(
    settings: Settings, clock: Clock, catalog: Catalog
) -> Callable[[RegionSettings], BackupRepository]:
    """Opens a region's backup store when a backup command first needs it (never at start-up).

    A missing signing key is made only in a sandbox, and only while the region has no backup
    it would have signed.
    """

    def signed_backups(region: str) -> str | None:
        with catalog.read() as tx:
            signed = any(b.region == region for b in tx.backups.all(include_pruned=True))
        return f"region {region} has backups it signed" if signed else None

    def open_repository(region: RegionSettings) -> BackupRepository:
        never_replace(region.signing_key_file, SIGNING_KEY, lambda: signed_backups(region.name))
        repository: BackupRepository = backend("backup_repository", "fs")(
            region, create=settings.sandbox, strict_modes=not settings.sandbox, clock=clock
        )
        return repository

    return open_repository


def install_probes(settings: Settings, clock: Clock) -> InstallProbes:
    """How the doctor reaches the catalog, the clusters and the client tools: each opened afresh."""
    from aptien_ops.services.doctor import InstallProbes

    def cluster(settings: ClusterSettings) -> TenantStore:
        store: TenantStore = backend("tenant_store", settings.kind)(settings, clock=clock)
        return store

    return InstallProbes(
        catalog=lambda: backend("catalog", "sql")(settings.catalog),
        cluster=cluster,
        client_tools=lambda kind: backend("client_tools", kind)(),
        environ=os.environ,
    )


def billing_source(settings: Settings) -> BillingSource | None:
    """Stripe as ``[billing]`` configures it, opened on first use; None when the config has
    no ``[billing]`` (billing is not connected)."""
    configured = getattr(settings, "billing", None)
    if configured is None:
        return None
    source: BillingSource = backend("billing_source", "stripe")(configured)
    return source


def inspection_reader(cluster: ClusterSettings, inspector_role: str) -> InspectionReader:
    reader: InspectionReader = backend("inspection_reader", cluster.kind)(cluster, inspector_role)
    return reader


def notice_channels(ctx: OpsContext) -> Channels:
    """The breach notices' channels as ``[notifications]`` configures them: the e-mail
    transport (SMTP or the sandbox's Maildir), in-app messages through each tenant's cluster,
    and the website's directory."""
    from aptien_ops.services.notify_engine import Channels

    settings = ctx.settings.notifications
    email = settings.email
    clusters: dict[str, str] = {}

    def store_of(tenant: str) -> TenantStore:
        if tenant not in clusters:
            with ctx.catalog.read() as tx:
                found = tx.tenants.get(tenant)
            clusters[tenant] = (found.cluster or "") if found is not None else ""
        return ctx.store(clusters[tenant])

    return Channels(
        mail=backend("mail_transport", email.transport)(email),
        inapp=backend("inapp_writer", "tenant")(),
        website=backend("website", "files")(settings.website.dir),
        store_of=store_of,
        sender=email.from_address,
        max_attempts=email.max_attempts,
    )
