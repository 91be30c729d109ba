"""The window the Logins and Audit tabs scroll through: pages in order, at most ``max_rows`` held,
and the start cursor of every page kept so scrolling back up re-reads what was dropped."""

from __future__ import annotations

import pytest

from aptien_ops.screens.event_window import EventWindow


def page(number: int, rows: int = 10, last: int = 9) -> tuple[int, list[int], str | None]:
    """Page ``number`` of rows numbered by absolute position; pages after ``last`` do not exist."""
    return (
        number,
        list(range(number * rows, number * rows + rows)),
        f"after-{number}" if number < last else None,
    )


def test_scrolling_down_drops_pages_above_once_the_window_is_full() -> None:
    window: EventWindow[int] = EventWindow(page_rows=10, max_rows=30)
    assert window.next_request() == (0, None) and not window.has_before
    dropped = [window.add(*page(n))[0] for n in range(5)]
    assert dropped == [0, 0, 0, 10, 10]
    assert (window.first, window.end, len(window)) == (20, 50, 30)
    assert (
        window.row(19) is None
        and window.row(20) == 20
        and window.rows(28, 33) == [28, 29, 30, 31, 32]
    )
    assert window.next_request() == (5, "after-4") and window.previous_request() == (1, "after-0")


def test_scrolling_back_up_rereads_a_dropped_page_from_its_cursor_and_drops_below() -> None:
    window: EventWindow[int] = EventWindow(page_rows=10, max_rows=30)
    for n in range(5):
        window.add(*page(n))
    assert window.add(*page(1)) == (0, 10)
    assert (window.first, window.end) == (10, 40) and window.next_request() == (4, "after-3")
    assert window.add(*page(0)) == (0, 10)
    assert window.previous_request() is None and window.cursors_kept == 6


def test_the_oldest_page_ends_the_window_and_a_stale_page_is_refused() -> None:
    window: EventWindow[int] = EventWindow(page_rows=10, max_rows=20)
    window.add(0, list(range(10)), "after-0")
    window.add(1, [10, 11, 12], None)
    assert not window.has_after and window.next_request() is None and window.end == 13
    with pytest.raises(ValueError):
        window.add(*page(7))
    window.clear()
    assert (len(window), window.first, window.cursors_kept, window.next_request()) == (
        0,
        0,
        1,
        (0, None),
    )


def test_a_window_must_hold_two_pages() -> None:
    with pytest.raises(ValueError):
        EventWindow(page_rows=100, max_rows=150)
