"""Schedule and retention as pure functions: which tenants are due, which backups are kept."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aptien_ops.backup_policy import (
    BACKUP_ID,
    BackupRecord,
    Checked,
    backup_due,
    check,
    check_backup_id,
    gfs_keep,
    new_backup_id,
    parse_level,
    retention,
    verification_due,
)
from aptien_ops.config import BackupPolicy, load_settings
from aptien_ops.domain import BackupManifest, Tenant, TenantState, VerifyResult
from aptien_ops.errors import ConfigError, InvalidInput

NOW = datetime(2025, 3, 15, 12, 0, tzinfo=UTC)
VERIFIED_AT = datetime(2025, 3, 15, tzinfo=UTC)
RNG = random.Random(4)
POLICY = BackupPolicy()


def tenant(
    name: str = "acme-gmbh",
    state: TenantState = TenantState.ACTIVE,
    *,
    created: datetime | None = None,
    retain_until: datetime | None = None,
) -> Tenant:
    at = created or NOW - timedelta(days=400)
    return Tenant(name, "DE", "eu", "eu-1", state, None, None, at, at, retain_until=retain_until)


def record(at: datetime, name: str = "acme-gmbh") -> BackupRecord:
    backup_id = new_backup_id(at, RNG)
    manifest = BackupManifest(
        backup_id,
        name,
        "eu",
        "eu-1",
        f"tenant_{name}",
        "sqlite",
        "3.40",
        "sqlite-backup",
        None,
        at.isoformat(),
        (at + timedelta(minutes=1)).isoformat(),
        100,
        80,
        "a" * 64,
        "b" * 64,
        "age1x",
        {"users": 1},
        None,
    )
    return BackupRecord.from_manifest(manifest)


def ok(backup: BackupRecord, level: str = "restore") -> VerifyResult:
    return VerifyResult(backup.id, level, True, "fine", VERIFIED_AT, "olga")


def failed(backup: BackupRecord, level: str = "quick") -> VerifyResult:
    return VerifyResult(backup.id, level, False, "ciphertext hash mismatch", VERIFIED_AT, "olga")


def checked(*records: BackupRecord, verified: bool = True) -> list[Checked]:
    return [check(r, [ok(r)] if verified else [], "restore") for r in records]


def nightly(days: int, *, hour: int = 2) -> list[BackupRecord]:
    """One backup a night for ``days`` nights before NOW, oldest first."""
    start = NOW.replace(hour=hour, minute=0) - timedelta(days=days - 1)
    return [record(start + timedelta(days=i)) for i in range(days)]


# ----------------------------------------------------------------------------- ids and levels


def test_backup_ids_sort_by_time_and_look_the_same_everywhere() -> None:
    first, second = new_backup_id(NOW, RNG), new_backup_id(NOW + timedelta(seconds=1), RNG)
    assert BACKUP_ID.fullmatch(first) and first.startswith("bk-20250315T120000Z-")
    assert first < second


@pytest.mark.parametrize("bad", ["", "bk; DROP TABLE backups", "x" * 65, "../../etc/passwd"])
def test_text_that_cannot_be_a_backup_id_is_refused_as_invalid(bad: str) -> None:
    with pytest.raises(InvalidInput):
        check_backup_id(bad)


def test_an_unknown_verify_level_is_refused_naming_the_levels() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_level("paranoid")
    assert "quick, full, restore" in caught.value.one_line()


# ----------------------------------------------------------------------------- verification status


def test_a_backup_counts_as_verified_only_at_the_required_level_or_stronger() -> None:
    r = record(NOW)
    assert not check(r, [ok(r, "quick")], "restore").verified
    assert check(r, [ok(r, "quick"), ok(r, "restore")], "full").verified
    assert check(r, [], "quick").status == "unverified"


def test_a_later_failure_outweighs_an_earlier_success() -> None:
    r = record(NOW)
    judged = check(r, [ok(r, "restore"), failed(r)], "quick")
    assert judged.bad and not judged.verified and judged.status == "failed"


# ----------------------------------------------------------------------------- due


def test_a_tenant_without_backups_is_due_but_not_overdue_on_its_first_day() -> None:
    fresh = tenant(created=NOW - timedelta(hours=2))
    item = backup_due(fresh, [], POLICY, NOW)
    assert item is not None and item.reason == "no backup yet" and not item.overdue
    assert backup_due(tenant(), [], POLICY, NOW).overdue  # type: ignore[union-attr]


def test_a_tenant_is_due_when_its_last_good_backup_is_older_than_the_interval() -> None:
    recent = checked(record(NOW - timedelta(hours=23)))
    assert backup_due(tenant(), recent, POLICY, NOW) is None
    old = checked(record(NOW - timedelta(hours=25)))
    item = backup_due(tenant(), old, POLICY, NOW)
    assert item is not None and item.overdue and "1d 1h ago" in item.reason
    assert backup_due(tenant(), old, BackupPolicy(interval_hours=48), NOW) is None


def test_a_backup_that_failed_verification_makes_the_tenant_due_at_once() -> None:
    good = record(NOW - timedelta(hours=10))
    bad = record(NOW - timedelta(hours=1))
    item = backup_due(
        tenant(),
        [check(good, [ok(good)], "restore"), check(bad, [failed(bad)], "restore")],
        POLICY,
        NOW,
    )
    assert item is not None and item.overdue and bad.id in item.reason


def test_a_cancelled_tenant_needs_one_backup_after_cancellation_and_then_none() -> None:
    cancelled_at = NOW - timedelta(days=3)
    gone = tenant(state=TenantState.CANCELLED)
    before = checked(record(cancelled_at - timedelta(hours=1)))
    item = backup_due(gone, before, POLICY, NOW, cancelled_at)
    assert item is not None and "cancelled" in item.reason and item.overdue
    after = checked(record(cancelled_at + timedelta(hours=1)))
    assert backup_due(gone, after, POLICY, NOW + timedelta(days=60), cancelled_at) is None


def test_an_unverified_backup_is_due_for_verification_and_overdue_after_the_deadline() -> None:
    r = record(NOW - timedelta(hours=2))
    item = verification_due(tenant(), check(r, [], "restore"), POLICY, NOW)
    assert (
        item is not None and item.kind == "verify" and item.backup_id == r.id and not item.overdue
    )
    late = verification_due(tenant(), check(r, [], "restore"), POLICY, NOW + timedelta(hours=23))
    assert late is not None and late.overdue and "past the deadline" in late.reason
    assert verification_due(tenant(), check(r, [ok(r)], "restore"), POLICY, NOW) is None


def test_a_purged_tenants_backups_are_never_due_for_verification() -> None:
    r = record(NOW - timedelta(hours=2))
    assert (
        verification_due(tenant(state=TenantState.PURGED), check(r, [], "restore"), POLICY, NOW)
        is None
    )


# ----------------------------------------------------------------------------- retention


def kept(decisions: list) -> set[str]:  # type: ignore[type-arg]
    return {d.backup_id for d in decisions if d.keep}


def test_gfs_keeps_seven_dailies_four_weeklies_and_twelve_monthlies_of_a_year_of_nightly_backups():
    backups = nightly(400)
    decisions = retention(tenant(), checked(*backups), POLICY, NOW)
    keep = kept(decisions)
    days = {r.created_at.date() for r in backups if r.id in keep}
    assert {NOW.date() - timedelta(days=i) for i in range(7)} <= days
    months = {(r.created_at.year, r.created_at.month) for r in backups if r.id in keep}
    assert len(months) == 12 and (2024, 4) in months and (2024, 3) not in months
    # 7 dailies, 4 weeklies of which 2 are dailies already, 12 monthlies of which 1 is: 7 + 2 + 11
    assert len(keep) == 20
    assert len(decisions) == 400 and all(d.reasons for d in decisions)


def test_the_newest_backup_of_each_day_is_the_one_kept() -> None:
    morning, evening = record(NOW.replace(hour=6)), record(NOW.replace(hour=11))
    assert set(
        gfs_keep(
            checked(morning, evening), BackupPolicy(keep_daily=1, keep_weekly=0, keep_monthly=0)
        )
    ) == {evening.id}


def test_a_bucket_prefers_a_good_backup_over_a_newer_failed_one() -> None:
    good, bad = record(NOW.replace(hour=1)), record(NOW.replace(hour=3))
    judged = [check(good, [ok(good)], "restore"), check(bad, [failed(bad)], "restore")]
    decisions = retention(
        tenant(), judged, BackupPolicy(keep_daily=1, keep_weekly=0, keep_monthly=0), NOW
    )
    assert kept(decisions) == {
        good.id,
        bad.id,
    }  # the good one for the day, the bad one as the newest
    assert {d.backup_id: d.reasons for d in decisions}[bad.id] == ("newest",)


def test_a_day_keeps_its_verified_backup_beside_a_newer_unverified_one() -> None:
    verified, fresh = record(NOW.replace(hour=2)), record(NOW.replace(hour=11))
    judged = [check(verified, [ok(verified)], "restore"), check(fresh, [], "restore")]
    decisions = retention(
        tenant(), judged, BackupPolicy(keep_daily=1, keep_weekly=0, keep_monthly=0), NOW
    )
    assert {d.backup_id: d.reasons for d in decisions} == {
        verified.id: ("daily 2025-03-15",),
        fresh.id: ("newest",),
    }


def test_the_newest_backup_is_kept_even_when_the_policy_keeps_nothing() -> None:
    backups = nightly(5)
    nothing = BackupPolicy(keep_daily=0, keep_weekly=0, keep_monthly=0)
    assert kept(retention(tenant(), checked(*backups), nothing, NOW)) == {backups[-1].id}


def test_gaps_in_the_schedule_do_not_empty_the_daily_slots() -> None:
    old = [record(NOW - timedelta(days=d)) for d in (40, 41, 42)]
    keep = kept(
        retention(
            tenant(), checked(*old), BackupPolicy(keep_daily=3, keep_weekly=0, keep_monthly=0), NOW
        )
    )
    assert keep == {r.id for r in old}


def test_a_legal_hold_keeps_every_backup_of_the_tenant() -> None:
    backups = nightly(60)
    held = BackupPolicy(keep_daily=1, keep_weekly=0, keep_monthly=0, legal_holds=("acme-gmbh",))
    decisions = retention(tenant(), checked(*backups), held, NOW)
    assert kept(decisions) == {r.id for r in backups} and {d.reasons for d in decisions} == {
        ("legal hold",)
    }
    assert (
        len(
            kept(
                retention(
                    tenant("other-co"),
                    checked(*[record(r.created_at, "other-co") for r in backups]),
                    held,
                    NOW,
                )
            )
        )
        == 1
    )


def test_a_cancelled_tenant_keeps_every_backup_until_its_retention_end_then_gfs_applies() -> None:
    backups = nightly(30)
    policy = BackupPolicy(keep_daily=2, keep_weekly=0, keep_monthly=0)
    retained = tenant(state=TenantState.CANCELLED, retain_until=NOW + timedelta(days=10))
    assert kept(retention(retained, checked(*backups), policy, NOW)) == {r.id for r in backups}
    assert len(kept(retention(retained, checked(*backups), policy, NOW + timedelta(days=11)))) == 2


def test_a_purged_tenants_backups_are_all_pruned_even_the_newest_unless_on_legal_hold() -> None:
    backups = nightly(3)
    purged = tenant(state=TenantState.PURGED)
    decisions = retention(purged, checked(*backups), POLICY, NOW)
    assert kept(decisions) == set() and "purged" in decisions[0].reasons[0]
    held = BackupPolicy(legal_holds=("acme-gmbh",))
    assert kept(retention(purged, checked(*backups), held, NOW)) == {r.id for r in backups}


def test_backups_of_a_tenant_the_catalog_does_not_know_are_kept() -> None:
    backups = nightly(10)
    assert kept(retention(None, checked(*backups), POLICY, NOW)) == {r.id for r in backups}


# ----------------------------------------------------------------------------- configuration


def test_the_backup_policy_is_read_per_region_and_bad_values_name_the_key(tmp_path: Path) -> None:
    base = (Path(__file__).resolve().parent.parent / "ops.toml").read_text()
    config = tmp_path / "ops.toml"
    config.write_text(
        base.replace("keep_daily = 7", "keep_daily = 3", 1).replace(
            "legal_holds = []", 'legal_holds = ["acme-gmbh"]', 1
        )
    )
    eu = load_settings(config).regions["eu"].backup
    assert (eu.keep_daily, eu.legal_holds, eu.verify_level) == (3, ("acme-gmbh",), "restore")
    assert eu.schedule == ""  # off: cron runs `backup run --due`
    config.write_text(base.replace('schedule = ""', 'schedule = " */15  * * * *"', 1))
    assert load_settings(config).regions["eu"].backup.schedule == "*/15 * * * *"
    for old, new, key in [
        ("interval_hours = 24", "interval_hours = 0", "regions.eu.backup.interval_hours"),
        ('verify_level = "restore"', 'verify_level = "maybe"', "regions.eu.backup.verify_level"),
        ("keep_weekly = 4", "keep_weekly = -1", "regions.eu.backup.keep_weekly"),
        ("legal_holds = []", 'legal_holds = ["Not A Tenant"]', "regions.eu.backup.legal_holds"),
        ('schedule = ""', 'schedule = "every night"', "regions.eu.backup.schedule"),
        ('schedule = ""', 'schedule = "* * * *"', "regions.eu.backup.schedule"),
        (
            "legal_holds = []",
            "legal_holds = []\nkeep_forever = true",
            "regions.eu.backup.keep_forever",
        ),
    ]:
        config.write_text(base.replace(old, new, 1))
        with pytest.raises(ConfigError) as caught:
            load_settings(config)
        assert key in caught.value.message and str(config) in caught.value.message
