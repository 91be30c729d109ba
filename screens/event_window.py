"""A bounded window onto a tenant's events, newest first, paged by the service's keyset cursor.

The window holds whole pages. Scrolling down appends the next page and, past ``max_rows``,
drops pages from the top; scrolling back up reloads a dropped page from the cursor it
started at and drops pages from the bottom. Only those start cursors (a few dozen bytes per
page) are kept for every page ever read, so memory stays bounded however far the operator
scrolls: 100,000 rows in pages of 200 keep 500 cursors and at most ``max_rows`` events.

Pure Python (no Textual): the virtual table renders it, the screen feeds it pages.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Generic, TypeVar

Row = TypeVar("Row")

#: Rows asked for per page: few enough to arrive in milliseconds, enough to scroll a screenful.
PAGE_ROWS = 200
#: Rows held at most (ten pages): DataTable-free rendering draws only the visible ones.
MAX_ROWS = 2_000


@dataclass(frozen=True)
class WindowPage(Generic[Row]):
    """Page ``number`` (0 is the newest), the rows it holds and the cursor after it."""

    number: int
    rows: list[Row]
    next_cursor: str | None


class EventWindow(Generic[Row]):
    """Consecutive pages of one query; row positions are absolute (0 is the newest event).

    Every page but the last of the query holds exactly ``page_rows`` rows, so page ``n``
    starts at row ``n * page_rows``.
    """

    def __init__(self, page_rows: int = PAGE_ROWS, max_rows: int = MAX_ROWS) -> None:
        """Raises: ValueError if the window cannot hold two pages."""
        if page_rows < 1 or max_rows < 2 * page_rows:
            raise ValueError("the window must hold at least two pages")
        self.page_rows = page_rows
        self.max_rows = max_rows
        self._pages: deque[WindowPage[Row]] = deque()
        #: Start cursor of every page read so far (page 0 starts at None: the newest row).
        self._starts: list[str | None] = [None]
        self._rows = 0

    # -- what is held ----------------------------------------------------------------------

    def __len__(self) -> int:
        return self._rows

    @property
    def first(self) -> int:
        """Absolute position of the first row held (0 when the window starts at the newest)."""
        return self._pages[0].number * self.page_rows if self._pages else 0

    @property
    def end(self) -> int:
        """Absolute position just past the last row held."""
        return self.first + self._rows

    @property
    def cursors_kept(self) -> int:
        """Start cursors kept, one per page reached so far (the only thing that grows)."""
        return len(self._starts)

    def row(self, position: int) -> Row | None:
        """The row at absolute ``position``, or None if it is not held."""
        offset = position - self.first
        if not 0 <= offset < self._rows:
            return None
        for page in self._pages:
            if offset < len(page.rows):
                return page.rows[offset]
            offset -= len(page.rows)
        return None

    def rows(self, start: int, stop: int) -> list[Row]:
        """Held rows with absolute positions in ``[start, stop)``."""
        found: list[Row] = []
        position = self.first
        for page in self._pages:
            page_end = position + len(page.rows)
            if page_end > start and position < stop:
                found.extend(
                    page.rows[max(0, start - position) : min(len(page.rows), stop - position)]
                )
            position = page_end
        return found

    # -- where the next page comes from ----------------------------------------------------

    @property
    def has_after(self) -> bool:
        """Whether older rows exist below the window (the last page has a next cursor)."""
        return bool(self._pages) and self._pages[-1].next_cursor is not None

    @property
    def has_before(self) -> bool:
        """Whether newer rows were dropped above the window."""
        return bool(self._pages) and self._pages[0].number > 0

    def next_request(self) -> tuple[int, str | None] | None:
        """(page number, cursor) of the page below the window; None at the oldest row."""
        if not self._pages:
            return 0, None
        last = self._pages[-1]
        return (last.number + 1, last.next_cursor) if last.next_cursor is not None else None

    def previous_request(self) -> tuple[int, str | None] | None:
        """(page number, cursor) of the page above the window; None at the newest row."""
        if not self.has_before:
            return None
        number = self._pages[0].number - 1
        return number, self._starts[number]

    # -- taking pages in -------------------------------------------------------------------

    def add(self, number: int, rows: list[Row], next_cursor: str | None) -> tuple[int, int]:
        """Take page ``number`` in, below or above the window, and drop pages beyond ``max_rows``
        from the other end. Returns (rows dropped from the top, rows dropped from the bottom).

        Raises: ValueError for a page that does not border the window (a stale answer).
        """
        page = WindowPage(number, rows, next_cursor)
        if not self._pages and number == 0 or self._pages and number == self._pages[-1].number + 1:
            self._pages.append(page)
            self._rows += len(rows)
            if next_cursor is not None and number + 1 == len(self._starts):
                self._starts.append(next_cursor)
            dropped = 0
            while self._rows > self.max_rows and len(self._pages) > 1:
                dropped += self._drop(self._pages.popleft())
            return dropped, 0
        if self._pages and number == self._pages[0].number - 1:
            self._pages.appendleft(page)
            self._rows += len(rows)
            dropped = 0
            while self._rows > self.max_rows and len(self._pages) > 1:
                dropped += self._drop(self._pages.pop())
            return 0, dropped
        raise ValueError(f"page {number} does not border the window")

    def _drop(self, page: WindowPage[Row]) -> int:
        self._rows -= len(page.rows)
        return len(page.rows)

    def clear(self) -> None:
        """Forget every page and cursor (new filters, or back to the newest row)."""
        self._pages.clear()
        self._starts = [None]
        self._rows = 0
