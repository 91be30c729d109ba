"""Security staff read who logged in from where and who changed what, from metadata alone:
keyset pages newest first, filters, summaries, exports and a fleet-wide user search, on a
SQLite and on a real PostgreSQL cluster (where the readers connect as the inspector role)."""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from aptien_ops.backends.tenant_schema import utc_timestamp
from aptien_ops.composition import Console, open_console
from aptien_ops.domain import LoginEvent, utcnow
from aptien_ops.errors import Conflict, Forbidden, InvalidInput, NotFound, PendingApproval
from aptien_ops.inspect_query import AuditFilters, CursorCodec, LoginFilters, Position, Query
from aptien_ops.login_activity import FailureBurst, LoginSummary

from fleet_configs import (  # noqa: F401 - the fixtures kind and config
    eu_cluster_kind,
    eu_fleet_config,
    sandbox_with_eu_on,
)
from tenant_seeding import seeded

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def admin(config: Path) -> Iterator[Console]:
    console = open_console(config)
    yield console
    console.close()


@pytest.fixture
def sam(config: Path, admin: Console) -> Iterator[Console]:
    """The sandbox's security officer."""
    console = open_console(config, env={"APTIEN_OPS_OPERATOR": "sam"})
    yield console
    console.close()


def admin_rows(
    admin: Console, name: str, sql: str, params: tuple[Any, ...] = ()
) -> list[tuple[Any, ...]]:
    """Run ``sql`` as the cluster admin (the test's own view, or the platform writing);
    ``%s`` placeholders and datetimes are adapted to SQLite."""
    tenant = admin.tenants.show(name)
    store = admin.ctx.store(tenant.cluster or "")
    if store.kind == "sqlite":
        sql = sql.replace("%s", "?")
        params = tuple(utc_timestamp(p) if isinstance(p, datetime) else p for p in params)
    with store.connect(name) as conn:
        cursor = conn.execute(sql, params)
        return [tuple(r) for r in cursor.fetchall()] if cursor.description else []


def platform_login(
    admin: Console,
    name: str,
    at: datetime,
    email: str,
    result: str = "success",
    user_agent: str = "ua",
) -> None:
    """A login event as the platform records it."""
    admin_rows(
        admin,
        name,
        "INSERT INTO login_events (at, user_email, ip, user_agent, result, method)"
        " VALUES (%s, %s, '192.0.2.44', %s, %s, 'password')",
        (at, email, user_agent, result),
    )


def all_pages(
    ops: Console, name: str, filters: LoginFilters | AuditFilters, limit: int
) -> list[Any]:
    kind = "logins" if isinstance(filters, LoginFilters) else "audit"
    browser = ops.inspection.browse(name, kind, filters)
    rows, cursor = [], None
    while True:
        page = browser.page(limit, cursor)
        rows += page.rows
        cursor = page.next_cursor
        if cursor is None:
            return rows


def opslog(ops: Console, action: str) -> list[dict[str, Any]]:
    """Entries of ``action``, oldest first."""
    entries = reversed(ops.opslog.list(limit=100000))
    return [{**e.as_json(), "params": json.loads(e.params)} for e in entries if e.action == action]


# ----------------------------------------------------------------------------- pages


def test_pages_walk_every_login_newest_first_with_no_gap_and_no_repeat(
    admin: Console, sam: Console, tenant_name: str
) -> None:
    seeded(admin, tenant_name)
    expected = [
        r[0]
        for r in admin_rows(
            admin, tenant_name, "SELECT id FROM login_events ORDER BY at DESC, id DESC"
        )
    ]
    rows = all_pages(sam, tenant_name, LoginFilters(), 37)
    assert [r.id for r in rows] == expected and len(expected) == 600
    assert all(r.at.tzinfo is not None for r in rows)


