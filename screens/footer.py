"""The footer every screen shows: its keys and, on screens that reload by themselves, when they
last did (``↻ 12:03``, UTC) in place of the command palette's hint (ctrl+p still opens it, and
help lists it): 80 columns hold no more than the keys and one of the two."""

from __future__ import annotations

from textual.app import ComposeResult
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

    def compose(self) -> ComposeResult:
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
