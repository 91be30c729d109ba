"""What is due is asked of the catalog (a grouped query per tenant's latest good backup), and
a list of backups is a page with its counts: on SQLite and PostgreSQL both answer exactly as
the policy's Python rule (``backup_due`` and ``verification_due``, walked tenant by tenant as
the service used to) on a varied fleet: never backed up, overdue, fresh, failed, unverified,
verified at too low a level, pruned, cancelled before or after their last backup, purged,
without a cluster; two regions with different policies."""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert

from aptien_ops.backends import catalog_schema as schema
from aptien_ops.backup_policy import BackupRecord, DueItem, backup_due, verification_due
from aptien_ops.composition import Console, open_console
from aptien_ops.domain import BackupManifest, StateChange, Tenant, TenantState, VerifyResult
from aptien_ops.domain.backup_index import BACKED_UP_STATES, BackupQuery
from aptien_ops.errors import Forbidden

NOW = datetime(2025, 3, 14, 9, 26, 53, 250_000, tzinfo=UTC)
STATES = [*[TenantState.ACTIVE] * 5, TenantState.SUSPENDED, TenantState.CANCELLED]
STATES += [TenantState.PURGED, TenantState.PROVISIONING]


@pytest.fixture
def fleet(catalog_config: Path) -> Iterator[Console]:
    """300 tenants in two regions (us: every 48 h, quick verification within 6 h) with random
    backups, verifications and cancellations, from a fixed seed."""
    text = catalog_config.read_text()
    us = text.index("[regions.us.backup]")
    tail = text[us:].replace("interval_hours = 24", "interval_hours = 48", 1)
    tail = tail.replace('verify_level = "restore"', 'verify_level = "quick"', 1)
    tail = tail.replace("verify_within_hours = 24", "verify_within_hours = 6", 1)
    catalog_config.write_text(text[:us] + tail)
    console = open_console(catalog_config, clock=lambda: NOW)
    for region in console.settings.regions:
        console.backups.repository(region)  # its signing key, made while no backup needs it
    rng = random.Random(11)
    tenants, records, checks, changes = [], [], [], []
    for i in range(300):
        region = "eu" if i % 2 else "us"
        state = rng.choice(STATES)
        created = NOW - timedelta(hours=rng.choice([1, 5, 30, 100, 1000]))
        cluster = None if i % 37 == 0 else f"{region}-sandbox-1"
        name = f"t-{i:03d}" if i % 3 else f"t{i:03d}"  # '-' sorts before digits in Python
        tenants.append(Tenant(name, "DE", region, cluster, state, None, None, created, created))
        if state == TenantState.CANCELLED and rng.random() < 0.8:
            at = NOW - timedelta(hours=rng.choice([2, 20, 60, 200]))
            changes.append((name, StateChange(at, "active", "cancelled", "ada")))
        for n in range(rng.choice([0, 0, 1, 2, 3, 5])):
            at = NOW - timedelta(hours=rng.choice([1, 3, 7, 20, 30, 50, 70, 400]), seconds=n)
            record = backup(name, region, at, n, pruned=rng.random() < 0.1)
            records.append(record)
            for k in range(rng.choice([0, 0, 1, 1, 2])):
                level = rng.choice(["quick", "full", "restore"])
                ok = rng.random() < 0.75
                checks.append(VerifyResult(record.id, level, ok, "", at + timedelta(hours=k + 1)))
    with console.ctx.catalog.transaction() as tx:
        tx.conn.execute(insert(schema.tenants), [tenant_row(t) for t in tenants])
        for record in records:
            tx.backups.insert(record)
        for result in checks:
            tx.backups.add_verification(result)
        for name, change in changes:
            tx.tenant_history.add_state_change(name, change)
    yield console
    console.close()


def backup(tenant: str, region: str, at: datetime, n: int, *, pruned: bool) -> BackupRecord:
    manifest = BackupManifest(
        f"bk-{at:%Y%m%dT%H%M%S}Z-{abs(hash((tenant, n))) % 16**6:06x}",
        *(tenant, region, f"{region}-sandbox-1", tenant, "sqlite", "3", "sqlite3", None),
        *(at.isoformat(), at.isoformat(), 1000, 500, "0" * 64, "1" * 64, "test", {}, None),
    )
    record = BackupRecord.from_manifest(manifest)
    if pruned:
        return BackupRecord(
            *[getattr(record, f) for f in record.__dataclass_fields__][:10], "pruned"
        )
    return record


def tenant_row(tenant: Tenant) -> dict[str, object]:
    return {c.name: getattr(tenant, c.name, None) for c in schema.tenants.c} | {
        "state": str(tenant.state)
    }


