"""What every list of the console shares: the keys a k9s or lazygit user moves with, and a
table that keeps every row it was given while showing only those the filter matches.

``/`` (the filter bar, screens/filter_bar.py) narrows a list to the rows whose visible text
holds what was typed, case-insensitive; the screen asks its :class:`ListTable` to apply it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rich.console import RenderableType
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.geometry import Size
from textual.message import Message
from textual.widgets.data_table import RowKey

from aptien_ops.screens.base import OpsTable, highlighted_key, move_to_key
from aptien_ops.screens.columns import ColumnSpec, cell, fit


def list_keys(
    *,
    up: str = "cursor_up",
    down: str = "cursor_down",
    top: str = "scroll_top",
    bottom: str = "scroll_bottom",
) -> list[BindingType]:
    """The moving keys of every list, bound to the list widget's own actions.

    Bound on the list widget, not the screen: they act only while the list has the focus, so
    ``j`` typed into a filter or a form is a letter.
    """
    return [
        Binding("up,k", up, "Up", show=False, tooltip="previous row"),
        Binding("down,j", down, "Down", show=False, tooltip="next row"),
        Binding("home,g", top, "First", show=False, tooltip="first row"),
        Binding("end,G", bottom, "Last", show=False, tooltip="last row"),
    ]


@dataclass(slots=True)
class ListRow:
    """One row as the table shows it, under its key. Rows of a long list are best made in the
    worker that read them: making one costs more than filtering it."""

    key: str
    cells: Sequence[RenderableType]
    """As given; kept as cells that end with ``…`` when their column is narrower."""
    text: str = field(init=False)
    """The row's visible text, lower-cased: what the filter looks in."""

    def __post_init__(self) -> None:
        self.cells = tuple(cell(c) for c in self.cells)
        self.text = " ".join(_plain(c) for c in self.cells).lower()


def _plain(cell: object) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell)


#: Rows a table is handed per frame: filling it takes one short step per frame, however many
#: rows it gets, so a key pressed meanwhile acts at once (DataTable measures every cell).
CHUNK = 40


