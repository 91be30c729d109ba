"""An in-app notice campaign in a process of its own, for the tests that kill it (``kill -9``).

    python notify_inapp_driver.py CATALOG_URL TENANTS_DIR [PAUSE]

The tenants are the SQLite files of ``TENANTS_DIR`` (``TENANTS``), their users the people
notified. Fills the outbox (a rerun adds nothing), then delivers in-app messages, printing
``inapp N/T`` after each tenant's rows are marked sent. PAUSE stops the process where a test
kills it: ``written:K`` (the K-th tenant's messages committed in its database, its rows not
marked yet; the engine's other thread may be marking the tenant before it) or ``sent:N``
(once N or more rows are marked sent; the next tenant's write may be under way). A paused process
prints ``paused`` and waits on its stdin.
"""

from __future__ import annotations

import faulthandler
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aptien_ops.backends.notify_inapp import TenantMessages
from aptien_ops.backends.sql_catalog import SqlCatalog
from aptien_ops.backends.sqlite_tenants import SqliteTenantStore
from aptien_ops.config import CatalogSettings, ClusterSettings
from aptien_ops.domain.notices import Recipient
from aptien_ops.ports import DbConnection
from aptien_ops.services.notify_engine import Channels

from notice_samples import start_campaign
from notify_driver import deliver, pause

TENANTS = ("acme", "globex", "initech")


def store_in(directory: Path) -> SqliteTenantStore:
    return SqliteTenantStore(ClusterSettings("notify-k", "sqlite", f"sqlite:///{directory}", 10))


class Pausing:
    """The store, pausing once the K-th tenant's transaction has committed."""

    def __init__(self, store: SqliteTenantStore, at: int | None) -> None:
        self.store, self.at, self.count, self.lock = store, at, 0, threading.Lock()

    @contextmanager
    def connect(self, tenant: str) -> Iterator[DbConnection]:
        with self.store.connect(tenant) as conn:
            yield conn
        with self.lock:
            self.count += 1
            if self.count == self.at:
                pause()


def main() -> None:
    faulthandler.dump_traceback_later(120, exit=True)  # a hung run says where (stderr)
    url, directory = sys.argv[1], Path(sys.argv[2])
    kind, _, n = (sys.argv[3] if len(sys.argv) > 3 else "").partition(":")
    store = store_in(directory)
    people = []
    for tenant in TENANTS:
        with store.connect(tenant) as conn:
            ids = [row[0] for row in conn.execute("SELECT id FROM users ORDER BY id")]
        people += [Recipient(tenant, "eu", str(i), "", None) for i in ids]
    catalog = SqlCatalog(CatalogSettings(url=url))
    catalog.ensure_schema()
    campaign = start_campaign(catalog, ("inapp",), people)

    pausing = Pausing(store, int(n) if kind == "written" else None)
    channels = Channels(inapp=TenantMessages(), store_of=lambda tenant: pausing)  # type: ignore[arg-type,return-value]
    deliver(catalog, campaign, channels, int(n) if kind == "sent" else None)


if __name__ == "__main__":
    main()
