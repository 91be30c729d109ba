"""A bounded window onto the whole ops log, newest first, paged by seq (keyset) in both
directions and able to jump to either end.

Unlike a tenant's events (:mod:`screens.event_window`, paged forward from the newest), the
ops log has a dense, ordered key: a page can start anywhere (``before``/``after`` a seq,
``after=0`` being the oldest page), and every page says how many entries are newer than it
and how many there are in all, so each row has an absolute position (0: the newest) even
when the window was entered from the oldest end. Pure Python (no Textual): the virtual table
(:class:`screens.event_table.EventTable`) renders it, the screen feeds it pages.
"""

from __future__ import annotations

from aptien_ops.domain import OpsLogEntry, OpsLogPage
from aptien_ops.screens.page_window import Positioned

#: Entries asked for per page.
PAGE_ROWS = 200
#: Entries held at most (five pages); the table draws only those on screen.
MAX_ROWS = 1_000


class LogWindow(Positioned[OpsLogEntry]):
    """Consecutive entries of the log, newest first, at absolute positions (0: the newest)."""

    def __init__(self, max_rows: int = MAX_ROWS) -> None:
        super().__init__(max_rows)

    @property
    def entries(self) -> list[OpsLogEntry]:
        return self.rows

    @entries.setter
    def entries(self, entries: list[OpsLogEntry]) -> None:
        self.rows = entries

    @property
    def newest_seq(self) -> int | None:
        return self.entries[0].seq if self.entries else None

    @property
    def oldest_seq(self) -> int | None:
        return self.entries[-1].seq if self.entries else None

    def position_of(self, seq: int) -> int | None:
        """Absolute position of entry ``seq`` if it is held."""
        for offset, entry in enumerate(self.entries):  # at most max_rows
            if entry.seq == seq:
                return self.first + offset
        return None

    # -- taking pages in -------------------------------------------------------------------

    def replace(self, page: OpsLogPage) -> None:
        """Hold ``page`` alone (a jump to either end, or a reload in place)."""
        self.entries = list(page.entries[: self.max_rows])
        self.first, self.total, self.read = page.newer, page.total, True

    def add_older(self, page: OpsLogPage) -> int:
        """Append ``page`` (read ``before`` the oldest entry held) below the window; drop
        entries beyond ``max_rows`` from the top. Returns how many were dropped."""
        self.total = page.total
        if not page.entries:
            return 0
        # Newer entries may have been logged since the window was read: the page's count wins.
        self.first = page.newer - len(self.entries)
        self.entries.extend(page.entries)
        dropped = max(0, len(self.entries) - self.max_rows)
        del self.entries[:dropped]
        self.first += dropped
        return dropped

    def add_newer(self, page: OpsLogPage) -> int:
        """Prepend ``page`` (read ``after`` the newest entry held) above the window; drop
        entries beyond ``max_rows`` from the bottom. Returns how many were added above."""
        self.total = page.total
        if not page.entries:
            return 0
        self.entries[:0] = page.entries
        self.first = page.newer
        del self.entries[self.max_rows :]
        return len(page.entries)
