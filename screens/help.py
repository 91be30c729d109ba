"""Help: every key, grouped by screen, read from the bindings themselves so it never drifts."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

from rich.console import Group, RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from aptien_ops.screens.base import CLEAR_FILTER, FILTER
from aptien_ops.screens.columns import ColumnSpec, SpecGrid
from aptien_ops.screens.lists import list_keys

if TYPE_CHECKING:
    from aptien_ops.screens.app import OpsApp


#: The keys as wide as the widest (they wrap when even that does not fit), what they do
#: takes the rest and wraps.
HELP_COLUMNS = (
    ColumnSpec("Keys", 6, wrap=True),
    ColumnSpec("What", 20, share=1, wrap=True),
)


def key_label(key: str) -> str:
    """``/``, ``Esc``, ``+``: a binding's keys as the operator reads them."""
    names = {
        "slash": "/",
        "question_mark": "?",
        "exclamation_mark": "!",
        "escape": "Esc",
        "enter": "Enter",
        "plus": "+",
        "up": "↑",
        "down": "↓",
        "home": "Home",
        "end": "End",
    }
    return ", ".join(names.get(k, k) for k in key.split(","))


def key_rows(bindings: list[BindingType]) -> list[tuple[str, str]]:
    """(keys, what they do) of the bindings that have a description."""
    rows = []
    for b in bindings:
        if isinstance(b, Binding) and b.description:
            rows.append((key_label(b.key), b.tooltip or b.description))
    return rows


def key_sections(app: OpsApp) -> list[tuple[str, list[tuple[str, str]]]]:
    """(section title, [(keys, what they do)]) for the app, each screen, and dialogs."""
    everywhere = [(key_label(key), f"go to {title}") for key, _mode, title in app.navigation()]
    everywhere += key_rows(
        [b for b in app.BINDINGS if isinstance(b, Binding) and not b.action.startswith("goto")]
    )
    everywhere.append(("ctrl+p", "command palette: every screen and action by name"))
    lists = key_rows(list_keys()) + [
        ("/", "filter: only the rows holding what you type"),
        ("Esc", "clear the filter; again: back to the list"),
        ("Enter", "open the highlighted row (in the filter: back to the list)"),
    ]
    sections = [("Everywhere", everywhere), ("Every list", lists)]
    for screen_class in app.screen_classes():
        # The filter's keys are the same on every list: "Every list" has them once.
        rows = key_rows([b for b in screen_class.BINDINGS if b not in (FILTER, CLEAR_FILTER)])
        if rows:
            sections.append((screen_class.TITLE, rows))
        sections += screen_class.help_sections()
        detail = screen_class.DETAIL_SCREEN
        if detail is not None:
            sections.append(
                (detail.TITLE, key_rows(list(detail.BINDINGS)))
            )  # opened by Enter, listed just above
            sections += detail.help_sections()
    sections.append(
        (
            "Dialogs",
            [
                ("Tab", "next field or button"),
                ("Enter", "choose / submit"),
                ("↑, ↓", "pick a country while typing its name (provision)"),
                ("y, n", "yes / no in a confirmation"),
                ("Esc", "back out; nothing changes"),
            ],
        )
    )
    return sections


class HelpScreen(ModalScreen[None]):
    """Keys per screen. Esc, q, ? or F1 closes it."""

    CSS_PATH = Path(__file__).with_name("help.tcss")
    BINDINGS = [Binding("escape,q,question_mark,f1", "close", "Close")]

    def compose(self) -> ComposeResult:
        sections = key_sections(cast("OpsApp", self.app))
        every = [(key, what) for _, keys in sections for key, what in keys]
        parts: list[RenderableType] = []
        for n, (title, keys) in enumerate(sections):
            parts += [Text("")] if n else []
            parts.append(Text(title, style="underline"))
            rows = [(Text(key, style="bold"), what) for key, what in keys]
            # Sized by every section's keys: the columns line up from one to the next.
            parts.append(SpecGrid(HELP_COLUMNS, rows, header=False, gap=1, measure=every))
        with VerticalScroll(id="help-box") as box:
            box.border_title = "Keys"
            box.border_subtitle = "↑↓ scroll · Esc closes"
            yield Static(Group(*parts), id="help-keys")

    def action_close(self) -> None:
        self.dismiss(None)
