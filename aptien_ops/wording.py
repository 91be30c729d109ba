"""Counts as an operator reads them, alike in the CLI and the TUI: ``10,000`` with its
thousands separated, and the word agreeing with it (``1 tenant``, ``2 tenants``)."""

from __future__ import annotations

from collections.abc import Iterable


def count(n: int) -> str:
    """``10,000``: thousands separated so a tired eye reads the size right."""
    return f"{n:,}"


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 idle minute``, ``2 idle minutes``: the count and the word, agreeing (``many`` for a
    word whose plural is not the word with an ``s``: ``plural(n, "entry", "entries")``)."""
    return f"{count(n)} {word if n == 1 else many or word + 's'}"


def approvers_words(roles: Iterable[str]) -> str:
    """``another admin``, ``another admin or security operator``: who may approve a four-eyes
    request, by the roles the policy in force names for its action (admins when it names
    none), alike in the CLI and the TUI."""
    names = sorted(set(roles)) or ["admin"]
    return "another " + " or ".join(names) + ("" if names == ["admin"] else " operator")