def test_a_second_page_is_unmoved_by_logins_the_platform_writes_meanwhile(
    admin: Console, sam: Console, tenant_name: str
) -> None:
    seeded(admin, tenant_name)
    browser = sam.inspection.browse(tenant_name, "logins", LoginFilters())
    first = browser.page(20)
    for _ in range(30):
        platform_login(admin, tenant_name, utcnow() + timedelta(seconds=5), "new@x.example")
    second = browser.page(20, first.next_cursor)
    ids = [
        r[0]
        for r in admin_rows(
            admin,
            tenant_name,
            "SELECT id FROM login_events WHERE user_email <> 'new@x.example'"
            " ORDER BY at DESC, id DESC LIMIT 40",
        )
    ]
    assert [r.id for r in first.rows + second.rows] == ids


def test_filters_narrow_logins_exactly_as_the_data_says(
    admin: Console, sam: Console, tenant_name: str
) -> None:
    seeded(admin, tenant_name, logins=2000)
    ((user,),) = admin_rows(
        admin,
        tenant_name,
        "SELECT user_email FROM login_events GROUP BY user_email ORDER BY count(*) DESC LIMIT 1",
    )
    ((ip,),) = admin_rows(
        admin, tenant_name, "SELECT ip FROM login_events GROUP BY ip ORDER BY count(*) DESC LIMIT 1"
    )
    every = admin_rows(
        admin,
        tenant_name,
        "SELECT id, at, user_email, ip, result FROM login_events ORDER BY at DESC, id DESC",
    )
    cases = [
        (LoginFilters(user=user.upper()), lambda r: r[2] == user),
        (LoginFilters(ip=ip), lambda r: r[3] == ip),
        (LoginFilters(failed=True), lambda r: r[4] != "success"),
        (LoginFilters(result="failure:mfa"), lambda r: r[4] == "failure:mfa"),
        (LoginFilters(failed=True, user=user), lambda r: r[4] != "success" and r[2] == user),
    ]
    for filters, keep in cases:
        assert [r.id for r in all_pages(sam, tenant_name, filters, 100)] == [
            r[0] for r in every if keep(r)
        ], filters
    # The window is resolved against the clock while the pages are read: between these two.
    before = utcnow()
    window = [r for r in all_pages(sam, tenant_name, LoginFilters(since="30d", until="7d"), 100)]
    after = utcnow()
    assert window and all(
        before - timedelta(days=30) <= r.at < after - timedelta(days=7) for r in window
    )


def test_filters_narrow_the_change_audit_and_never_carry_a_payload(
    admin: Console, sam: Console, tenant_name: str
) -> None:
    seeded(admin, tenant_name, events=1500)
    every = admin_rows(
        admin,
        tenant_name,
        "SELECT id, actor, action, datasheet, record_id, payload_size FROM audit_events"
        " ORDER BY at DESC, id DESC",
    )
    actor, record = every[0][1], every[0][4]
    cases = [
        (AuditFilters(actor=actor), lambda r: r[1] == actor),
        (AuditFilters(action="delete"), lambda r: r[2] == "delete"),
        (AuditFilters(datasheet="applicants"), lambda r: r[3] == "applicants"),
        (AuditFilters(record=record), lambda r: r[4] == record),
        (
            AuditFilters(actor=actor, datasheet="employees"),
            lambda r: r[1] == actor and r[3] == "employees",
        ),
    ]
    for filters, keep in cases:
        assert [r.id for r in all_pages(sam, tenant_name, filters, 250)] == [
            r[0] for r in every if keep(r)
        ], filters
    rows = all_pages(sam, tenant_name, AuditFilters(), 500)
    assert {r.id: r.payload_size for r in rows} == {r[0]: r[5] for r in every}
    assert not hasattr(rows[0], "payload") and "payload" not in rows[0].as_json()


