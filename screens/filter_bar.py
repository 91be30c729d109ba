"""The filter bar every list has: ``/`` opens it, typing narrows the list, Enter goes back to the
list keeping the filter, Esc clears it (a second Esc goes back to the list).

The bar shows itself only while it is used or a filter is applied (80x24 has no line to
spare), and then says how much of the list the filter lets through. The screen decides what
the filter applies to (:meth:`aptien_ops.screens.base.OpsScreen.filter_changed`).
"""

from __future__ import annotations

import re
from typing import Protocol, runtime_checkable

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Label

from aptien_ops.screens.formatting import count
from aptien_ops.terminal_text import shown

#: Keys that leave the bar and act as themselves: help, and ``/`` again.
ACTS_AS_KEY = re.compile(r"[?/]")


@runtime_checkable
class Filterable(Protocol):
    """A list the bar narrows (screens/lists.py: ListTable)."""

    @property
    def matches(self) -> int: ...

    @property
    def total(self) -> int: ...

    def filter(self, needle: str) -> None: ...


class FilterInput(Input):
    """The bar's input. It hands back keys that cannot be part of a filter.

    A terminal sends Esc and a key typed right after it as one sequence: Textual reads it as
    alt+key, or for punctuation as the key alone, and the Esc is lost, so ``?`` pressed after
    Esc landed in the filter. Such keys (``unfilterable``: a pattern of characters no row
    holds) leave the filter and act as the key they are.
    """

    class Left(Message):
        """Leave the filter, then act on ``key`` as if the list had the focus."""

        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    def __init__(
        self, *, unfilterable: re.Pattern[str] = ACTS_AS_KEY, placeholder: str, id: str | None
    ) -> None:
        super().__init__(placeholder=placeholder, id=id, compact=True)
        self.unfilterable = unfilterable

    def allow_focus(self) -> bool:
        # Only while its bar is shown: a screen's focus moving on (a field disabled, a worker
        # done) must not land in an unused, hidden filter that then takes the keys.
        return self.parent is not None and self.parent.display and super().allow_focus()

    async def _on_key(self, event: events.Key) -> None:
        swallowed_escape = event.key.startswith("alt+")
        unfilterable = (
            event.is_printable
            and event.character is not None
            and self.unfilterable.fullmatch(event.character) is not None
        )
        if swallowed_escape or unfilterable:
            event.stop()
            event.prevent_default()  # Input's own handler would type the character
            self.post_message(self.Left(event.key.removeprefix("alt+")))


class FilterBar(Horizontal):
    """``/`` and the filter's input, then ``N of M shown · filter 'x'`` once one applies.

    ``always_shown``: the bar keeps its line even when unused (the tenants list, whose
    filter is its main tool).
    """

    DEFAULT_CSS = """
    FilterBar { height: 1; padding: 0 1; }
    FilterBar > .filter-bar--slash { width: 2; color: $accent; }
    FilterBar > FilterInput { width: 1fr; }
    FilterBar > .filter-bar--count { width: auto; max-width: 50%; color: $text-muted; }
    """

    class Changed(Message):
        """The filter is now ``needle`` (stripped, lower-cased; blank: no filter)."""

        def __init__(self, bar: FilterBar, needle: str) -> None:
            super().__init__()
            self.bar = bar
            self.needle = needle

    class Done(Message):
        """Enter in the bar: back to the list, keeping the filter."""

    def __init__(
        self,
        placeholder: str = "filter: rows holding this text · Enter keeps it · Esc clears it",
        *,
        always_shown: bool = False,
        unfilterable: re.Pattern[str] = ACTS_AS_KEY,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.placeholder = placeholder
        self.always_shown = always_shown
        self.unfilterable = unfilterable
        # Hidden from the start: a screen's first focus must not land in an unused filter.
        self.display = always_shown

    def compose(self) -> ComposeResult:
        yield Label("/", classes="filter-bar--slash")
        yield FilterInput(
            placeholder=self.placeholder,
            unfilterable=self.unfilterable,
            id=f"{self.id}-input" if self.id else None,
        )
        yield Label(classes="filter-bar--count")

    def on_mount(self) -> None:
        self.input.cursor_blink = getattr(self.app, "cursor_blink", True)
        self._fit()

    @property
    def input(self) -> FilterInput:
        return self.query_one(FilterInput)

    @property
    def needle(self) -> str:
        """The filter applied (stripped, lower-cased; blank: none)."""
        return self.input.value.strip().lower()

    @property
    def editing(self) -> bool:
        return self.input.has_focus

    def open(self) -> None:
        """Show the bar and put the cursor in it, before the next key is read: ``focus()``
        would move it only later, and the keys typed meanwhile would reach the list."""
        self.display = True
        self.screen.set_focus(self.input)

    def clear(self) -> None:
        """Drop the filter (the list shows every row again); unless it is being edited, the bar
        gives its line back."""
        self.input.value = ""
        self._fit()

    def show_count(self, matches: int, total: int) -> None:
        """``3 of 42 shown · filter 'ke'`` while a filter applies; nothing otherwise."""
        label = self.query_one(".filter-bar--count", Label)
        needle = self.needle
        label.update(
            Text(f" {count(matches)} of {count(total)} shown · filter '{shown(needle)}'")
            if needle
            else ""
        )

    def show_found(self, found: int) -> None:
        """``12 found · filter 'ke'`` while a filter applies (the catalog searched every row,
        not only those the list holds); nothing otherwise."""
        label = self.query_one(".filter-bar--count", Label)
        needle = self.needle
        label.update(Text(f" {count(found)} found · filter '{shown(needle)}'") if needle else "")

    def _fit(self) -> None:
        self.display = self.always_shown or self.editing or bool(self.needle)

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.Changed(self, self.needle))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Done())

    @on(Input.Blurred)
    def _blurred(self, event: Input.Blurred) -> None:
        event.stop()
        self._fit()
