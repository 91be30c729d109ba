"""The footer every screen shows: its keys, and on screens that refresh by themselves when
they last did (``refreshed 12:03 UTC``), at the right before the palette key."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer, Label


class OpsFooter(Footer):
    """Textual's footer with a ``refreshed …`` note; the footer recomposes whenever the
    bindings change, so the note is kept here and yielded again each time."""

    DEFAULT_CSS = """
    OpsFooter .ops-footer-refreshed {
        dock: right;
        width: auto;
        padding: 0 1;
        color: $footer-description-foreground;
        background: $footer-background;
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self.refreshed = ""

    def compose(self) -> ComposeResult:
        yield from super().compose()
        if self.refreshed:
            yield Label(self.refreshed, classes="ops-footer-refreshed")

    def show_refreshed(self, text: str) -> None:
        """Say when the screen's data was last read (the note is created on first use)."""
        first = not self.refreshed
        self.refreshed = text
        if first:
            self.refresh(recompose=True)
        else:
            for label in self.query(".ops-footer-refreshed").results(Label):
                label.update(text)
