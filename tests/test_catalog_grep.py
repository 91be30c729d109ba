"""The catalog's ``grep`` (backends/sql_catalog/text_filter.py) on SQLite and the suite's
PostgreSQL: the ops log's pages and counts, the approvals and the backups index find rows by
what their lists show, case-insensitively, with ``%``, ``_`` and ``\\`` taken literally."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aptien_ops.backends.sql_catalog import SqlCatalog
from aptien_ops.backup_policy import BackupRecord
from aptien_ops.config import CatalogSettings
from aptien_ops.domain import ApprovalState, BackupManifest, OpsLogEntry, OpsLogHead

T0 = datetime(2024, 3, 1, 9, 30, 0, tzinfo=UTC)
#: Targets that hold LIKE's metacharacters, non-ASCII letters, and plain text.
TARGETS = ("50% off", "a_b", "back\\slash", "Zürich-Ärzte", "plain", "percent", "ab")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def catalog(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlCatalog]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/catalog.db"
    else:
        server = request.getfixturevalue("pg_server")
        url = server.url(server.fresh_database("catalog"))
    cat = SqlCatalog(CatalogSettings(url=url))
    cat.ensure_schema()
    yield cat
    cat.dispose()


def log(cat: SqlCatalog, target: str, operator: str = "alice", minutes: int = 0) -> int:
    with cat.transaction() as tx:
        head = tx.opslog.head(for_update=True)
        assert head is not None
        seq = head.seq + 1
        mac = hashlib.sha256(f"{head.hmac}|{seq}".encode()).hexdigest()
        at = (T0 + timedelta(minutes=minutes)).isoformat(timespec="microseconds")
        entry = OpsLogEntry(
            seq, at, operator, operator, None, "s", "tenant.suspend", target, "{}", "ok", None,
            head.hmac, mac,
        )  # fmt: skip
        tx.opslog.append(entry, OpsLogHead(seq, mac, "sig"))
        return seq


def targets(entries: list[OpsLogEntry]) -> list[str]:
    return [e.target for e in entries]


def test_the_ops_log_finds_entries_by_a_literal_text_on_every_page(catalog: SqlCatalog) -> None:
    for minute, target in enumerate(TARGETS):
        log(catalog, target, minutes=minute)
    log(catalog, "late", operator="Bob", minutes=24 * 60)
    with catalog.read() as tx:
        page = tx.opslog.page

        def grep(text: str) -> list[str]:
            return targets(page(limit=50, grep=text))

        assert grep("%") == ["50% off"]  # not "every row"
        assert grep("_") == ["a_b"]  # not "any one character"
        assert grep("\\") == ["back\\slash"]
        assert grep("a%b") == [] and grep("a_b") == ["a_b"]
        assert grep("ZüRICH") == ["Zürich-Ärzte"]  # ASCII letters in any case, ü as typed
        assert grep("Ärzte") == ["Zürich-Ärzte"]
        assert grep("BOB") == ["late"]  # the operator column
        assert grep("03-02 09:30") == ["late"]  # the time, to the minute, as lists show it
        assert len(grep("2024-03-01 09:3")) == len(TARGETS)
        assert grep("PERCENT") == ["percent"]
        assert grep("suspend") == ["late", *reversed(TARGETS)]  # the action, newest first
        # Pages and counts keep to the matches: the keyset works on them as on the whole log.
        # "b": a_b (2), back\slash (3), ab (7), Bob (8).
        assert [e.seq for e in page(limit=2, grep="b", before=7)] == [3, 2]
        assert [e.seq for e in page(limit=2, grep="b", after=2)] == [7, 3]
        assert tx.opslog.count(grep="%") == 1
        assert tx.opslog.count(grep="B", newer_than=5) == 2
        assert tx.opslog.count(grep="no such text") == 0


def test_approvals_are_found_by_what_their_list_shows(catalog: SqlCatalog) -> None:
    with catalog.transaction() as tx:
        ids = [
            tx.approvals.insert("tenant.purge", target, {}, "Carol", T0 + timedelta(hours=n))
            for n, target in enumerate(TARGETS)
        ]
        second = tx.approvals.get(ids[1])
        assert second is not None
        tx.approvals.decide(second, ApprovalState.REJECTED, "dave", T0, "no")
    with catalog.read() as tx:

        def grep(text: str, state: ApprovalState | None = None) -> list[str]:
            return [a.target for a in tx.approvals.all(state, grep=text)]

        assert grep("%") == ["50% off"] and grep("_") == ["a_b"] and grep("\\") == ["back\\slash"]
        assert grep("zürich") == ["Zürich-Ärzte"]
        assert grep("DAVE") == ["a_b"] and grep("rejected") == ["a_b"]
        assert grep("carol", ApprovalState.REJECTED) == ["a_b"]
        assert grep("03-01 11:30") == ["back\\slash"]  # requested two hours after T0
        assert grep(str(ids[-1])) == [TARGETS[-1]]
        assert len(grep("PURGE")) == len(TARGETS)


def record(n: int, tenant: str, region: str = "eu") -> BackupRecord:
    at = T0 + timedelta(days=n)
    manifest = BackupManifest(
        f"bk-{n:03d}", tenant, region, f"{region}-1", tenant, "sqlite", "3", "sqlite3", None,
        at.isoformat(), at.isoformat(), 10, 10, "0" * 64, "1" * 64, "fp", {}, None,
    )  # fmt: skip
    return BackupRecord.from_manifest(manifest)


def test_the_backup_index_is_found_by_id_tenant_region_cluster_and_time(
    catalog: SqlCatalog,
) -> None:
    with catalog.transaction() as tx:
        for n, tenant in enumerate(("acme_gmbh", "acme-ag", "Zürich-bank")):
            tx.backups.insert(record(n, tenant, "us" if n == 2 else "eu"))
        tx.backups.mark_pruned("bk-001", T0)
    with catalog.read() as tx:

        def grep(text: str, **kw: object) -> list[str]:
            return [r.id for r in tx.backups.all(grep=text, include_pruned=True, **kw)]  # type: ignore[arg-type]

        assert grep("acme_") == ["bk-000"] and grep("ACME") == ["bk-000", "bk-001"]
        assert grep("zür") == ["bk-002"] and grep("US-1") == ["bk-002"]
        assert grep("03-02 09:30") == ["bk-001"] and grep("bk-00") == ["bk-000", "bk-001", "bk-002"]
        assert grep("%") == [] and grep("\\") == []
        assert [r.id for r in tx.backups.all(grep="acme")] == ["bk-000"]  # pruned left out
        assert grep("acme", tenant="acme-ag") == ["bk-001"]
        assert tx.backups.ids() == {"bk-000", "bk-001", "bk-002"}
        assert tx.backups.ids(tenant="acme-ag") == {"bk-001"}
