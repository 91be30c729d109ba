"""stdout is for data, stderr for everything else; text reaches neither raw.

Every text this module prints goes through :func:`~aptien_ops.terminal_text.shown`: a cell or
a field's value on one line, a message or a whole block with its line feeds kept.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import click

from aptien_ops.terminal_text import shown


def emit_json(value: Any) -> None:
    # ASCII only: attacker-typed text (user agents) must not reach the terminal as raw control
    # bytes.
    sys.stdout.write(json.dumps(value, ensure_ascii=True, default=str))
    sys.stdout.write("\n")


def emit_json_text(text: str) -> None:
    """JSON that is already text (built by the database), printed ASCII-only like
    :func:`emit_json`."""
    if not text.isascii():
        text = json.dumps(json.loads(text), ensure_ascii=True)
    sys.stdout.write(text)
    sys.stdout.write("\n")


def say(message: str) -> None:
    """A message for the operator (stderr, so pipes of data stay clean)."""
    sys.stderr.write(shown(message, multiline=True) + "\n")


def echo(text: str) -> None:
    """Lines of data (a table, a record) on stdout."""
    click.echo(shown(text, multiline=True))


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list | tuple | set | frozenset):
        return shown(",".join(str(v) for v in value))
    return shown(value)


def table(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[str],
    *,
    headers: Sequence[str] | None = None,
) -> str:
    """A plain, aligned text table (no colour: it is read in logs and over SSH)."""
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    head = [h.upper() for h in (headers or columns)]
    widths = [max([len(head[i]), *(len(row[i]) for row in cells)]) for i in range(len(columns))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip()]
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    return "\n".join(lines)


def fields(record: Mapping[str, Any]) -> str:
    """One record as aligned ``key  value`` lines."""
    width = max((len(k) for k in record), default=0)
    return "\n".join(f"{k.ljust(width)}  {_cell(v)}" for k, v in record.items())
