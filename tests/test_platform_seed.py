"""Platform activity seeded as the platform writes it, on SQLite files and a real PostgreSQL
server."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import secrets
import stat
from collections import defaultdict
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from aptien_ops.backends.postgres_tenants import PostgresTenantStore
from aptien_ops.backends.sandbox_platform import SeedStats, platform_key, seed_tenant
from aptien_ops.backends.sqlite_tenants import SqliteTenantStore
from aptien_ops.backends.tenant_schema import utc_timestamp
from aptien_ops.config import ClusterSettings
from aptien_ops.errors import Conflict, InvalidInput, NotFound
from aptien_ops.tenant_schema import DATASHEETS, METADATA_COLUMNS

NOW = datetime(2026, 3, 18, 15, 30, 12, 345678, tzinfo=UTC)
SMALL = {"users": 60, "logins": 3_000, "audit_events": 2_000}
DOCUMENTATION_NETS = [
    ipaddress.ip_network(n)
    for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
]
RESULTS = {
    "success",
    "failure:bad_password",
    "failure:unknown_user",
    "failure:mfa",
    "failure:locked",
}


@dataclass
class Platform:
    """One kind of tenant cluster, with the platform's way in: the tenant's owner connection."""

    dialect: str
    store: PostgresTenantStore | SqliteTenantStore
    passwords: dict[str, str]

    def provision(self, tenant: str) -> str:
        self.passwords[tenant] = secrets.token_urlsafe(24)
        self.store.create_database(tenant, self.passwords[tenant])
        self.store.apply_schema(tenant, 2, region="eu")
        return tenant

    def connect(self, tenant: str) -> AbstractContextManager[Any]:
        return self.store.connect_as_owner(tenant, self.passwords[tenant])

    def rows(self, tenant: str, query: str) -> list[tuple[Any, ...]]:
        with self.store.connect(tenant) as conn:
            return [tuple(_plain(v) for v in row) for row in conn.execute(query).fetchall()]

    def seed(self, tenant: str, key_dir: Path, **options: Any) -> SeedStats:
        arguments = {**SMALL, "seed": 7, "now": NOW, **options}
        with self.connect(tenant) as conn:
            return seed_tenant(conn, self.dialect, tenant, key_dir=key_dir, **arguments)


def _plain(value: Any) -> Any:
    """Both dialects' values as SQLite returns them, so one assertion covers both."""
    if isinstance(value, datetime):
        return utc_timestamp(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, memoryview):
        return bytes(value)
    return value


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def platform(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Platform]:
    if request.param == "sqlite":
        store: Any = SqliteTenantStore(
            ClusterSettings("seed-sqlite", "sqlite", f"sqlite:///{tmp_path}/cluster", 100)
        )
    else:
        store = PostgresTenantStore(request.getfixturevalue("pg_cluster_settings"))
    under_test = Platform(request.param, store, {})
    yield under_test
    for tenant in under_test.passwords:
        store.drop_database(tenant)
    store.close()


@pytest.fixture
def key_dir(tmp_path: Path) -> Path:
    return tmp_path / "platform-keys"


@pytest.fixture
def seeded(platform: Platform, tenant_name: str, key_dir: Path) -> tuple[str, str, SeedStats]:
    """A tenant seeded with a canary marker: (tenant, marker, stats)."""
    marker = f"canary-{secrets.token_hex(8)}"
    stats = platform.seed(platform.provision(tenant_name), key_dir, marker=marker)
    return tenant_name, marker, stats


def test_a_seeded_tenant_holds_exactly_the_activity_asked_for(
    platform: Platform, seeded: tuple[str, str, SeedStats]
) -> None:
    tenant, _, stats = seeded
    count = lambda table: platform.rows(tenant, f"SELECT count(*) FROM {table}")[0][0]  # noqa: E731
    assert (stats.users, stats.logins, stats.audit_events) == (60, 3_000, 2_000)
    assert (count("users"), count("login_events"), count("audit_events")) == (60, 3_000, 2_000)
    distinct = platform.rows(tenant, "SELECT count(DISTINCT record_id) FROM audit_events")[0][0]
    assert count("records") == stats.records == distinct > 0
    assert stats.seconds > 0


def test_the_same_seed_writes_the_same_metadata_into_a_fresh_database(
    platform: Platform, tenant_name: str, tmp_path: Path
) -> None:
    queries = (
        "SELECT at, actor, action, datasheet, record_id, payload_size"
        " FROM audit_events ORDER BY id",
        "SELECT at, user_email, ip, user_agent, result, method FROM login_events ORDER BY id",
        "SELECT email, display_name, created_at, active, is_admin FROM users ORDER BY id",
        "SELECT id, datasheet, created_at, updated_at FROM records ORDER BY id",
    )
    runs = []
    for attempt in range(2):
        platform.seed(platform.provision(tenant_name), tmp_path / f"keys-{attempt}")
        runs.append([platform.rows(tenant_name, q) for q in queries])
        platform.store.drop_database(tenant_name)
    platform.passwords.clear()
    assert runs[0] == runs[1]

    platform.seed(platform.provision(tenant_name), tmp_path / "keys-2", seed=8)
    other = platform.rows(tenant_name, queries[0])
    assert other != runs[0][0]


