"""Counts as an operator reads them, alike in the CLI and the TUI: ``10,000`` with its
thousands separated, and the word agreeing with it (``1 tenant``, ``2 tenants``)."""

from __future__ import annotations


def count(n: int) -> str:
    """``10,000``: thousands separated so a tired eye reads the size right."""
    return f"{n:,}"


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 idle minute``, ``2 idle minutes``: the count and the word, agreeing (``many`` for a
    word whose plural is not the word with an ``s``: ``plural(n, "entry", "entries")``)."""
    return f"{count(n)} {word if n == 1 else many or word + 's'}"
