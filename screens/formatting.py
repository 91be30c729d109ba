"""How the screens print values: short, UTC, and the same on every screen."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from aptien_ops.permissions import ROLES


def day(value: str | datetime | None) -> str:
    """``2026-01-31`` from an ISO-8601 timestamp (UTC), or an empty string."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return _utc(value).strftime("%Y-%m-%d")
    return value[:10]


def minute(value: str | datetime | None) -> str:
    """``2026-01-31 23:59`` (UTC) from an ISO-8601 timestamp, or an empty string."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return _utc(value).strftime("%Y-%m-%d %H:%M")
    return value[:16].replace("T", " ")


def short_minute(value: str | datetime | None) -> str:
    """``01-31 23:59`` (UTC): for tables at 80 columns, beside a detail pane with the full time."""
    return minute(value)[5:]


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def role_list(roles: Iterable[str]) -> str:
    """Roles in the matrix's order (viewer … admin), comma separated; ``none`` when empty."""
    held = set(roles)
    ordered = [r for r in ROLES if r in held] + sorted(held - set(ROLES))
    return ", ".join(ordered) if ordered else "none"


def count(n: int) -> str:
    """``10,000``: thousands separated so a tired eye reads the size right."""
    return f"{n:,}"


def size(n: int | None) -> str:
    """``77.8 kB``: a database size in SI units, or ``unknown``."""
    if n is None:
        return "unknown"
    if n < 1000:
        return f"{n} B"
    value = float(n)
    for unit in ("kB", "MB", "GB"):
        value /= 1000
        if value < 1000:
            return f"{value:.1f} {unit}"
    return f"{value / 1000:.1f} TB"