@pytest.mark.postgres
def test_sqlite_and_postgresql_tenants_get_the_same_activity_for_the_same_seed(
    pg_cluster_settings: ClusterSettings, tenant_name: str, tmp_path: Path
) -> None:
    query = "SELECT at, actor, action, datasheet, record_id FROM audit_events ORDER BY id"
    seen = []
    for dialect, store in (
        (
            "sqlite",
            SqliteTenantStore(ClusterSettings("x", "sqlite", f"sqlite:///{tmp_path}/c", 10)),
        ),
        ("postgresql", PostgresTenantStore(pg_cluster_settings)),
    ):
        platform = Platform(dialect, store, {})
        platform.seed(
            platform.provision(tenant_name), tmp_path / "keys", audit_events=500, logins=200
        )
        seen.append(platform.rows(tenant_name, query))
        store.drop_database(tenant_name)
        store.close()
    assert seen[0] == seen[1]


def test_every_payload_opens_with_the_platform_key_and_carries_the_marker(
    platform: Platform, seeded: tuple[str, str, SeedStats], key_dir: Path
) -> None:
    tenant, marker, _ = seeded
    key_id, key = platform_key(key_dir, tenant, create=False)
    aead = AESGCM(key)
    sealed = platform.rows(
        tenant,
        "SELECT 'audit_events', datasheet, record_id, key_id, payload_size, payload"
        " FROM audit_events",
    )
    sealed += platform.rows(
        tenant, "SELECT 'records', datasheet, id, key_id, payload_size, payload FROM records"
    )
    for table, datasheet, record_id, used_key, size, payload in sealed:
        assert used_key == key_id and size == len(payload)
        assert marker.encode() not in payload
        # Sealed to its place: the AAD names tenant, table, datasheet and record.
        opened = aead.decrypt(
            payload[:12], payload[12:], f"{tenant}/{table}/{datasheet}/{record_id}".encode()
        )
        fields = json.loads(opened)
        assert fields["note"] == marker and fields["id"] == record_id
        assert fields["first_name"] and fields["last_name"] and fields["phone"]
    assert len({payload[:12] for *_, payload in sealed}) == len(sealed)  # no nonce twice


def test_the_marker_never_appears_in_any_metadata_column(
    platform: Platform, seeded: tuple[str, str, SeedStats]
) -> None:
    tenant, marker, _ = seeded
    for table, columns in METADATA_COLUMNS.items():
        for row in platform.rows(tenant, f"SELECT {', '.join(columns)} FROM {table}"):
            assert not any(marker in str(value) for value in row), (table, row)
    for row in platform.rows(tenant, "SELECT display_name FROM users"):
        assert marker not in str(row[0])


def test_logins_look_like_a_working_organisation_under_attack(
    platform: Platform, seeded: tuple[str, str, SeedStats]
) -> None:
    tenant, _, _ = seeded
    logins = platform.rows(
        tenant,
        "SELECT at, user_email, ip, user_agent, result, method FROM login_events ORDER BY id",
    )
    emails = {row[0] for row in platform.rows(tenant, "SELECT email FROM users")}
    times = [datetime.fromisoformat(row[0]) for row in logins]
    assert times == sorted(times)
    assert NOW - timedelta(days=90) <= times[0] and times[-1] < NOW
    office_hours = sum(1 for t in times if t.weekday() < 5 and 7 <= t.hour < 18)
    assert office_hours > 0.6 * len(times)
    assert {row[4] for row in logins} == RESULTS
    assert {row[5] for row in logins} == {"password", "sso", "totp"}
    assert sum(row[4] == "success" for row in logins) > 0.9 * len(logins)
    assert all(
        any(ipaddress.ip_address(row[2]) in net for net in DOCUMENTATION_NETS) for row in logins
    )
    assert any(ipaddress.ip_address(row[2]).version == 6 for row in logins)
    assert all(re.fullmatch(rf"[a-z0-9.]+@{re.escape(tenant)}\.example", e) for e in emails)
    successful = {row[1] for row in logins if row[4] == "success"}
    assert successful <= emails and len(successful) > 10


def test_failures_come_in_bursts_from_one_ip_some_never_seen_before(
    platform: Platform, seeded: tuple[str, str, SeedStats]
) -> None:
    tenant, _, _ = seeded
    logins = platform.rows(tenant, "SELECT at, ip, result FROM login_events ORDER BY id")
    failures: dict[str, list[datetime]] = defaultdict(list)
    first_seen: dict[str, datetime] = {}
    for at, ip, result in logins:
        moment = datetime.fromisoformat(at)
        first_seen.setdefault(ip, moment)
        if result.startswith("failure:"):
            failures[ip].append(moment)

    def worst_ten_minutes(moments: list[datetime]) -> int:
        start, best = 0, 0
        for end, moment in enumerate(moments):
            while moment - moments[start] > timedelta(minutes=10):
                start += 1
            best = max(best, end - start + 1)
        return best

    bursting = {ip for ip, moments in failures.items() if worst_ten_minutes(moments) >= 20}
    assert bursting
    assert any(
        first_seen[ip] == failures[ip][0] for ip in bursting
    )  # the attack was its first login


