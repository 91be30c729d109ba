"""In-app notices through the engine, several tenants at a time: the engine writes one
tenant's messages in a thread of its own while it marks the tenant before it, so these tests
prove what that must not change. Exactly one message per user after ``kill -9`` at several
points then a rerun; a tenant whose database is gone is failed at once, a busy one retried
with backoff, the others sent once. Tenants are SQLite files; the catalog SQLite or
PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from killed_child import run_child
from notify_inapp_driver import TENANTS, store_in

from aptien_ops.backends.notify_inapp import TenantMessages
from aptien_ops.backends.sql_catalog import SqlCatalog
from aptien_ops.backends.sqlite_tenants import SqliteTenantStore
from aptien_ops.config import CatalogSettings
from aptien_ops.domain.notices import Recipient
from aptien_ops.errors import Conflict
from aptien_ops.ports import DbConnection
from aptien_ops.services.notify_engine import Channels, Engine

from notice_samples import CONTENT, NOW, start_campaign

DRIVER = Path(__file__).with_name("notify_inapp_driver.py")
USERS = 4


@pytest.fixture
def tenants(tmp_path: Path) -> Iterator[Path]:
    """``TENANTS`` as SQLite files of the in-app schema, ``USERS`` users each."""
    directory = tmp_path / "tenants"
    store = store_in(directory)
    for tenant in TENANTS:
        store.create_database(tenant, "x")
        store.apply_schema(tenant, 3, region="eu")
        with store.connect(tenant) as conn:
            conn.executemany(
                "INSERT INTO users (email, created_at) VALUES (?, '2026-01-01T00:00:00.000000Z')",
                [(f"u{n}@{tenant}.example",) for n in range(USERS)],
            )
    store.close()
    yield directory


def messages_per_user(directory: Path) -> dict[str, list[int]]:
    store = store_in(directory)
    found = {}
    for tenant in TENANTS:
        with store.connect(tenant) as conn:
            found[tenant] = [
                n
                for (n,) in conn.execute(
                    "SELECT count(m.id) FROM users u LEFT JOIN user_messages m"
                    " ON m.user_id = u.id GROUP BY u.id ORDER BY u.id"
                )
            ]
    store.close()
    return found


@pytest.mark.parametrize(
    "points", [["written:1"], ["written:2", "sent:4"], ["sent:8", "written:1"], ["written:3"]]
)
def test_kill_9_at_any_point_then_rerun_leaves_one_message_per_user(
    sql_catalog_url: str, tenants: Path, points: list[str]
) -> None:
    for point in points:
        run_child([str(DRIVER), sql_catalog_url, str(tenants), point], paused=True)
    lines = run_child([str(DRIVER), sql_catalog_url, str(tenants)], paused=False)
    assert lines[-1] == 'done {"inapp": {"sent": 12, "pending": 0, "failed": 0}}'
    assert messages_per_user(tenants) == {t: [1] * USERS for t in TENANTS}


class Flaky:
    """A tenant store that answers "busy" to the first ``busy`` connections."""

    def __init__(self, store: SqliteTenantStore, busy: int) -> None:
        self.store, self.busy = store, busy

    @contextmanager
    def connect(self, tenant: str) -> Iterator[DbConnection]:
        if self.busy:
            self.busy -= 1
            raise Conflict("tenant database busy: database is locked")
        with self.store.connect(tenant) as conn:
            yield conn


def test_a_gone_tenant_fails_at_once_a_busy_one_is_retried_and_the_rest_go_once(
    sql_catalog_url: str, tenants: Path
) -> None:
    store = store_in(tenants)
    people = [Recipient(t, "eu", str(n), "") for t in TENANTS for n in range(1, USERS + 1)]
    people[4:4] = [Recipient("gone", "eu", "1", ""), Recipient("gone", "eu", "2", "")]
    catalog = SqlCatalog(CatalogSettings(url=sql_catalog_url))
    catalog.ensure_schema()
    campaign = start_campaign(catalog, ("inapp",), people)
    flaky = Flaky(store, busy=2)
    stores = {"globex": flaky}
    waits: list[float] = []
    seen: list[tuple[str, int, int]] = []
    counts = Engine(
        catalog,
        campaign,
        Channels(
            inapp=TenantMessages(),
            store_of=lambda tenant: stores.get(tenant, store),  # type: ignore[arg-type,return-value]
            max_attempts=4,
        ),
        now=lambda: NOW,
        sleep=waits.append,
        progress=lambda *step: seen.append(step),
    ).run()
    assert [c.as_json() for c in counts] == [{"sent": 12, "pending": 0, "failed": 2}]
    assert waits == [1.0, 2.0]  # globex was busy twice, then took its messages
    assert seen == [("inapp", 4, 14), ("inapp", 8, 14), ("inapp", 14, 14)]  # failed are settled
    assert messages_per_user(tenants) == {t: [1] * USERS for t in TENANTS}
    with catalog.read() as tx:
        failed = tx.breach_outbox.failed(CONTENT.incident_id)
    assert [(r.recipient, r.attempts) for r in failed] == [("gone/1", 1), ("gone/2", 1)]
    assert all("does not exist" in (r.reason or "") for r in failed)
    store.close()
    catalog.dispose()
