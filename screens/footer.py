"""The footer every screen shows: its keys and, on screens that reload by themselves, when they
last did (``↻ 12:03``, UTC) in place of the command palette's hint (ctrl+p still opens it, and
help lists it): 80 columns hold no more than the keys and one of the two.

The keys that fit the width are shown, in the order the screen lists its bindings (its own
first, most used first; the app's after them); when some do not fit, the palette's hint goes
first, then the keys last in that order, and help's key says ``? more…``: it lists them all.
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Label
from textual.widgets._footer import FooterKey

#: The action of help's key, which stays in the footer whatever the width.
HELP_ACTION = "help"
#: What help's key says when some keys do not fit.
MORE = "more…"


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
        widgets = list(super().compose())
        hints = [w for w in widgets if self._is_palette_hint(w)]
        keys = [w for w in widgets if isinstance(w, FooterKey) and w not in hints]
        others = [w for w in widgets if not isinstance(w, FooterKey)]  # none so far: keep them
        width = self.size.width or self.app.size.width
        right = len(f"↻ {self.refreshed} ") if self.refreshed else sum(map(_hint_width, hints))
        if self.refreshed or sum(map(_width, keys)) + right > width:
            hints = []  # ctrl+p still opens the palette; help says so
        yield from others
        shown, help_key = fit(keys, width - (right if self.refreshed or hints else 0))
        yield from shown
        if help_key is not None:
            yield FooterKey(
                help_key.key,
                help_key.key_display,
                MORE,
                help_key.action,
                tooltip="every key of this screen, and the command palette (ctrl+p)",
            ).data_bind(compact=Footer.compact)
        yield from hints
        if self.refreshed:
            note = Label(classes="ops-footer-refreshed")
            self._say(note)
            yield note

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != getattr(self, "_fitted_to", None):
            self._fitted_to = event.size.width
            self.refresh(recompose=True)

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
        every = f"every {self.every:g} s, and " if self.every else ""
        label.tooltip = f"read at {self.refreshed} UTC; read again {every}on r (or ctrl+r)"


def _width(key: Widget) -> int:
    """The cells a footer key takes: `` k Label `` (Textual's padding around both)."""
    assert isinstance(key, FooterKey)
    return cell_len(key.key_display) + cell_len(key.description) + 3


def _hint_width(hint: Widget) -> int:
    """The cells the palette's hint takes: ``▏^p palette `` (compact, a border, a pad)."""
    assert isinstance(hint, FooterKey)
    return cell_len(hint.key_display) + cell_len(hint.description) + 3


def fit(keys: list[FooterKey], width: int) -> tuple[list[FooterKey], FooterKey | None]:
    """The ``keys`` that fit ``width`` cells: all of them if they fit; else the first ones in
    their order that fit beside help's key, which is returned apart (to say ``more…``)."""
    if sum(map(_width, keys)) <= width:
        return keys, None
    helps = [k for k in keys if k.action == HELP_ACTION]
    room = width - sum(_width(k) + len(MORE) - len(k.description) for k in helps[:1])
    shown: list[FooterKey] = []
    for key in (k for k in keys if k not in helps):
        room -= _width(key)
        if room < 0:
            break
        shown.append(key)
    return shown, (helps[0] if helps else None)
