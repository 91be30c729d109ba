"""The provision form's country: a search box, its matches, and a line saying which country
and region Provision will use.

The country is what the operator sees in the box: its ISO code or exact name (the core's rule,
:mod:`aptien_ops.country_names`), else the match they picked with ↑↓, Enter in the list or a
click, for that very text. Anything else (ambiguous or unknown) is refused in the form.

Keys arrive in bursts (a paste without bracketed paste, a slow SSH link), so nothing is taken
from an event that may be older than the text: every change of the text counts as an edit,
each listed option and each pick carries the edit it belongs to, and a late highlight from an
earlier prefix is ignored. Submit re-resolves the text as it is (:meth:`CountryField.confirm`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from aptien_ops.countries import quoted
from aptien_ops.country_names import CountryLookup
from aptien_ops.errors import InvalidInput, OpsError
from aptien_ops.regions import RegionResolver, Resolution

#: Matches listed under the box (it shows five at a time and scrolls).
COUNTRY_MATCHES = 40
#: The longest country text the form quotes whole.
COUNTRY_QUOTED = 24
EMPTY = "chosen by the country: its name or code"


def country_line(resolution: Resolution) -> Text:
    """``→ Germany (DE) · region eu (UN M49 Europe)``: what will be used, and the rule."""
    country = resolution.country
    # The rule ends in "→ region"; the region is already said once.
    why = resolution.rule.replace(f" → {resolution.region}", "", 1)
    text = Text()
    text.append(f"→ {country.name} ({country.alpha2}) · region {resolution.region}", style="bold")
    text.append(f" ({why})", style="dim")
    return text


def form_row(label: str, field: Widget, *, id: str | None = None) -> Horizontal:
    """One row of the provision form: its label, then the field."""
    return Horizontal(
        Label(label, classes="provision-label"), field, classes="provision-row", id=id
    )


class CountrySearch(Input):
    """The country search box. ``edits`` counts every change of its text as it happens; ↑↓
    pick among the matches below it without leaving the box.

    The arrows are handled here, in order with the typed keys, and call ``moved(delta)`` at
    once: an app binding would run only once the key had bubbled up, possibly after keys
    typed later had changed the text (and the list).
    """

    def __init__(self, moved: Callable[[int], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.moved = moved
        self.edits = 0

    def watch_value(self) -> None:
        self.edits += 1

    def key_down(self, event: events.Key) -> None:
        self._move(event, 1)

    def key_up(self, event: events.Key) -> None:
        self._move(event, -1)

    def _move(self, event: events.Key, delta: int) -> None:
        event.stop()
        event.prevent_default()
        self.moved(delta)


@dataclass(frozen=True)
class CountryPick:
    """The match the operator picked for the text at edit ``edits``: it counts only while
    the text is still at that edit, and only if the text still matches it."""

    alpha2: str
    edits: int


class CountryField(Vertical):
    """The search box (``#provision-country``), its matches and the line under them."""

    def __init__(self, resolver: RegionResolver, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.resolver = resolver
        self._pick: CountryPick | None = None
        #: The box's edit the match list was made for.
        self._listed_at = 0

    def compose(self) -> ComposeResult:
        yield form_row(
            "Country",
            CountrySearch(
                self._moved,
                placeholder="name or code, e.g. Germany or DE",
                id="provision-country",
                compact=True,
            ),
        )
        yield OptionList(id="provision-countries", compact=True)
        yield form_row(
            "",
            Static(Text(EMPTY, style="dim"), id="provision-region"),
            id="provision-region-row",
        )

    def on_mount(self) -> None:
        self.query_one("#provision-countries").display = False

    @property
    def search(self) -> CountrySearch:
        return self.query_one("#provision-country", CountrySearch)

    def confirm(self) -> Resolution | None:
        """What Submit uses: re-resolved from the text as it is now. On a refusal the line
        under the box says why (in red) and the box has the focus again."""
        self._list_matches()
        resolution = self._show(refused=True)
        if resolution is None:
            self.search.focus()
        return resolution

    # -- keeping the list and the line in step with the text --------------------------------

    @on(Input.Changed, "#provision-country")
    def _changed(self) -> None:
        # Not ``event.value``: a burst of keys can deliver Changed events late or out of
        # order; the box itself has the text the operator sees.
        if self._list_matches():
            self._show()

    def _lookup(self) -> CountryLookup:
        return self.resolver.lookup(self.search.value, COUNTRY_MATCHES)

    def _list_matches(self) -> bool:
        """List the matches of the text as it is now, once per edit (False: listed already);
        an exact code or name needs no list. Each option carries the edit it was listed for."""
        edits = self.search.edits
        if self._listed_at == edits:
            return False
        self._listed_at, self._pick = edits, None
        found = self._lookup()
        options = self.query_one("#provision-countries", OptionList)
        shown = [] if found.exact is not None or not found.text else found.matches
        options.set_options(
            [Option(f"{c.alpha2}  {c.name}", id=f"{edits}:{c.alpha2}") for c in shown]
        )
        options.display = bool(shown)
        return True

    def _choice(self) -> Resolution | OpsError:
        """The country and region Provision would use now, or why there is none: the text's
        code or exact name, else the operator's pick if made for this very text."""
        found = self._lookup()
        country = found.exact
        pick = self._pick
        if country is None and pick is not None and pick.edits == self.search.edits:
            country = next((c for c in found.matches if c.alpha2 == pick.alpha2), None)
        if country is None:
            return _asks(found)
        try:
            return self.resolver.resolve(country.alpha2)
        except OpsError as error:
            return error

    def _show(self, *, refused: bool = False) -> Resolution | None:
        """Say under the box what Provision would use (or why nothing); ``refused``: Submit
        was just refused. Returns the country's resolution if there is one."""
        choice = self._choice()
        line = self.query_one("#provision-region", Static)
        if isinstance(choice, Resolution):
            line.update(country_line(choice))
            return choice
        if not self.search.value.strip() and not refused:
            line.update(Text(EMPTY, style="dim"))
        else:
            mark, style = ("✗ ", "bold red") if refused else ("? ", "yellow")
            line.update(Text(mark + choice.one_line(), style=style))
        return None

    # -- the operator's pick ----------------------------------------------------------------

    def _picked(self, option: Option) -> bool:
        """Take ``option`` as the operator's pick if it was listed for the text as it is now."""
        edits, _, alpha2 = (option.id or "").partition(":")
        if edits != str(self.search.edits) or self._listed_at != self.search.edits:
            return False  # listed for an older text: a late event, not the operator's choice
        self._pick = CountryPick(alpha2, self.search.edits)
        self._show()
        return True

    def _moved(self, delta: int) -> None:
        """↑ or ↓ in the box (called in order with the keys typed into it)."""
        self._list_matches()
        options = self.query_one("#provision-countries", OptionList)
        if not options.option_count:
            return
        current = options.highlighted
        start = -1 if current is None and delta > 0 else (current or 0)
        options.highlighted = max(0, min(options.option_count - 1, start + delta))
        self._picked(options.get_option_at_index(options.highlighted))

    @on(OptionList.OptionHighlighted, "#provision-countries")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        # Only the operator moving in the list itself picks; the field's own highlighting
        # (↑↓ in the box) has picked already, and a late event names an older list.
        if self.screen.focused is event.option_list:
            self._picked(event.option)

    @on(OptionList.OptionSelected, "#provision-countries")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        if self._picked(event.option):
            self.screen.focus_next()


def _asks(found: CountryLookup) -> InvalidInput:
    """Why the text names no country yet, as the form says it (the list shows the rest)."""
    if not found.text:
        return InvalidInput("choose the client's country")
    if not found.matches:  # the message without the command line's hint
        return InvalidInput(found.refusal().message, hint=found.note)
    what = "1 country" if found.total == 1 else f"{found.total} countries"
    how = "↓ picks it" if found.total == 1 else "pick one with ↑↓"
    return InvalidInput(
        f"{quoted(found.text, COUNTRY_QUOTED)} matches {what}: {how}", hint=found.note
    )
