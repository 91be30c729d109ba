"""What an operator types about an incident, checked: moments with their time zone, lists of
categories, approximate numbers. Every check raises InvalidInput (exit 2) before anything is
touched, and never quotes more than a short piece of what was typed."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from aptien_ops.domain.free_text import INCIDENT_CATEGORY
from aptien_ops.domain.incidents import as_utc
from aptien_ops.errors import InvalidInput

#: The largest approximate number of people or records a report states (a 32-bit column).
MAX_APPROX = 2_000_000_000
#: At most this many categories of data or of people.
MAX_CATEGORIES = 30
_MOMENT_HINT = "ISO 8601 with its offset: 2026-12-04T09:30+01:00 or 2026-12-04T08:30Z"


def parse_moment(text: str, what: str) -> datetime:
    """``text`` as an aware UTC datetime; it must carry its offset (``Z`` or ``+01:00``): an
    incident's times come from many places, and a time without a zone is a guess.

    Raises: InvalidInput naming ``what`` (``--aware-at``)."""
    value = text.strip() if isinstance(text, str) else ""
    shown = value if len(value) <= 40 else value[:37] + "..."
    if not value or len(value) > 40:
        raise InvalidInput(f"{what}: {shown!r} is not a time", hint=_MOMENT_HINT)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{what}: {shown!r} is not a time", hint=_MOMENT_HINT) from None
    if moment.tzinfo is None:
        raise InvalidInput(f"{what}: {shown!r} has no time zone", hint=_MOMENT_HINT)
    return as_utc(moment)


def not_after(moment: datetime | None, now: datetime, what: str) -> datetime | None:
    """``moment`` unless it lies in the future of ``now`` (a minute of clock skew allowed), or
    before 2000. Raises: InvalidInput."""
    if moment is None:
        return None
    if moment > now + timedelta(minutes=1):
        raise InvalidInput(f"{what} lies in the future", hint="times are as of the console's clock")
    if moment.year < 2000:
        raise InvalidInput(f"{what} lies before 2000")
    return moment


def parse_categories(values: Iterable[str], what: str) -> tuple[str, ...]:
    """Categories as typed (``contact details, e-mail``), each trimmed, in their order, each
    once. Raises: InvalidInput (too many, too long, a comma-free limit)."""
    found: list[str] = []
    for value in values:
        for piece in str(value).split(","):
            text = INCIDENT_CATEGORY.within_limit(piece)
            if text and text not in found:
                found.append(text)
    if len(found) > MAX_CATEGORIES:
        raise InvalidInput(f"{what}: at most {MAX_CATEGORIES} categories")
    return tuple(found)


def approx(value: int | None, what: str) -> int | None:
    """Raises: InvalidInput outside 0 … 2,000,000,000."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_APPROX:
        raise InvalidInput(f"{what} must be a whole number from 0 to {MAX_APPROX:,}")
    return value


def parse_window(text: str) -> tuple[datetime, datetime]:
    """``FROM..TO``, both with their offsets, FROM before TO. Raises: InvalidInput."""
    start, dots, end = (text if isinstance(text, str) else "").partition("..")
    if not dots:
        raise InvalidInput("--window must be FROM..TO", hint=_MOMENT_HINT + " on either side")
    window = parse_moment(start, "--window FROM"), parse_moment(end, "--window TO")
    if window[1] <= window[0]:
        raise InvalidInput("--window: TO must come after FROM")
    return window
