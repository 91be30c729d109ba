"""The footer every screen shows: its keys and, on screens that reload by themselves, when they
last did (``↻ 12:03``, UTC) in place of the command palette's hint (ctrl+p still opens it, and
help lists it): 80 columns hold no more than the keys and one of the two."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Label


class OpsFooter(Footer):
    """Textual's footer with a ``↻ 12:03`` note. The footer recomposes whenever the bindings
    change, so the note is kept here and yielded again each time."""

    DEFAULT_CSS = """
    OpsFooter .ops-footer-refreshed {
        dock: right;
        width: auto;
        padding: 0 1 0 0;
        color: $footer-description-foreground;
        background: $footer-background;
    }
    """

    def __init__(self, every: float) -> None:
        """``every``: seconds between the screen's own reloads (said in the note's tooltip)."""
        super().__init__()
        self.refreshed = ""
        self.every = every
        self._queued = False
        self._composed: tuple[object, ...] | None = None

    def bindings_changed(self, screen: Screen[Any]) -> None:
        """The screen's bindings may have changed: recompose once after the next frame, and
        only if the keys shown differ (a switch of screens refreshes the bindings several
        times; Textual's footer recomposes for each)."""
        self._bindings_ready = True
        if not screen.app.app_focus or not self.is_attached or screen is not self.screen:
            return
        if not self._queued:
            self._queued = True
            self.call_after_refresh(self._recompose_if_changed)

    async def _recompose_if_changed(self) -> None:
        self._queued = False
        if not self.is_attached or self._pruning or self.screen._pruning:
            return  # being removed (as Textual's recompose checks): its screen's widgets too
        if self._shown() != self._composed:
            await self.recompose()

    def _shown(self) -> tuple[object, ...]:
        """What the footer shows: each shown key as the bindings have it, and the note."""
        keys = tuple(
            (binding.key, binding.description, binding.action, enabled, tooltip)
            for _, binding, enabled, tooltip in self.screen.active_bindings.values()
            if binding.show
        )
        return keys, self.refreshed, self.show_command_palette

    def compose(self) -> ComposeResult:
        if self._bindings_ready:
            self._composed = self._shown()
        for widget in super().compose():
            if not (self.refreshed and self._is_palette_hint(widget)):
                yield widget
        if self.refreshed:
            note = Label(classes="ops-footer-refreshed")
            self._say(note)
            yield note

    @staticmethod
    def _is_palette_hint(widget: Widget) -> bool:
        return widget.has_class("-command-palette")

    def show_refreshed(self, hh_mm: str) -> None:
        """Say when the screen's data was last read (``12:03``, UTC)."""
        first = not self.refreshed
        self.refreshed = hh_mm
        if first:
            self.refresh(recompose=True)
            return
        for label in self.query(".ops-footer-refreshed").results(Label):
            self._say(label)

    def _say(self, label: Label) -> None:
        label.update(f"↻ {self.refreshed}")
        label.tooltip = (
            f"read at {self.refreshed} UTC; read again every {self.every:g} s, and on ctrl+r"
        )
