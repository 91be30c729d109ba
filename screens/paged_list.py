"""A list the catalog filters, orders, counts and pages (tenants): the screen holds a
:class:`~screens.page_window.PageWindow` drawn by a virtual table and reads the page the
cursor nears, so a switch to it reads one page however large the fleet.

A subclass says how to read a page (:meth:`PagedListScreen.page_reader`) and what a row's key
is; the reads, the order in which their answers are taken, and the cursor's place (kept on
its row through a reload, a new filter or a new order) are handled here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from textual import on

from aptien_ops.screens.event_table import EventTable
from aptien_ops.screens.list_filter import CatalogFilteredScreen
from aptien_ops.screens.page_window import PAGE_ROWS, PageSlice, PageWindow

#: Read a page: (offset, rows, around a key or None) -> the call a worker makes.
PageReader = Callable[[int, int, str | None], Callable[[], PageSlice[Any]]]


class PagedTable(EventTable):
    """The virtual table over a window paged from the catalog (the tenants, the ops log): End
    goes to the last row of the whole list (not the last one read), asking for the last page
    when it is not held."""

    def action_bottom(self) -> None:
        if self.window.has_after:
            self.post_message(self.Wanted(self, "bottom"))
        else:
            self.move_to(self.window.end - 1)


class PagedListScreen(CatalogFilteredScreen):
    """A screen whose list is a :class:`PagedTable` over ``self.window``."""

    PAGE_ROWS: ClassVar[int] = PAGE_ROWS

    def __init__(self) -> None:
        super().__init__()
        self.window: PageWindow[Any] = PageWindow()
        #: Which read is on its way ("first", "after", "before", "top", "bottom", "again").
        self.pending: str | None = None
        #: Rows in the list before the filter, as the last page said.
        self.whole = 0
        self._generation = 0
        #: Put the cursor on this key's row once the next read is in.
        self.cursor_to: str | None = None

    # -- what a subclass says --------------------------------------------------------------

    def page_reader(self) -> PageReader:
        """How to read a page of the list as it is filtered and ordered now."""
        raise NotImplementedError

    def row_key(self, row: Any) -> str:
        raise NotImplementedError

    def page_taken(self) -> None:
        """A page is in: show the status and the highlighted row's detail."""

    @property
    def table(self) -> PagedTable:
        return self.query_one(PagedTable)

    # -- reading pages ---------------------------------------------------------------------

    def refresh_data(self) -> None:
        """Read the rows around the cursor again (the first page the first time)."""
        self.read_list("again" if self.window.read else "first")

    def filter_applied(self) -> None:
        self.read_list("again")

    def read_list(self, what: str, offset: int = 0) -> None:
        """Read a page in a worker; ``what`` says what to do with it when it is in. "again"
        reads the page around the highlighted row (or the one to go to)."""
        around = None
        if what == "again":
            around = self.cursor_to or self._highlighted_key()
            offset = self.window.first
        self._generation += 1
        generation, self.pending = self._generation, what
        read = self.page_reader()(offset, self.PAGE_ROWS, around)
        self.load(read, lambda page: self._take(generation, what, page))
        self.page_taken()

    def _highlighted_key(self) -> str | None:
        row = self.table.highlighted
        return None if row is None else self.row_key(row)

    @on(EventTable.Wanted)
    def _wanted(self, event: EventTable.Wanted) -> None:
        event.stop()
        window, direction = self.window, event.direction
        if direction == "top":
            self.read_list("top")
        elif direction == "bottom":
            self.read_list("bottom", max(0, window.total - self.PAGE_ROWS))
        elif self.pending is None and direction == "after" and window.has_after:
            self.read_list("after", window.end)
        elif self.pending is None and direction == "before" and window.has_before:
            self.read_list("before", max(0, window.first - self.PAGE_ROWS))

    def _take(self, generation: int, what: str, page: PageSlice[Any]) -> None:
        if generation != self._generation:
            return  # a later read was asked for; its answer is what counts
        self.pending = None
        self.whole = page.whole
        table, window = self.table, self.window
        if what in ("after", "before"):
            moved = window.merge(page.offset, page.rows, page.total, keep=table.cursor)
            table.window_changed(added_above=max(0, moved), dropped_above=max(0, -moved))
        else:
            wanted, self.cursor_to = self.cursor_to or self._highlighted_key(), None
            window.replace(page.offset, page.rows, page.total)
            table.reset()
            if what == "bottom":
                table.move_to(window.end - 1)
                return self._taken()
            at = None
            if what == "again" and wanted is not None:
                at = window.position_of(lambda row: self.row_key(row) == wanted)
            table.move_to(window.first if at is None else at)
        self._taken()

    def _taken(self) -> None:
        self.page_taken()
        self.table.check_edges()  # the cursor may already be near the new edge
        self.show_found(self.window.total)
