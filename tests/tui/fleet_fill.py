"""A fleet in the catalog for the TUI's fleet-size tests: tenants and one indexed backup each."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert
from tui_helpers import FROZEN_NOW

from aptien_ops.backends import catalog_schema as schema
from aptien_ops.backends.sql_catalog.tenants import _values as tenant_values
from aptien_ops.backup_policy import BackupRecord
from aptien_ops.composition import Console
from aptien_ops.domain import BackupManifest, Tenant, TenantState

STATES = [TenantState.ACTIVE] * 8 + [TenantState.SUSPENDED, TenantState.CANCELLED]


def fill_fleet(console: Console, tenants: int, start: int = 0) -> None:
    """``tenants`` tenants in the catalog (no databases: the screens read the catalog) and one
    indexed backup of each (none in the stores: the index is what the screens list); numbered
    from ``start``. Written in one statement per table (set-up, not what is tested: one
    adapter call per row would cost most of a 10,000-tenant test)."""
    for region in console.settings.regions:
        console.backups.repository(region)  # its signing key, made while nothing needs it
    fleet: list[Tenant] = []
    backups: list[BackupRecord] = []
    for i in range(start, start + tenants):
        region, country = ("eu", "DE") if i % 2 else ("us", "US")
        name = f"tenant-{i:05d}"
        fleet.append(
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
        backups.append(BackupRecord.from_manifest(manifest))
    with console.ctx.catalog.transaction() as tx:
        tx.conn.execute(insert(schema.tenants), [tenant_values(t) for t in fleet])
        tx.conn.execute(insert(schema.backups), [backup_values(b) for b in backups])


def backup_values(record: BackupRecord) -> dict[str, object]:
    """The backup index's row of ``record``, as its adapter writes it."""
    values = {c.name: getattr(record, c.name) for c in schema.backups.c if c.name != "manifest"}
    return values | {"manifest": record.manifest_json()}
