"""Time in seeded activity: the 90-day window, how activity spreads over its hours, and
timestamps as each dialect stores them.

Inside the generator a moment is an integer, microseconds since the Unix epoch (UTC); a
:data:`Converter` turns it into the value the database takes.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US = 1_000_000
HOUR_US = 3600 * US
WINDOW_HOURS = 90 * 24
#: Relative activity per UTC hour, weekdays then weekends: office hours carry most of it.
_WEEKDAY = (1, 1, 1, 1, 1, 1, 4, 12, 30, 30, 30, 30, 20, 28, 28, 28, 28, 14, 5, 5, 5, 5, 2, 2)
_WEEKEND = (1, 1, 1, 1, 1, 1, 1, 1, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 2, 2, 2, 2)

Timestamp = datetime | str
"""A moment as written: an aware ``datetime`` (PostgreSQL) or an ISO 8601 string (SQLite)."""

Converter = Callable[[int], Timestamp]
"""Microseconds since the epoch to the dialect's timestamp value."""


def pg_time(us: int) -> datetime:
    """For PostgreSQL's ``timestamptz``: an aware ``datetime`` in UTC."""
    return EPOCH + timedelta(microseconds=us)


def iso_converter() -> Converter:
    """``YYYY-MM-DDTHH:MM:SS.ffffffZ`` strings, formatting each hour's date part only once."""
    hours: dict[int, str] = {}

    def convert(us: int) -> str:
        hour, rest = divmod(us, HOUR_US)
        prefix = hours.get(hour)
        if prefix is None:
            prefix = hours[hour] = (EPOCH + timedelta(hours=hour)).strftime("%Y-%m-%dT%H:")
        minute, rest = divmod(rest, 60 * US)
        second, frac = divmod(rest, US)
        return f"{prefix}{minute:02d}:{second:02d}.{frac:06d}Z"

    return convert


def hourly_counts(rng: random.Random, start_us: int, total: int) -> list[int]:
    """``total`` spread over the hours of the window from ``start_us``, by weekday, hour of day
    and a daily swing drawn from ``rng``."""
    swing = [rng.uniform(0.7, 1.3) for _ in range(WINDOW_HOURS // 24 + 1)]
    cum, acc = [], 0
    for b in range(WINDOW_HOURS):
        mid = EPOCH + timedelta(microseconds=start_us + b * HOUR_US + HOUR_US // 2)
        table = _WEEKDAY if mid.weekday() < 5 else _WEEKEND
        acc += int(table[mid.hour] * swing[b // 24] * 1000)
        cum.append(acc)
    # Integer arithmetic so the counts add up to exactly ``total``.
    edges = [total * c // acc for c in cum]
    return [edges[0]] + [edges[b] - edges[b - 1] for b in range(1, WINDOW_HOURS)]