def test_a_cursor_is_refused_for_other_filters_another_tenant_when_altered_or_expired(
    admin: Console, sam: Console, tenant_name: str
) -> None:
    seeded(admin, tenant_name)
    other = seeded(admin, tenant_name + "b", logins=100)
    cursor = sam.inspection.logins(tenant_name, LoginFilters(failed=False), limit=5).next_cursor
    assert cursor is not None
    for name, filters, token in [
        (tenant_name, LoginFilters(ip="192.0.2.1"), cursor),
        (other, LoginFilters(), cursor),
        (tenant_name, LoginFilters(), cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB")),
        (tenant_name, LoginFilters(), "'; DROP TABLE login_events; --"),
        (tenant_name, LoginFilters(), "A" * 5000),
    ]:
        with pytest.raises(InvalidInput) as refused:
            sam.inspection.logins(name, filters, limit=5, after=token)
        assert "--after" in refused.value.message and "SELECT" not in refused.value.message
    with pytest.raises(InvalidInput, match="another tenant, kind"):
        sam.inspection.audit(tenant_name, AuditFilters(), limit=5, after=cursor)
    codec = CursorCodec(b"k" * 32)
    token = codec.encode(b"scope", Position(NOW, 7), NOW)
    assert codec.decode(token, b"scope", NOW + timedelta(hours=23)) == Position(NOW, 7)
    with pytest.raises(InvalidInput, match="expired"):
        codec.decode(token, b"scope", NOW + timedelta(hours=25))
    with pytest.raises(InvalidInput, match="not one this console issued"):
        CursorCodec(b"j" * 32).decode(token, b"scope", NOW)


def test_bad_times_and_limits_are_refused_before_anything_is_read() -> None:
    for filters, limit in [
        (LoginFilters(since="yesterday"), 5),
        (LoginFilters(since="1d", until="2d"), 5),
        (LoginFilters(until="2026-02-30"), 5),
        (LoginFilters(since="99999999d"), 5),
        (LoginFilters(failed=True, result="success"), 5),
        (LoginFilters(), 0),
        (LoginFilters(), 1001),
        (LoginFilters(user="a\x1b[2Jb@x"), 5),
    ]:
        with pytest.raises(InvalidInput):
            filters.resolve(NOW, limit)
    with pytest.raises(InvalidInput, match="datasheet"):
        AuditFilters(datasheet="salaries").resolve(NOW)
    query = LoginFilters(since="7d", until="2026-03-01T00:00:00+02:00").resolve(NOW)
    assert (query.since, query.until) == (
        NOW - timedelta(days=7),
        datetime(2026, 2, 28, 22, tzinfo=UTC),
    )


# ----------------------------------------------------------------------------- summaries


def _bursts(times: list[datetime], key: str = "192.0.2.7") -> list[FailureBurst]:
    summary = LoginSummary(NOW - timedelta(days=1), NOW, "hour", 20, timedelta(minutes=10))
    for at in times:
        summary.add(at, "eve@x.example", key, "curl/8", "failure:bad_password")
    return summary.bursts()


def test_twenty_failures_within_ten_minutes_are_a_burst_and_nineteen_are_not() -> None:
    start = NOW - timedelta(hours=5)
    assert _bursts([start + timedelta(seconds=30 * i) for i in range(19)]) == []
    bursts = _bursts([start + timedelta(seconds=30 * i) for i in range(20)])
    assert sorted((b.by, b.failures) for b in bursts) == [("ip", 20), ("user", 20)]
    spread = _bursts([start + timedelta(seconds=32 * i) for i in range(20)])  # 10 min 8 s
    assert spread == []
    two = _bursts(
        [start + timedelta(seconds=10 * i) for i in range(25)]
        + [start + timedelta(hours=2, seconds=10 * i) for i in range(30)]
    )
    assert sorted(b.failures for b in two if b.by == "ip") == [25, 30]


def test_the_summary_finds_the_seeded_attack_and_its_first_seen_address(
    admin: Console, sam: Console, tenant_name: str
) -> None:
    seeded(admin, tenant_name, logins=5000)
    whole = sam.inspection.summary(tenant_name, since="91d").activity
    assert (
        whole.logins == 5000 and whole.per == "day" and sum(b.logins for b in whole.buckets) == 5000
    )
    attack = next(b for b in whole.bursts if b.by == "ip")
    failures = admin_rows(
        admin, tenant_name, "SELECT count(*) FROM login_events WHERE result <> 'success'"
    )[0][0]
    assert whole.failures == failures and whole.failure_rate == round(failures / 5000, 4)
    start = attack.start
    around = sam.inspection.summary(
        tenant_name,
        since=(start - timedelta(hours=6)).isoformat(),
        until=(start + timedelta(hours=6)).isoformat(),
    ).activity
    assert around.per == "hour" and len(around.buckets) in (12, 13)
    first_seen = {row.ip for row in around.first_seen_ips}
    assert attack.key in first_seen
    window = (start - timedelta(hours=6), start + timedelta(hours=6))
    in_window = {
        r[0]
        for r in admin_rows(
            admin,
            tenant_name,
            "SELECT DISTINCT ip FROM login_events WHERE at >= %s AND at < %s",
            window,
        )
    }
    before = {
        r[0]
        for r in admin_rows(
            admin, tenant_name, "SELECT DISTINCT ip FROM login_events WHERE at < %s", window[:1]
        )
    }
    assert len(in_window) == around.distinct_ips and first_seen == in_window - before


# ---------------------------------------------------------------------- who may, and the record


def test_inspection_needs_security_and_a_denial_is_logged(
    admin: Console, config: Path, tenant_name: str
) -> None:
    seeded(admin, tenant_name, logins=50, events=50)
    for operator in ("ada", "olga", "vic"):
        other = open_console(config, env={"APTIEN_OPS_OPERATOR": operator})
        try:
            with pytest.raises(Forbidden) as refused:
                other.inspection.logins(tenant_name, LoginFilters(user="someone@x.example"))
            assert refused.value.hint == (  # a sandbox names its demo security colleague
                "needs role security; in this sandbox sam has it:"
                " prefix the command with APTIEN_OPS_OPERATOR=sam"
            )
            with pytest.raises(Forbidden):
                other.inspection.find_user("someone@x.example")
        finally:
            other.close()
    denied = [e for e in opslog(admin, "inspect.metadata") if e["outcome"] == "denied"]
    assert [e["operator"] for e in denied] == ["ada", "ada", "olga", "olga", "vic", "vic"]
    assert denied[0]["params"]["filters"] == {"user": "someone@x.example"}


def test_each_inspection_leaves_one_entry_with_the_filters_as_typed(
    admin: Console, sam: Console, tenant_name: str
) -> None:
    seeded(admin, tenant_name, logins=3000)  # a seeded attack alone brings 20 or more failures
    browser = sam.inspection.browse(tenant_name, "logins", LoginFilters(since="91d", failed=True))
    page = browser.page(3)
    browser.page(3, page.next_cursor)  # scrolling on is the same inspection
    sam.inspection.audit(tenant_name, AuditFilters(datasheet="contacts"), limit=2)
    entries = opslog(admin, "inspect.metadata")
    assert [(e["operator"], e["target"], e["outcome"]) for e in entries] == [
        ("sam", tenant_name, "ok")
    ] * 2
    assert entries[0]["params"] == {
        "kind": "logins",
        "filters": {"since": "91d", "failed": True},
        "limit": 3,
        "after": False,
        "rows": 3,
    }
    assert entries[1]["params"]["filters"] == {"datasheet": "contacts"}


def test_a_suspended_or_cancelled_tenant_is_inspected_and_says_so(
    admin: Console, sam: Console, tenant_name: str
) -> None:
    seeded(admin, tenant_name, logins=50, events=50)
    admin.lifecycle.suspend(tenant_name, "unpaid invoices")
    page = sam.inspection.logins(tenant_name, LoginFilters(), limit=10)
    assert len(page.rows) == 10 and page.notice and "suspended (unpaid invoices)" in page.notice
    assert page.as_json()["state"] == "suspended"
    admin.lifecycle.cancel(tenant_name, 30)
    assert "cancelled" in (sam.inspection.audit(tenant_name, AuditFilters(), limit=1).notice or "")
    assert (
        sam.inspection.find_user(
            admin_rows(admin, tenant_name, "SELECT email FROM users LIMIT 1")[0][0]
        )
        .hits[0]
        .tenant.state
        == "cancelled"
    )


def test_unknown_and_purged_tenants_are_not_found(
    admin: Console, sam: Console, tenant_name: str
) -> None:
    with pytest.raises(NotFound):
        sam.inspection.logins(tenant_name, LoginFilters())
    seeded(admin, tenant_name, logins=20, events=20)
    ((email,),) = admin_rows(admin, tenant_name, "SELECT email FROM users LIMIT 1")
    admin.lifecycle.cancel(tenant_name, 0)
    with pytest.raises(PendingApproval) as pending:
        admin.lifecycle.purge(tenant_name)
    other = open_console(admin.settings.path, env={"APTIEN_OPS_OPERATOR": "ada"})
    try:
        other.approvals.approve(pending.value.approval_id)
    finally:
        other.close()
    with pytest.raises(NotFound, match="purged"):
        sam.inspection.audit(tenant_name, AuditFilters())
    search = sam.inspection.find_user(email)
    assert search.hits == [] and search.skipped_purged == 1 and search.failures == []


# ----------------------------------------------------------------------------- the fleet


def test_find_user_lists_every_tenant_where_the_user_is_with_the_last_login(
    admin: Console, sam: Console, tenant_name: str
) -> None:
    names = [seeded(admin, tenant_name + s, logins=200, events=20) for s in "abc"]
    shared = "o'brien+ops@partner.example"
    for name in names[:2]:
        admin_rows(
            admin,
            name,
            "INSERT INTO users (email, display_name, created_at) VALUES (%s, 'Pat', %s)",
            (shared, NOW),
        )
        platform_login(admin, name, NOW, shared, "failure:mfa")
    seen: list[str] = []
    search = sam.inspection.find_user(
        shared.upper(), on_hit=lambda hit: seen.append(hit.tenant.name)
    )
    assert sorted(seen) == names[:2] and [h.tenant.name for h in search.hits] == names[:2]
    row = search.hits[0].as_json()
    assert (row["last_login"], row["last_attempt"], row["last_attempt_result"]) == (
        None,
        "2026-03-02T12:00:00Z",
        "failure:mfa",
    )
    assert row["state"] == "active" and row["region"] == "eu" and search.failures == []
    assert search.searched >= 3
    ((regular,),) = admin_rows(
        admin,
        names[2],
        "SELECT user_email FROM login_events WHERE result = 'success' ORDER BY at DESC LIMIT 1",
    )
    found = sam.inspection.find_user(regular, region="eu").hits
    assert [h.tenant.name for h in found] == [names[2]] and found[0].user.last_login is not None


def test_an_email_full_of_sql_metacharacters_is_only_data(
    admin: Console, sam: Console, tenant_name: str
) -> None:
    seeded(admin, tenant_name, logins=20, events=20)
    hostile = (
        "x' OR '1'='1@x.example",
        "a@b'; DROP TABLE users; --",
        '"; SELECT payload FROM records; --@x',
        "%@%",
    )
    for email in hostile:
        assert sam.inspection.logins(tenant_name, LoginFilters(user=email)).rows == []
        with pytest.raises(InvalidInput, match="must be an e-mail address"):
            sam.inspection.find_user(email)  # not an address (spaces, no dot): refused
    for email in (  # addresses by the rule, metacharacters and all
        "x'OR'1'='1@x.example",
        "a@b.example';DROP/**/TABLE/**/users;--",
        '";SELECT/**/payload/**/FROM/**/records;--@x.example',
        "%@%.example",
    ):
        assert sam.inspection.find_user(email).hits == []
    assert admin_rows(admin, tenant_name, "SELECT count(*) FROM users")[0][0] == 15


# ----------------------------------------------------------------------------- export


def test_an_export_holds_every_row_once_is_private_and_logged_with_reason_and_count(
    admin: Console, sam: Console, tenant_name: str, tmp_path: Path
) -> None:
    seeded(admin, tenant_name, logins=6000, events=300)
    jsonl = tmp_path / "logins.jsonl"
    done = sam.inspection.export(
        tenant_name, kind="logins", fmt="jsonl", output=jsonl, reason="  SEC-7:  stuffing  "
    )
    lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert done.rows == len(lines) == 6000 and len({r["id"] for r in lines}) == 6000
    assert set(lines[0]) == {"id", "at", "user_email", "ip", "user_agent", "result", "method"}
    assert os.stat(jsonl).st_mode & 0o777 == 0o600
    audit = tmp_path / "audit.csv"
    sam.inspection.export(
        tenant_name, kind="audit", fmt="csv", output=audit, reason="SEC-7", since="30d"
    )
    table = list(csv.DictReader(audit.open()))
    assert table and set(table[0]) == {
        "id",
        "at",
        "actor",
        "action",
        "datasheet",
        "record_id",
        "key_id",
        "payload_size",
    }
    with pytest.raises(Conflict, match="never overwrites"):
        sam.inspection.export(tenant_name, kind="audit", fmt="csv", output=audit, reason="again")
    with pytest.raises(InvalidInput, match="reason"):
        sam.inspection.export(
            tenant_name, kind="logins", fmt="csv", output=tmp_path / "x.csv", reason="  "
        )
    entries = [e for e in opslog(admin, "inspect.export")]
    assert [e["outcome"] for e in entries] == ["ok", "ok"]
    assert (
        entries[0]["params"]["rows"] == 6000 and entries[0]["params"]["reason"] == "SEC-7: stuffing"
    )
    assert list(tmp_path.glob(".*.partial")) == []


def test_a_csv_export_defuses_cells_a_spreadsheet_would_run(
    admin: Console, sam: Console, tenant_name: str, tmp_path: Path
) -> None:
    seeded(admin, tenant_name, logins=5, events=5)
    platform_login(
        admin,
        tenant_name,
        NOW,
        '=HYPERLINK("http://evil.example")',
        "failure:unknown_user",
        "+cmd|calc",
    )
    out = tmp_path / "l.csv"
    sam.inspection.export(tenant_name, kind="logins", fmt="csv", output=out, reason="SEC-8")
    row = next(r for r in csv.DictReader(out.open()) if "evil" in r["user_email"])
    assert row["user_email"].startswith("'=") and row["user_agent"] == "'+cmd|calc"


# ---------------------------------------------------------------------- the readers themselves


def test_every_page_query_is_an_index_range_in_order(
    admin: Console, sam: Console, tenant_name: str, kind: str
) -> None:
    seeded(admin, tenant_name, logins=20000, events=20000)
    reader = sam.inspection.new_reader(admin.tenants.show(tenant_name).cluster or "")
    after = Position(utcnow() - timedelta(days=3), 10**9)
    # A filter matching a third of the rows is served as well by walking the time index.
    queries = {
        ("login_events_at",): Query("logins", limit=51, after=after),
        ("login_events_user_at",): Query(
            "logins", equals=(("user_email", "a@x.example"),), limit=51, after=after
        ),
        # The seed's busiest address is in ~4 % of the rows: depending on ANALYZE's sample the
        # planner walks its own index or the time index and filters (both in order, no sort).
        ("login_events_ip_at", "login_events_at"): Query(
            "logins", equals=(("ip", "192.0.2.1"),), since=NOW - timedelta(days=7), limit=51
        ),
        ("audit_events_at",): Query("audit", limit=51, after=after),
        ("audit_events_actor_at",): Query(
            "audit",
            equals=(("actor", "a@x.example"),),
            since=NOW - timedelta(days=7),
            limit=51,
            after=after,
        ),
        ("audit_events_datasheet_at", "audit_events_at"): Query(
            "audit", equals=(("datasheet", "contacts"),), limit=51
        ),
        ("audit_events_record_at",): Query(
            "audit", equals=(("record_id", "emp-000001"),), limit=51, after=after
        ),
    }
    try:
        if kind == "postgresql":
            store = admin.ctx.store(admin.tenants.show(tenant_name).cluster or "")
            with store.connect(tenant_name) as conn:
                conn.execute("ANALYZE")
            for indexes, query in queries.items():
                plan = reader.explain(tenant_name, query)  # type: ignore[attr-defined]
                assert any(
                    f"Index Scan using {i} " in plan or f"Bitmap Index Scan on {i} " in plan
                    for i in indexes
                ), plan
                # A bitmap scan (few matching rows, all found through the index) may sort them.
                assert "Seq Scan" not in plan and (
                    "Sort" not in plan or "Bitmap Index Scan" in plan
                ), plan
        else:
            conn = reader.session(tenant_name)  # type: ignore[attr-defined]
            for indexes, query in queries.items():
                statement, params = reader.select(query)  # type: ignore[attr-defined]
                plan = " | ".join(
                    r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + statement, params)
                )
                assert (
                    any(f"USING INDEX {i} " in plan for i in indexes) and "TEMP B-TREE" not in plan
                ), plan
    finally:
        reader.close()


