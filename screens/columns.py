"""How every table of the console shares out its width: each column says how narrow it may
be, whether its values may be cut (they then end with ``…``), and what share of a wider
terminal's extra width it takes.

Names, e-mail addresses, IPv6 addresses, user agents, targets and reasons take a share; states,
dates, counts and codes do not (they are as wide as their values, whatever the terminal). An
*essential* column (a name, a state) is laid out within 60 columns, the smallest terminal the
console is laid out for, so it is never pushed off the screen.

:func:`fit` is the one rule; the DataTable lists (:class:`~screens.lists.ListTable`), the
virtual tables (:class:`~screens.event_table.EventTable`) and the Rich tables of the cards and
reports (:class:`SpecGrid`) apply it to their own width, again on every resize.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

#: The console's smallest terminal: every essential column fits in it (tests/tui check it).
SMALLEST = 60


@dataclass(frozen=True)
class ColumnSpec:
    """One column: its title and how it takes width.

    ``least``: never narrower. ``shrink``: its values may be cut (with ``…``) down to ``least``
    when the line is short; otherwise it is always as wide as its widest value. ``share``: its
    weight in the extra width of a wide terminal (0: none). ``most``: it grows no wider
    (0: no limit). ``essential``: it must stay on screen at 60 columns. ``wrap``: prose
    (a finding's detail) wraps onto more lines instead of being cut.
    """

    title: str
    least: int
    share: int = 0
    shrink: bool = False
    most: int = 0
    essential: bool = False
    wrap: bool = False
    justify: str = "left"
    """For Rich tables (counts are right-aligned)."""
    key: str = ""
    """The DataTable column's key (defaults to the title, lower-cased)."""

    @property
    def column_key(self) -> str:
        return self.key or self.title.lower()


def fit(specs: Sequence[ColumnSpec], natural: Sequence[int], room: int) -> list[int]:
    """Each column's width when ``room`` cells are left for the values (gaps taken off);
    ``natural`` is each column's widest value (its title included).

    An essential column starts at its widest value, any other at ``least`` (one that may
    neither shrink nor wrap: at its widest value too). When even that is too wide, the
    essential columns that may shrink give back cells, the widest first, down to ``least``.
    What is left goes first to the columns whose values are cut, toward their widest value (the
    short ones without a share first, then the others by share), then to the columns with a
    share, up to their ``most``. What no column takes stays blank: the table is narrower than
    the screen.
    """
    want = [max(s.least, n) for s, n in zip(specs, natural, strict=True)]
    floor = [s.least if s.shrink or s.wrap else w for s, w in zip(specs, want, strict=True)]
    widths = [w if s.essential else f for s, w, f in zip(specs, want, floor, strict=True)]
    over = sum(widths) - room
    while over > 0:
        giving = [i for i, s in enumerate(specs) if s.essential and widths[i] > floor[i]]
        if not giving:
            break
        widths[max(giving, key=lambda i: widths[i])] -= 1
        over -= 1
    spare = room - sum(widths)
    spare = _spread(widths, want, [0 if s.share else 1 for s in specs], spare)
    spare = _spread(widths, want, [s.share for s in specs], spare)
    grown = [(s.most or max(room, w)) if s.share else w for s, w in zip(specs, widths, strict=True)]
    _spread(widths, grown, [s.share for s in specs], spare)
    return widths


def _spread(widths: list[int], limits: Sequence[int], weights: Sequence[int], spare: int) -> int:
    """Give ``spare`` cells to the columns under their limit, in proportion to their weights;
    returns what is left."""
    while spare > 0:
        open_ = [i for i, w in enumerate(widths) if w < limits[i] and weights[i] > 0]
        if not open_:
            break
        total = sum(weights[i] for i in open_)
        left = spare
        for i in open_:
            give = min(max(1, spare * weights[i] // total), limits[i] - widths[i], left)
            widths[i] += give
            left -= give
            if not left:
                break
        spare = left
    return spare


def cell(value: RenderableType) -> RenderableType:
    """A table cell that ends with ``…`` when its column is narrower than it (a string is
    taken as plain text, never as markup)."""
    if isinstance(value, str):
        return Text(value, no_wrap=True, overflow="ellipsis", end="")
    if isinstance(value, Text) and value.overflow is None:
        value = value.copy()
        value.no_wrap, value.overflow = True, "ellipsis"
    return value


def _width(value: RenderableType) -> int:
    return value.cell_len if isinstance(value, Text) else len(str(value))


class SpecGrid:
    """A Rich table laid out by :func:`fit` at the width it is drawn at (a card, a report).

    ``measure``: more rows to size the columns by (groups of one report that line up).
    """

    def __init__(
        self,
        specs: Sequence[ColumnSpec],
        rows: Sequence[Sequence[RenderableType]],
        *,
        header: bool = True,
        header_style: str = "bold",
        measure: Sequence[Sequence[RenderableType]] = (),
        gap: int = 2,
    ) -> None:
        self.specs = tuple(specs)
        self.rows = [tuple(r) for r in rows]
        self.header = header
        self.header_style = header_style
        self.gap = gap
        sized = [*self.rows, *(tuple(r) for r in measure)]
        self.natural = [
            max(
                [len(s.title) if header else 0]
                + [max(_width(x) for x in str_lines(r[i])) for r in sized]
            )
            for i, s in enumerate(self.specs)
        ]

    def widths(self, width: int) -> list[int]:
        return fit(self.specs, self.natural, width - self.gap * (len(self.specs) - 1))

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(1, options.max_width)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        table = Table(
            box=None,
            show_header=self.header,
            header_style=self.header_style,
            pad_edge=False,
            padding=(0, self.gap, 0, 0),
        )
        widths = self.widths(options.max_width)
        for spec, width in zip(self.specs, widths, strict=True):
            table.add_column(
                spec.title,
                width=width,
                no_wrap=not spec.wrap,
                overflow="fold" if spec.wrap else "ellipsis",
                justify=spec.justify,  # type: ignore[arg-type]
            )
        for row in self.rows:
            table.add_row(*row)
        yield table


def str_lines(value: RenderableType) -> list[RenderableType]:
    """A cell's lines (a value's widest line sets its width)."""
    if isinstance(value, Text):
        return list(value.split()) or [value]
    return list(str(value).splitlines()) or [""]
