"""Below the smallest terminal the console is laid out for (60×20), one line asks for a bigger
one instead of a screen whose tables and keys are cut: nothing behind it shows through, and only
quitting works until the terminal is big enough again (then the screen comes back as it was).
The same at start (the command line does not refuse a small terminal) and after a resize: one
minimum, this module's."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Center, Middle
from textual.geometry import Size
from textual.screen import Screen
from textual.widgets import Label

#: The smallest terminal (columns, rows) every screen is laid out for.
MIN_WIDTH, MIN_HEIGHT = 60, 20


def too_small(size: Size) -> bool:
    return size.width < MIN_WIDTH or size.height < MIN_HEIGHT


def ask_for_room(size: Size) -> str:
    """The one line shown instead of the console."""
    return (
        f"Terminal {size.width}×{size.height}: make it {MIN_WIDTH}×{MIN_HEIGHT} or more (q quits)"
    )


class SizeGuard(Screen[None]):
    """Covers the screens while the terminal is too small; leaves by itself once it is not."""

    DEFAULT_CSS = """
    SizeGuard { background: $background; }
    SizeGuard Label { width: 100%; text-align: center; color: $warning; }
    """

    def __init__(self, size: Size) -> None:
        """``size``: the terminal's, as the resize that brought the guard said."""
        super().__init__()
        self.terminal = size

    def compose(self) -> ComposeResult:
        with Middle(), Center():
            yield Label(ask_for_room(self.terminal), id="size-guard")

    def on_resize(self) -> None:
        self.fit()

    def on_screen_resume(self) -> None:
        self.fit()

    def fit(self) -> None:
        """Say the terminal's size, or leave if it is big enough now."""
        if not too_small(self.app.size):
            if self.is_current:
                self.dismiss()
            return
        self.query_one("#size-guard", Label).update(ask_for_room(self.app.size))