def test_audit_events_are_changes_by_the_tenants_users_to_real_records(
    platform: Platform, seeded: tuple[str, str, SeedStats]
) -> None:
    tenant, _, _ = seeded
    emails = {
        row[0] for row in platform.rows(tenant, "SELECT email FROM users WHERE active = true")
    }
    events = platform.rows(
        tenant, "SELECT at, actor, action, datasheet, record_id FROM audit_events ORDER BY id"
    )
    assert [e[0] for e in events] == sorted(e[0] for e in events)
    assert {e[1] for e in events} <= emails
    assert {e[2] for e in events} == {"create", "update", "archive", "delete", "export"}
    assert {e[3] for e in events} == set(DATASHEETS)
    assert all(re.fullmatch(r"(emp|con|app)-\d{6}", e[4]) for e in events)
    first_action: dict[str, str] = {}
    for event in events:
        first_action.setdefault(event[4], event[2])
    assert set(first_action.values()) == {"create"}  # nothing is touched before it exists
    records = platform.rows(tenant, "SELECT id, datasheet, created_at, updated_at FROM records")
    assert {r[0] for r in records} == set(first_action)
    assert all(r[2] <= r[3] for r in records)
    admins = platform.rows(tenant, "SELECT count(*) FROM users WHERE is_admin = true")[0][0]
    assert 1 <= admins <= 8


def test_progress_is_reported_per_batch_up_to_the_total(
    platform: Platform, tenant_name: str, key_dir: Path
) -> None:
    calls: list[tuple[int, int]] = []
    stats = platform.seed(
        platform.provision(tenant_name), key_dir, progress=lambda d, t: calls.append((d, t))
    )
    assert calls[-1] == (stats.users + stats.logins + stats.audit_events + stats.records,) * 2
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_seeding_a_tenant_twice_is_refused_and_changes_nothing(
    platform: Platform, seeded: tuple[str, str, SeedStats], key_dir: Path
) -> None:
    tenant, _, stats = seeded
    with pytest.raises(Conflict, match="already holds rows"):
        platform.seed(tenant, key_dir)
    assert platform.rows(tenant, "SELECT count(*) FROM audit_events")[0][0] == stats.audit_events


def test_seeding_a_tenant_without_its_schema_is_refused(
    platform: Platform, tenant_name: str, key_dir: Path
) -> None:
    platform.passwords[tenant_name] = secrets.token_urlsafe(24)
    platform.store.create_database(tenant_name, platform.passwords[tenant_name])
    with pytest.raises(Conflict, match="apply the tenant schema"):
        platform.seed(tenant_name, key_dir)


@pytest.mark.parametrize(
    "bad",
    [{"users": -1}, {"logins": True}, {"users": 0}, {"marker": ""}, {"now": datetime(2026, 1, 1)}],
)
def test_nonsense_seed_requests_are_refused_before_anything_is_written(
    platform: Platform, tenant_name: str, key_dir: Path, bad: dict[str, Any]
) -> None:
    platform.provision(tenant_name)
    with pytest.raises(InvalidInput):
        platform.seed(tenant_name, key_dir, **bad)
    assert platform.rows(tenant_name, "SELECT count(*) FROM users") == [(0,)]
    assert not key_dir.exists()


def test_the_platform_key_lives_in_a_private_file_and_is_reused(tmp_path: Path) -> None:
    key_dir = tmp_path / "keys"
    assert not key_dir.exists()
    with pytest.raises(NotFound):
        platform_key(key_dir, "acme", create=False)
    key_id, key = platform_key(key_dir, "acme")
    assert len(key) == 32 and key_id
    assert stat.S_IMODE(key_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((key_dir / "acme.key").stat().st_mode) == 0o600
    assert platform_key(key_dir, "acme") == (key_id, key)
    assert platform_key(key_dir, "acme", create=False) == (key_id, key)
    other_id, other = platform_key(key_dir, "globex")
    assert other != key and other_id != key_id
    assert sorted(os.listdir(key_dir)) == ["acme.key", "globex.key"]  # no partial files left


def test_a_key_open_to_others_is_refused(tmp_path: Path) -> None:
    key_dir = tmp_path / "keys"
    platform_key(key_dir, "acme")
    (key_dir / "acme.key").chmod(0o644)
    with pytest.raises(InvalidInput, match="open to group/others") as refused:
        platform_key(key_dir, "acme")
    assert refused.value.hint is not None and "chmod 600" in refused.value.hint
    (key_dir / "acme.key").chmod(0o600)
    key_dir.chmod(0o755)
    with pytest.raises(InvalidInput, match="open to group/others") as refused:
        platform_key(key_dir, "acme")
    assert refused.value.hint is not None and "chmod 700" in refused.value.hint


@pytest.mark.parametrize("name", ["../etc/passwd", "Acme", "a"])
def test_a_hostile_tenant_name_never_reaches_the_key_directory(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidInput):
        platform_key(tmp_path / "keys", name)
    assert not (tmp_path / "keys").exists()