@pytest.mark.postgres
def test_the_server_refuses_the_readers_own_connection_every_payload(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    tenant_name: str,
) -> None:
    import psycopg

    monkeypatch.setenv("APTIEN_TEST_INSPECTOR_PW", "inspector-pw-for-tests")
    config = sandbox_with_eu_on("postgresql", tmp_path / "pg", request.getfixturevalue("pg_server"))
    admin = open_console(config)
    sam = open_console(config, env={"APTIEN_OPS_OPERATOR": "sam"})
    try:
        seeded(admin, tenant_name, logins=10, events=10)
        cluster = admin.tenants.show(tenant_name).cluster or ""
        reader = sam.inspection.new_reader(cluster)
        conn = reader.session(tenant_name)  # type: ignore[attr-defined]
        assert conn.execute("SELECT current_user").fetchone()[0] == "aptien_inspector_eu"
        for table in ("audit_events", "records"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege) as refused:
                conn.execute(f"SELECT payload FROM public.{table} LIMIT 1")
            assert refused.value.sqlstate == "42501"
        for statement in (
            "SELECT * FROM public.audit_events",
            "SELECT display_name FROM public.users",
            "SELECT t FROM public.records AS t",
            "COPY public.audit_events TO STDOUT",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
        assert (
            conn.execute("SELECT count(payload_size) FROM public.audit_events").fetchone()[0] == 10
        )
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("CREATE TEMP TABLE stash (x int)")
        reader.close()
    finally:
        sam.close()
        admin.close()


def test_the_sqlite_reader_refuses_every_column_outside_the_allow_list(
    sandbox_config: Path, tenant_name: str
) -> None:
    admin = open_console(sandbox_config)
    sam = open_console(sandbox_config, env={"APTIEN_OPS_OPERATOR": "sam"})
    try:
        seeded(admin, tenant_name, logins=10, events=10)
        reader = sam.inspection.new_reader(admin.tenants.show(tenant_name).cluster or "")
        _refuses_payload(reader.session(tenant_name))  # type: ignore[attr-defined]
        reader.close()
        run = subprocess.run(  # and a scripted SQLite inspection never loads the PostgreSQL driver
            [
                sys.executable,
                "-c",
                "import sys\nfrom aptien_ops.cli.main import main\n"
                "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
                "print(any(m.startswith('psycopg') for m in sys.modules))",
                "--config",
                str(sandbox_config),
                "--json",
                "inspect",
                "audit",
                tenant_name,
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "APTIEN_OPS_OPERATOR": "sam"},
            check=True,
        )
        assert (
            json.loads(run.stdout.splitlines()[0])["rows"]
            and run.stdout.splitlines()[-1] == "False"
        ), run.stderr
    finally:
        sam.close()
        admin.close()


def _refuses_payload(conn: sqlite3.Connection) -> None:
    for statement in (
        "SELECT payload FROM audit_events",
        "SELECT * FROM records",
        "SELECT display_name FROM users",
        "SELECT length(payload) FROM audit_events",
        "UPDATE users SET active = 0",
        "ATTACH DATABASE ':memory:' AS x",
        "SELECT value FROM tenant_meta WHERE key = (SELECT payload FROM records)",
    ):
        with pytest.raises(sqlite3.DatabaseError):
            conn.execute(statement)
    assert conn.execute("SELECT count(payload_size) FROM audit_events").fetchone() == (10,)


def test_readers_return_domain_events_with_aware_times(
    admin: Console, sam: Console, tenant_name: str
) -> None:
    seeded(admin, tenant_name, logins=30, events=30)
    row = sam.inspection.logins(tenant_name, LoginFilters(), limit=1).rows[0]
    assert isinstance(row, LoginEvent) and row.at.utcoffset() == timedelta(0)
    assert row.as_json()["at"].endswith("Z")
