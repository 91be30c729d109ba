"""Login activity of a time window: what ``inspect summary`` and the TUI's activity chart show.

:class:`LoginSummary` is fed a window's login events one by one, in any order, so a window of
millions of logins is summarised while it streams from the tenant's database; it keeps counts,
not events. Once the caller says which addresses were seen before the window, it hands back a
:class:`LoginActivity`: counts per hour or day, failure rate, distinct users, addresses and
user agents, bursts of failures and first-seen addresses. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from aptien_ops.domain import iso
from aptien_ops.errors import InvalidInput

#: A window may be cut into at most this many buckets (a table or sparkline stays readable).
MAX_BUCKETS = 2000


@dataclass(frozen=True)
class ActivityBucket:
    """Logins (failed ones included) that started in the hour or day from ``start``."""

    start: datetime
    logins: int
    failures: int

    def as_json(self) -> dict[str, object]:
        return {"start": iso(self.start), "logins": self.logins, "failures": self.failures}


@dataclass(frozen=True)
class FailureBurst:
    """A stretch where every ``burst_failures`` consecutive failed logins of one user
    (``by="user"``, ``key`` the address typed) or from one IP (``by="ip"``) fit in the window."""

    by: str
    key: str
    start: datetime
    end: datetime
    failures: int

    def as_json(self) -> dict[str, object]:
        return {
            "by": self.by,
            "key": self.key,
            "start": iso(self.start),
            "end": iso(self.end),
            "failures": self.failures,
        }


@dataclass(frozen=True)
class FirstSeenIp:
    """An address with no login before the window: its first login in it and its counts."""

    ip: str
    first_at: datetime
    logins: int
    failures: int

    def as_json(self) -> dict[str, object]:
        return {
            "ip": self.ip,
            "first_at": iso(self.first_at),
            "logins": self.logins,
            "failures": self.failures,
        }


@dataclass(frozen=True)
class BurstThresholds:
    """What counts as a burst: ``failures`` or more failed logins within ``window``."""

    failures: int
    window: timedelta

    @property
    def window_minutes(self) -> float:
        return self.window.total_seconds() / 60

    def as_json(self) -> dict[str, object]:
        return {"burst_failures": self.failures, "burst_window_minutes": self.window_minutes}


@dataclass(frozen=True)
class LoginActivity:
    """Login activity of ``since`` (inclusive) to ``until`` (exclusive), per ``hour`` or ``day``.

    ``buckets`` run oldest first from the start of ``since``'s hour or day; bursts and
    first-seen addresses are in order of time.
    """

    since: datetime
    until: datetime
    per: str
    logins: int
    failures: int
    distinct_users: int
    distinct_ips: int
    distinct_user_agents: int
    buckets: tuple[ActivityBucket, ...]
    bursts: tuple[FailureBurst, ...]
    first_seen_ips: tuple[FirstSeenIp, ...]
    thresholds: BurstThresholds

    @property
    def failure_rate(self) -> float:
        """Failed logins per login, rounded to four places (0.0 without logins)."""
        return round(self.failures / self.logins, 4) if self.logins else 0.0

    def as_json(self, listed: int | None = None) -> dict[str, object]:
        """The activity as JSON; ``listed`` caps the bursts and the first-seen addresses (the
        first ones in time), whose ``bursts_total`` and ``first_seen_ips_total`` count all."""
        return {
            "since": iso(self.since),
            "until": iso(self.until),
            "per": self.per,
            "logins": self.logins,
            "failures": self.failures,
            "failure_rate": self.failure_rate,
            "distinct_users": self.distinct_users,
            "distinct_ips": self.distinct_ips,
            "distinct_user_agents": self.distinct_user_agents,
            "buckets": [b.as_json() for b in self.buckets],
            "bursts": [b.as_json() for b in self.bursts[:listed]],
            "bursts_total": len(self.bursts),
            "first_seen_ips": [a.as_json() for a in self.first_seen_ips[:listed]],
            "first_seen_ips_total": len(self.first_seen_ips),
            "thresholds": self.thresholds.as_json(),
        }


@dataclass
class _Address:
    first: datetime
    logins: int = 0
    failures: int = 0


class LoginSummary:
    """Builds the :class:`LoginActivity` of one window from its events, in any order.

    Bursts are ``burst`` or more failures within ``window``, per user and per address.
    """

    def __init__(
        self, since: datetime, until: datetime, per: str, burst: int, window: timedelta
    ) -> None:
        """Raises: InvalidInput for an unknown ``per`` or more than ``MAX_BUCKETS`` buckets."""
        if per not in ("hour", "day"):
            raise InvalidInput(f"--per must be hour or day, got {per[:10]!r}")
        self.since, self.until, self.per = since, until, per
        self.thresholds = BurstThresholds(burst, window)
        self._step = timedelta(hours=1) if per == "hour" else timedelta(days=1)
        self._origin = since.replace(minute=0, second=0, microsecond=0)
        if per == "day":
            self._origin = self._origin.replace(hour=0)
        slots = (until - self._origin) // self._step + 1
        if slots > MAX_BUCKETS:
            raise InvalidInput(
                f"{slots} {per}s are too many buckets", hint="use --per day or a shorter window"
            )
        self._logins = [0] * slots
        self._failures = [0] * slots
        self._users: set[str] = set()
        self._agents: set[str] = set()
        self.addresses: dict[str, _Address] = {}
        self._failed_by: dict[tuple[str, str], list[datetime]] = {}

    def add(self, at: datetime, user: str, ip: str, agent: str, result: str) -> None:
        if not self.since <= at < self.until:
            return  # a row inserted at the edge while the window was read
        slot = (at - self._origin) // self._step
        failed = result != "success"
        self._logins[slot] += 1
        self._users.add(user)
        self._agents.add(agent)
        address = self.addresses.get(ip)
        if address is None:
            address = self.addresses[ip] = _Address(at)
        address.first = min(address.first, at)
        address.logins += 1
        if failed:
            self._failures[slot] += 1
            address.failures += 1
            self._failed_by.setdefault(("user", user), []).append(at)
            self._failed_by.setdefault(("ip", ip), []).append(at)

    def bursts(self) -> list[FailureBurst]:
        """Maximal stretches where every ``burst`` consecutive failures fit in ``window``."""
        found: list[FailureBurst] = []
        n, window = self.thresholds.failures, self.thresholds.window
        for (by, key), times in self._failed_by.items():
            if len(times) < n:
                continue
            times.sort()
            start = end = None
            first = 0
            for i in range(len(times) - n + 1):
                if times[i + n - 1] - times[i] > window:
                    continue
                if start is not None and end is not None and times[i] <= end:
                    end = times[i + n - 1]
                    continue
                if start is not None and end is not None:
                    found.append(_burst(by, key, times, first, start, end))
                first, start, end = i, times[i], times[i + n - 1]
            if start is not None and end is not None:
                found.append(_burst(by, key, times, first, start, end))
        return sorted(found, key=lambda b: (b.start, b.by, b.key))

    def activity(self, seen_before: set[str]) -> LoginActivity:
        """The window's activity; ``seen_before`` are addresses with logins before the window."""
        first_seen = sorted(
            (
                FirstSeenIp(ip, a.first, a.logins, a.failures)
                for ip, a in self.addresses.items()
                if ip not in seen_before
            ),
            key=lambda row: (row.first_at, row.ip),
        )
        return LoginActivity(
            since=self.since,
            until=self.until,
            per=self.per,
            logins=sum(self._logins),
            failures=sum(self._failures),
            distinct_users=len(self._users),
            distinct_ips=len(self.addresses),
            distinct_user_agents=len(self._agents),
            buckets=tuple(
                ActivityBucket(self._origin + i * self._step, n, self._failures[i])
                for i, n in enumerate(self._logins)
            ),
            bursts=tuple(self.bursts()),
            first_seen_ips=tuple(first_seen),
            thresholds=self.thresholds,
        )


def _burst(
    by: str, key: str, times: list[datetime], first: int, start: datetime, end: datetime
) -> FailureBurst:
    count = sum(1 for t in times[first:] if t <= end)
    return FailureBurst(by, key, start, end, count)
