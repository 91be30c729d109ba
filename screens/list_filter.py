"""The ``/`` filter of a list the catalog searches (the ops log, approvals, backups): all of
history, not only the rows the screen holds.

Typing narrows nothing on the UI thread: once the operator stops typing for
:data:`DEBOUNCE_S`, the screen reads again with the text as the service's ``grep`` (in a
worker, as every read). A cleared filter (Esc) applies at once. The bar then says how many
rows the catalog found; the cursor stays on its row when that row is still found.
"""

from __future__ import annotations

from textual.timer import Timer

from aptien_ops.screens.base import OpsScreen
from aptien_ops.screens.filter_bar import FilterBar
from aptien_ops.screens.lists import ListTable

#: Seconds without a keystroke before the catalog is asked.
DEBOUNCE_S = 0.2


class CatalogFilteredScreen(OpsScreen):
    """A screen whose list the catalog filters. ``needle`` is the text applied (lower-cased;
    "" for none): the screen's reads pass it as ``grep``. Subclasses read again in
    :meth:`filter_applied` (by default :meth:`refresh_data`)."""

    #: Seconds without a keystroke before the catalog is asked (tests call :meth:`flush_filter`).
    FILTER_DELAY = DEBOUNCE_S

    def __init__(self) -> None:
        super().__init__()
        self.needle = ""
        #: How many rows the last read found (the list may hold fewer: its window).
        self.found = 0
        self._typed = ""
        self._filter_timer: Timer | None = None

    @property
    def filter_pending(self) -> bool:
        """Typed text is waiting for its read (the debounce has not run out)."""
        return self._filter_timer is not None

    def filter_changed(self, needle: str) -> None:
        self._typed = needle.strip().lower()
        if self._filter_timer is not None:
            self._filter_timer.stop()
            self._filter_timer = None
        if not self._typed:
            self.flush_filter()  # Esc, or the text deleted: every row again at once
        else:
            self._filter_timer = self.set_timer(self.FILTER_DELAY, self.flush_filter)

    def flush_filter(self) -> None:
        """Apply what was typed now (the debounce's end)."""
        if self._filter_timer is not None:
            self._filter_timer.stop()
            self._filter_timer = None
        if self._typed != self.needle:
            self.needle = self._typed
            self.filter_applied()

    def filter_applied(self) -> None:
        """Read again with :attr:`needle` (in a worker)."""
        self.refresh_data()

    def on_list_table_shown(self, event: ListTable.Shown) -> None:
        # The table holds what the catalog found: its own filter stays empty, and the base
        # class's count ("N of N shown") would say nothing.
        event.prevent_default()
        self.show_found(max(self.found, event.table.total))

    def show_found(self, found: int) -> None:
        """The bar's count: ``found`` rows hold the filter."""
        bars = self.query(FilterBar)
        if bars:
            bars.first().show_found(found)
