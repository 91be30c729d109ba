"""A list whose highlighted row is summed up in a pane under it, and opened in full with Enter
(the partners, the incidents): the table (``#<MODE>-table``), the pane (``#<MODE>-detail``),
and the summaries the worker made with the rows."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.widgets import DataTable, Static

from aptien_ops.screens.base import OpsScreen, highlighted_key
from aptien_ops.screens.lists import ListTable


class SummaryListScreen(OpsScreen):
    """Subclasses set ``NOUN`` (``partner``), ``NONE_YET`` (what the pane says of an empty
    list) and ``DETAIL_SCREEN`` (built from the highlighted row's key), and keep
    ``summaries`` (a line per row key) and ``listed`` (how many rows) up to date."""

    NOUN: ClassVar[str] = ""
    NONE_YET: ClassVar[str] = ""

    def __init__(self) -> None:
        super().__init__()
        self.summaries: dict[str, Text] = {}
        self.listed = 0

    def selected(self) -> str | None:
        return highlighted_key(self.query_one(ListTable))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_summary(event.row_key.value)

    def show_summary(self, key: str | None) -> None:
        """The summary of the row ``key`` in the pane (or what there is to say instead)."""
        pane = self.query_one(f"#{self.MODE}-detail", Static)
        line = self.summaries.get(key or "")
        if line is not None:
            pane.update(line)
        else:
            pane.update(self.no_summary())

    def no_summary(self) -> str:
        return f"No {self.NOUN} selected." if self.listed else self.NONE_YET

    def action_open_detail(self, then: str = "") -> None:
        key = self.selected()
        if key is None:
            self.notify(f"no {self.NOUN} selected", severity="warning")
            return
        self.app.push_screen(self.open_screen(key, then))

    def open_screen(self, key: str, then: str) -> OpsScreen:
        """The detail of the row ``key``; ``then``: an action to run there (the palette's)."""
        assert self.DETAIL_SCREEN is not None
        return self.DETAIL_SCREEN(key)
