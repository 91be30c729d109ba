"""A catalog that connects on first use, so the TUI can draw its first frame before that.

The TUI draws its first frame with placeholders and connects the catalog right after, in a
worker thread: connecting imports SQLAlchemy, checks (or creates, or upgrades) the schema and
runs the bootstrap, which together cost more than drawing the frame. Every service call made
meanwhile (always from a worker thread) simply waits here until the catalog is connected.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager

from aptien_ops.domain import CatalogInfo
from aptien_ops.ports import Catalog, CatalogTx


class DeferredCatalog:
    """A :class:`~aptien_ops.ports.Catalog` whose connection is made by ``connect`` on first use.

    ``connect`` returns the connected catalog (schema checked, bootstrap done) or raises; a
    failed attempt leaves nothing behind, so the next use tries again.
    """

    def __init__(self, connect: Callable[[], Catalog]) -> None:
        self._connect = connect
        self._catalog: Catalog | None = None
        self._lock = threading.Lock()

    @property
    def connected(self) -> bool:
        return self._catalog is not None

    def open(self) -> Catalog:
        """The connected catalog, connecting first if needed (one thread connects, others wait).

        Raises: whatever ``connect`` raises (ConfigError, Unavailable, Conflict).
        """
        catalog = self._catalog
        if catalog is not None:
            return catalog
        with self._lock:
            if self._catalog is None:
                self._catalog = self._connect()
            return self._catalog

    @property
    def url_for_display(self) -> str:
        return self.open().url_for_display

    def ensure_schema(self) -> CatalogInfo:
        return self.open().ensure_schema()

    def transaction(self, *, durable: bool = True) -> AbstractContextManager[CatalogTx]:
        return self.open().transaction(durable=durable)

    def read(self) -> AbstractContextManager[CatalogTx]:
        return self.open().read()

    def exclusive(self, name: str) -> AbstractContextManager[None]:
        return self.open().exclusive(name)

    def dispose(self) -> None:
        """Close the connection, if one was made (a later use connects again)."""
        with self._lock:
            catalog, self._catalog = self._catalog, None
        if catalog is not None:
            catalog.dispose()
