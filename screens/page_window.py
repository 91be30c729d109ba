"""A bounded window onto a list the catalog orders and counts (tenants, backups): rows at
absolute positions (0: the first row of the list), read a page at a time by offset as the
cursor moves, at most ``max_rows`` held.

The catalog answers each page with the rows from an offset and how many rows the list has in
all; a page may overlap the rows held (the list changed meanwhile, or the last page was read
from a little earlier): it is merged by position. Pure Python (no Textual): the virtual table
(:class:`screens.event_table.EventTable`) renders it, the screen feeds it pages.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

Row = TypeVar("Row")

#: Rows asked for per page: a screenful at 200×50 and a margin on either side of it.
PAGE_ROWS = 100
#: Rows held at most; the table draws only those on screen.
MAX_ROWS = 500


@dataclass(frozen=True)
class PageSlice(Generic[Row]):
    """A page as the catalog answered it: ``rows`` from position ``offset`` of a list of
    ``total`` rows (``whole``: the rows of the list before a filter)."""

    offset: int
    rows: Sequence[Row]
    total: int
    whole: int


class Positioned(Generic[Row]):
    """Consecutive rows of one list at absolute positions: ``rows[0]`` is row ``first`` of the
    ``total`` the list holds (what :class:`~screens.event_table.EventTable` reads)."""

    def __init__(self, max_rows: int = MAX_ROWS) -> None:
        self.max_rows = max_rows
        self.rows: list[Row] = []
        #: Absolute position of ``rows[0]``.
        self.first = 0
        #: Rows in the whole list, as the last page read said.
        self.total = 0
        #: Whether a page was read at all (an empty list is not an unread one).
        self.read = False

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def end(self) -> int:
        """Absolute position just past the last row held."""
        return self.first + len(self.rows)

    @property
    def has_before(self) -> bool:
        """Whether rows exist above the window."""
        return self.first > 0

    @property
    def has_after(self) -> bool:
        """Whether rows exist below the window."""
        return self.end < self.total

    def row(self, position: int) -> Row | None:
        """The row at absolute ``position``, or None if it is not held."""
        offset = position - self.first
        return self.rows[offset] if 0 <= offset < len(self.rows) else None

    def clear(self) -> None:
        """Forget every row (the operator's roles no longer allow them)."""
        self.rows, self.first, self.total, self.read = [], 0, 0, False


class PageWindow(Positioned[Row]):
    """Rows read by offset, merged by position."""

    def position_of(self, wanted: Callable[[Row], bool]) -> int | None:
        """Absolute position of the first held row ``wanted`` says yes to (at most max_rows)."""
        for offset, row in enumerate(self.rows):
            if wanted(row):
                return self.first + offset
        return None

    def replace(self, offset: int, rows: Sequence[Row], total: int) -> None:
        """Hold this page alone (the first read, a jump, a new filter or order)."""
        self.rows, self.first = list(rows[: self.max_rows]), offset
        self.total, self.read = total, True

    def merge(self, offset: int, rows: Sequence[Row], total: int, *, keep: int) -> int:
        """Take in the page read from ``offset``: merged if it borders or overlaps the rows
        held (else held alone), then cut to ``max_rows`` away from absolute position ``keep``
        (the cursor). Returns how far ``first`` moved up (negative: down)."""
        before = self.first
        self.total, self.read = total, True
        if not self.rows or offset > self.end or offset + len(rows) < self.first:
            self.replace(offset, rows, total)
            return before - self.first
        start = min(self.first, offset)
        # The page borders or overlaps the rows held: together they leave no gap.
        merged: list[Any] = [None] * (max(self.end, offset + len(rows)) - start)
        merged[self.first - start : self.end - start] = self.rows
        merged[offset - start : offset - start + len(rows)] = rows
        self.rows, self.first = merged, start
        self.rows = self.rows[: max(0, total - start)]  # the list shrank: nothing past its end
        excess = len(self.rows) - self.max_rows
        if excess > 0:
            if keep - self.first >= len(self.rows) // 2:
                del self.rows[:excess]
                self.first += excess
            else:
                del self.rows[self.max_rows :]
        return before - self.first
