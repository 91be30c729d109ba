"""Counts read as an operator says them, in the CLI and the TUI alike."""

from __future__ import annotations

from aptien_ops.wording import count, plural


def test_one_is_singular_and_every_other_count_plural() -> None:
    assert plural(1, "idle minute") == "1 idle minute"
    assert plural(0, "tenant") == "0 tenants"
    assert plural(10_000, "tenant") == "10,000 tenants"
    assert (
        plural(2, "entry", "entries") == "2 entries" and plural(1, "entry", "entries") == "1 entry"
    )
    assert count(1234567) == "1,234,567"
