"""A virtual table over an :class:`~screens.event_window.EventWindow`: draws only the lines on
screen, so holding 2,000 rows costs nothing per frame (DataTable would measure every cell).
Its lines are segments written as they are: every cell passes through ``shown`` first.

It never loads anything itself: when the cursor or the view nears an edge of the window it
posts :class:`EventTable.Wanted`, and the screen that owns the window loads the next page in a
worker and calls :meth:`EventTable.window_changed`. Positions are absolute (0 is the newest
event of the query), so the cursor stays on its row while pages come and go around it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from aptien_ops.screens.columns import ColumnSpec, fit
from aptien_ops.screens.lists import list_keys
from aptien_ops.terminal_text import shown

#: Ask for the next page when the cursor or the view comes this close to an edge of the window.
LOOKAHEAD = 60


class RowWindow(Protocol):
    """What the table reads of the rows it shows: a run of rows at absolute positions
    (:class:`~screens.event_window.EventWindow`, :class:`~screens.opslog_window.LogWindow`)."""

    def __len__(self) -> int: ...

    @property
    def first(self) -> int:
        """Absolute position of the first row held."""
        ...

    @property
    def end(self) -> int:
        """Absolute position just past the last row held."""
        ...

    @property
    def has_before(self) -> bool:
        """Whether rows exist above the window (newer)."""
        ...

    @property
    def has_after(self) -> bool:
        """Whether rows exist below the window (older)."""
        ...

    def row(self, position: int) -> Any | None: ...


@dataclass(frozen=True, kw_only=True)
class Column(ColumnSpec):
    """A column (:class:`~screens.columns.ColumnSpec`) and what it shows of a row.

    The table measures the rows it draws (not the pages it holds): a column grows to the
    widest value drawn so far, as :func:`~screens.columns.fit` allows.
    """

    value: Callable[[Any], str]
    #: The colour of a row's cell (a Rich style, e.g. a tenant state's), on rows without the
    #: cursor; None: the row's own style.
    colour: Callable[[Any], str] | None = None


def column_widths(
    columns: Sequence[Column], width: int, natural: Sequence[int] | None = None
) -> list[int]:
    """Each column's width on a line ``width`` cells wide (one space before each column),
    ``natural`` its widest value drawn (by default: its title)."""
    widest = natural if natural is not None else [len(c.title) for c in columns]
    return fit(columns, widest, width - len(columns))


def _cell(text: str, width: int) -> str:
    """``text`` padded or cut to ``width`` cells, with an ellipsis where it was cut."""
    if len(text) <= width:
        return text.ljust(width)
    return text[: max(0, width - 1)] + "…" if width else ""


class EventTable(ScrollView, can_focus=True):
    """Rows of a window with a header line and a row cursor; ↑↓ PgUp PgDn Home End move it."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "event-table--header",
        "event-table--cursor",
        "event-table--alert",
        "event-table--cursor-alert",
    }
    DEFAULT_CSS = """
    EventTable { background: $surface; overflow-x: hidden; scrollbar-size-vertical: 1; }
    EventTable > .event-table--header { text-style: bold; color: $text-accent; }
    EventTable > .event-table--alert { color: $text-error; }
    EventTable > .event-table--cursor { background: $block-cursor-blurred-background; }
    EventTable:focus > .event-table--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
    }
    EventTable > .event-table--cursor-alert {
        background: $block-cursor-blurred-background;
        color: $text-error;
    }
    EventTable:focus > .event-table--cursor-alert {
        background: $error;
        color: $block-cursor-foreground;
    }
    """
    BINDINGS = [
        *list_keys(up="move(-1)", down="move(1)", top="top", bottom="bottom"),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
    ]

    class Highlighted(Message):
        """The cursor is on ``row`` (None: the window is empty)."""

        def __init__(self, table: EventTable, row: Any | None) -> None:
            super().__init__()
            self.table = table
            self.row = row

    class Wanted(Message):
        """More rows are wanted: ``"after"`` (older), ``"before"`` (newer) or ``"top"`` (start
        over)."""

        def __init__(self, table: EventTable, direction: str) -> None:
            super().__init__()
            self.table = table
            self.direction = direction

    def __init__(
        self,
        columns: Sequence[Column],
        window: RowWindow,
        *,
        alert: Callable[[Any], bool] | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.columns = tuple(columns)
        self.window = window
        self.alert = alert or (lambda row: False)
        #: Each column's widest value drawn since the last :meth:`reset` (its title at least).
        self.natural = [len(c.title) for c in self.columns]
        #: Absolute position of the highlighted row.
        self.cursor = 0

    # -- the window changed ----------------------------------------------------------------

    def window_changed(self, added_above: int = 0, dropped_above: int = 0) -> None:
        """Call after the window took a page in: keeps the same rows on screen."""
        offset = round(self.scroll_y) + added_above - dropped_above
        self.virtual_size = Size(self.size.width, len(self.window) + 1)
        self.scroll_to(y=max(0, offset), animate=False, force=True)
        if len(self.window):
            self.cursor = min(max(self.cursor, self.window.first), self.window.end - 1)
        self.refresh()
        self._highlight()

    def reset(self) -> None:
        """Back to the newest row (the window was cleared for a new query)."""
        self.cursor = 0
        self.natural = [len(c.title) for c in self.columns]
        self.virtual_size = Size(self.size.width, len(self.window) + 1)
        self.scroll_to(y=0, animate=False, force=True)
        self.refresh()
        self._highlight()

    def on_screen(self) -> tuple[int, int]:
        """Absolute positions of the first row on screen and just past the last."""
        top = self.window.first + round(self.scroll_y)
        return top, min(self.window.end, top + self._body_height)

    @property
    def highlighted(self) -> Any | None:
        return self.window.row(self.cursor)

    def _highlight(self) -> None:
        self.post_message(self.Highlighted(self, self.highlighted))

    # -- moving ----------------------------------------------------------------------------

    @property
    def _body_height(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)  # less the header line

    def move_to(self, position: int) -> None:
        """Put the cursor on ``position`` (clamped to the window) and scroll it into view."""
        if not len(self.window):
            return
        target = min(max(position, self.window.first), self.window.end - 1)
        changed = target != self.cursor
        self.cursor = target
        offset = target - self.window.first
        top = round(self.scroll_y)
        if offset < top:
            self.scroll_to(y=offset, animate=False, force=True)
        elif offset >= top + self._body_height:
            self.scroll_to(y=offset - self._body_height + 1, animate=False, force=True)
        self.refresh()
        if changed:
            self._highlight()
        self.check_edges()

    def action_move(self, rows: int) -> None:
        self.move_to(self.cursor + rows)

    def action_page(self, pages: int) -> None:
        self.move_to(self.cursor + pages * self._body_height)

    def action_top(self) -> None:
        if self.window.has_before:
            self.post_message(self.Wanted(self, "top"))
        else:
            self.move_to(0)

    def action_bottom(self) -> None:
        self.move_to(self.window.end - 1)

    def check_edges(self) -> None:
        """Ask for the next page if the cursor or the view is near an edge of the window."""
        top = self.window.first + round(self.scroll_y)
        bottom = top + self._body_height
        if self.window.has_after and max(self.cursor, bottom) >= self.window.end - LOOKAHEAD:
            self.post_message(self.Wanted(self, "after"))
        elif self.window.has_before and min(self.cursor, top) < self.window.first + LOOKAHEAD:
            self.post_message(self.Wanted(self, "before"))

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if round(old_value) != round(new_value):
            self.check_edges()  # the mouse wheel scrolls without moving the cursor

    def on_click(self, event: events.Click) -> None:
        if event.y >= 1:
            self.move_to(self.window.first + round(self.scroll_y) + event.y - 1)

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, len(self.window) + 1)

    # -- drawing ---------------------------------------------------------------------------

    def _widths(self, width: int) -> list[int]:
        return column_widths(self.columns, width, self.natural)

    def _measured(self, cells: Sequence[str]) -> None:
        """A drawn row's cells: a column whose widest value grew is fitted again (the whole
        table is drawn anew after this frame)."""
        grown = False
        for i, value in enumerate(cells):
            if len(value) > self.natural[i]:
                self.natural[i] = len(value)
                grown = True
        if grown:
            self.call_after_refresh(self.refresh)

    def _line(self, cells: Sequence[str], widths: Sequence[int], width: int) -> str:
        text = "".join(" " + _cell(cell, w) for cell, w in zip(cells, widths, strict=True))
        return _cell(text, width)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        widths = self._widths(width)
        if y == 0:
            style = self.get_component_rich_style("event-table--header")
            return Strip(
                [Segment(self._line([c.title for c in self.columns], widths, width), style)], width
            )
        position = self.window.first + round(self.scroll_y) + y - 1
        row = self.window.row(position)
        if row is None:
            return Strip.blank(width, self.rich_style)
        alert = self.alert(row)
        if position == self.cursor:
            name: str | None = "event-table--cursor-alert" if alert else "event-table--cursor"
        else:
            name = "event-table--alert" if alert else None
        style = self.rich_style + self.get_component_rich_style(name) if name else self.rich_style
        cells = [shown(c.value(row)) for c in self.columns]
        self._measured(cells)
        if name is not None or not any(c.colour for c in self.columns):
            return Strip([Segment(self._line(cells, widths, width), style)], width)
        segments = []
        for column, cell, w in zip(self.columns, cells, widths, strict=True):
            colour = column.colour(row) if column.colour else ""
            segments.append(
                Segment(" " + _cell(cell, w), style + Style.parse(colour) if colour else style)
            )
        return Strip(segments, width).crop_extend(0, width, style)