def python_rule(console: Console, region: str | None = None) -> list[DueItem]:
    """The oracle: the rule walked tenant by tenant over every backup, as the service did."""
    catalogue = console.backups.catalogue
    with console.ctx.catalog.read() as tx:
        checked = catalogue.checked(tx)
        cancelled = tx.tenant_history.last_entered(TenantState.CANCELLED)
        items: list[DueItem] = []
        for t in tx.tenants.all(region=region):
            if t.state not in BACKED_UP_STATES or not t.cluster:
                continue
            policy, mine = catalogue.stores.policy(t.region), checked.get(t.name, [])
            at = cancelled.get(t.name) if t.state == TenantState.CANCELLED else None
            items += [needs] if (needs := backup_due(t, mine, policy, NOW, at)) else []
            items += [v for c in mine if (v := verification_due(t, c, policy, NOW))]
    # A backup item has no backup id; it sorts before the tenant's verifications anyway.
    return sorted(
        items, key=lambda i: (not i.overdue, i.region, i.tenant, i.kind, i.backup_id or "")
    )


def test_the_catalogs_due_list_is_the_policys_rule_on_a_varied_fleet(fleet: Console) -> None:
    expected = python_rule(fleet)
    kinds = Counter((i.kind, i.overdue, re.sub(r"[\d bk-]+", "", i.reason)[:12]) for i in expected)
    # The fleet exercises every branch of the rule: each reason, overdue and not.
    assert len(kinds) >= 8, kinds
    assert fleet.backups.due() == expected
    for region in ("eu", "us"):
        assert fleet.backups.due(region=region) == python_rule(fleet, region)
    # A page of it: the first items and the counts, without the rest.
    page = fleet.backups.due_page(limit=7)
    assert list(page.items) == expected[:7]
    assert (page.due, page.late) == (len(expected), sum(i.overdue for i in expected))
    assert page.first_backup == next(i.tenant for i in expected if i.kind == "backup")
    eu = fleet.backups.due_page("eu", limit=3)
    assert list(eu.items) == [i for i in expected if i.region == "eu"][:3]


def test_the_dashboards_counts_are_the_rules_counts(fleet: Console) -> None:
    expected = python_rule(fleet)
    regions = fleet.backups.attention()
    assert [a.region for a in regions] == ["eu", "us"] and all(a.failed for a in regions)
    for attention in regions:
        mine = [i for i in expected if i.region == attention.region]
        assert attention.due == len(mine)
        assert attention.late_backups == sum(i.overdue and i.kind == "backup" for i in mine)
        assert attention.late_checks == sum(i.overdue and i.kind == "verify" for i in mine)
        with fleet.ctx.catalog.read() as tx:
            judged = [c for cs in fleet.backups.catalogue.checked(tx).values() for c in cs]
        assert attention.failed == sum(
            c.status == "failed" for c in judged if c.record.region == attention.region
        )


def test_a_page_of_backups_is_the_listings_newest_with_its_counts(
    fleet: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalogue = fleet.backups.catalogue
    with fleet.ctx.catalog.read() as tx:
        index = tx.backups.all()
    # The stores hold every complete backup but one in 13 (those read "missing").
    held = {r.id: r for n, r in enumerate(index) if n % 13}
    monkeypatch.setattr(
        catalogue,
        "stored",
        lambda regions, tenant: {k: r for k, r in held.items() if r.region in regions},
    )
    queries = [BackupQuery(), BackupQuery("us"), BackupQuery(grep="FAIL"), BackupQuery(grep="miss")]
    for query in [*queries, BackupQuery("eu", "t-0"), BackupQuery(grep="2025-03-13")]:
        mine = [
            r
            for r in fleet.backups.listing(grep=query.grep).rows
            if query.region in (None, r.record.region)
        ]
        assert mine or query.grep == "FAIL"
        page = fleet.backups.page(query, limit=20)
        newest = sorted(mine, key=lambda r: (r.record.created_at, r.record.id), reverse=True)
        assert list(page.rows) == newest[:20], query
        tally = page.tally
        assert (tally.matches, tally.tenants) == (len(mine), len({r.record.tenant for r in mine}))
        assert tally.failed == sum(r.status == "failed" for r in mine)
        assert tally.missing == sum(r.status == "missing" for r in mine)
        assert list(page.notes) == fleet.backups.listing().notes or query.region
    statuses = Counter(r.status for r in fleet.backups.listing().rows)
    assert set(statuses) == {"verified", "unverified", "failed", "missing"}, statuses


def test_an_operator_the_catalog_does_not_know_is_refused_before_any_store_is_listed(
    catalog_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page lists the region's stores (for "missing" statuses): only once authorised."""
    stranger = open_console(catalog_config, env={"APTIEN_OPS_OPERATOR": "nobody"})
    listed: list[object] = []
    monkeypatch.setattr(
        stranger.backups.pages.catalogue, "stored", lambda *args: listed.append(args) or {}
    )
    try:
        with pytest.raises(Forbidden):
            stranger.backups.page(BackupQuery(None, None))
        assert listed == []
    finally:
        stranger.close()
