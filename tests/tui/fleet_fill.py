"""A fleet in the catalog for the TUI's fleet-size tests: tenants and one indexed backup each."""

from __future__ import annotations

from datetime import timedelta

from tui_helpers import FROZEN_NOW

from aptien_ops.backup_policy import BackupRecord
from aptien_ops.composition import Console
from aptien_ops.domain import BackupManifest, Tenant, TenantState

STATES = [TenantState.ACTIVE] * 8 + [TenantState.SUSPENDED, TenantState.CANCELLED]


def fill_fleet(console: Console, tenants: int, start: int = 0) -> None:
    """``tenants`` tenants in the catalog (no databases: the screens read the catalog) and one
    indexed backup of each (none in the stores: the index is what the screens list); numbered
    from ``start``."""
    for region in console.settings.regions:
        console.backups.repository(region)  # its signing key, made while nothing needs it
    with console.ctx.catalog.transaction() as tx:
        for i in range(start, start + tenants):
            region, country = ("eu", "DE") if i % 2 else ("us", "US")
            name = f"tenant-{i:05d}"
            tx.tenants.insert(
                Tenant(
                    name,
                    country,
                    region,
                    f"{region}-sandbox-1",
                    STATES[i % len(STATES)],
                    None,
                    None,
                    FROZEN_NOW,
                    FROZEN_NOW,
                )
            )
            at = FROZEN_NOW - timedelta(hours=30, seconds=i)
            manifest = BackupManifest(
                f"bk-{at:%Y%m%dT%H%M%S}Z-{i:06x}",
                name,
                region,
                f"{region}-sandbox-1",
                name,
                "sqlite",
                "3",
                "sqlite3 backup",
                None,
                at.isoformat(),
                at.isoformat(),
                1000,
                500,
                "0" * 64,
                "1" * 64,
                "test",
                {},
                None,
            )
            tx.backups.insert(BackupRecord.from_manifest(manifest))