class ListTable(OpsTable):
    """A row-cursor table that moves with the list keys and shows the rows matching its filter.

    Its columns are ``columns`` (:mod:`screens.columns`): their widths are fitted to the
    table's width whenever rows come in or the terminal is resized.

    ``fill`` hands it every row; it shows those whose visible text holds ``needle`` (at most
    ``limit`` of them: DataTable measures every cell it is given) and keeps the cursor on the
    same row when it can. The rows are added ``CHUNK`` at a time, one chunk per frame:
    ``filling`` is true until the last is in, and the cursor goes to the row it should be on
    when that row arrives.
    """

    BINDINGS = list_keys()

    class Shown(Message):
        """The table shows the rows matching its filter anew (the filter bar counts them)."""

        def __init__(self, table: ListTable) -> None:
            super().__init__()
            self.table = table

    def __init__(
        self,
        columns: Sequence[ColumnSpec] = (),
        *,
        limit: int | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.specs = tuple(columns)
        self.limit = limit
        self.needle = ""
        self._rows: list[ListRow] = []
        self._pending: list[ListRow] = []
        """Matching rows not handed to the table yet (the next chunks)."""
        self._fills = 0
        """Counts the fills: a chunk of an older fill is dropped."""
        self._wanted: str | None = None
        """The row the cursor goes to when it arrives (None: it stays where it is)."""
        self.matches = 0
        """How many rows match the filter (some may be beyond ``limit``)."""

    def on_mount(self) -> None:
        for spec in self.specs:
            title = Text(spec.title, no_wrap=True, overflow="ellipsis")
            self.add_column(title, key=spec.column_key, width=spec.least)

    def on_resize(self) -> None:
        self.fit_columns()

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        super()._update_dimensions(new_rows)
        self.fit_columns()

    def fit_columns(self) -> None:
        """Share the table's width out among its columns (:func:`screens.columns.fit`): what
        the vertical scrollbar and the cells' padding leave."""
        columns = self.ordered_columns
        if not self.specs or len(columns) != len(self.specs) or not self.size.width:
            return
        padding = 2 * self.cell_padding * len(columns)
        room = self.size.width - self.styles.scrollbar_size_vertical - padding
        widths = fit(self.specs, [c.content_width for c in columns], room)
        if all(c.width == w and not c.auto_width for c, w in zip(columns, widths, strict=True)):
            return
        for column, width in zip(columns, widths, strict=True):
            column.width, column.auto_width = width, False
        self._clear_caches()
        total = sum(c.get_render_width(self) for c in columns) + self._row_label_column_width
        self.virtual_size = Size(total, self.virtual_size.height)

    @property
    def total(self) -> int:
        """How many rows the table was given."""
        return len(self._rows)

    @property
    def filling(self) -> bool:
        """Rows are still being handed to the table, a chunk per frame."""
        return bool(self._pending)

    def fill(self, rows: Iterable[ListRow], *, cursor_to: str | None = None) -> None:
        """Replace every row, then show those the filter matches; the cursor stays on its row,
        or goes to ``cursor_to``'s when that is given. Rows the table holds already, in the
        same order with the same cells (a reload that found nothing new), are kept as they
        are: emptying and refilling the table measured every cell again, a frame's chunk at
        a time (a Backups return held the UI thread ~350 ms)."""
        rows = list(rows)
        if rows == self._rows:
            if cursor_to is not None and not self._pending:
                move_to_key(self, cursor_to)
            elif cursor_to is not None:
                self._wanted = cursor_to
            self.post_message(self.Shown(self))
            return
        self._rows = rows
        self._show(cursor_to)

    def append(self, row: ListRow) -> None:
        """Add one row at the end (shown if it matches the filter and there is room)."""
        self.extend((row,))

    def extend(self, rows: Iterable[ListRow]) -> None:
        """Add ``rows`` at the end (those the filter matches, while there is room), keeping
        the cursor where it is; the bar's count is told once. While the table is still being
        filled, they join the rows waiting for their frame."""
        for row in rows:
            self._rows.append(row)
            if self.needle in row.text:
                self.matches += 1
                if self.limit is None or self.row_count + len(self._pending) < self.limit:
                    if self._pending:
                        self._pending.append(row)
                    else:
                        self.add_row(*row.cells, key=row.key)
        self.post_message(self.Shown(self))

    def filter(self, needle: str) -> None:
        """Show only the rows whose visible text holds ``needle`` (any case; blank: all)."""
        self.needle = needle.strip().lower()
        self._show(None)

    def _show(self, cursor_to: str | None) -> None:
        if cursor_to is None:
            # Still filling: the row the cursor was going to may not have arrived yet.
            cursor_to = self._wanted if self._pending else highlighted_key(self)
        self.clear()
        matching = [r for r in self._rows if self.needle in r.text]
        self.matches = len(matching)
        self._pending = matching[: self.limit]
        self._wanted = cursor_to
        self._fills += 1
        self._add_chunk(self._fills)
        self.post_message(self.Shown(self))

    def _add_chunk(self, fill: int) -> None:
        """Hand the table the next ``CHUNK`` rows; the rest after the next frame."""
        if fill != self._fills or not self.is_attached:
            return
        chunk, self._pending = self._pending[:CHUNK], self._pending[CHUNK:]
        for row in chunk:
            self.add_row(*row.cells, key=row.key)
        if self._wanted is not None and self._wanted in self.rows:
            move_to_key(self, self._wanted)
            self._wanted = None
        if self._pending:
            self.call_after_refresh(self._add_chunk, fill)
        else:
            self._wanted = None


class ListScroll(VerticalScroll):
    """A scrolled report (not a table) that moves with the list keys."""

    BINDINGS = list_keys(up="scroll_up", down="scroll_down", top="scroll_home", bottom="scroll_end")
