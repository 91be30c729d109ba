"""What a tenant's people do over 90 days: logins (business-hours heavy, with bursts of
failures from one IP) and change-audit events, generated in time order.

Everything but the payloads' nonces is a pure function of (tenant, seed, now). The people,
the logins and the audit trail draw from separate random streams, so the audit trail does not
change when only the number of logins does.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from aptien_ops.backends.sandbox_platform.people import People
from aptien_ops.backends.sandbox_platform.records import RecordBook
from aptien_ops.backends.sandbox_platform.tables import AuditRow, LoginRow, UserRow
from aptien_ops.backends.sandbox_platform.timeline import (
    HOUR_US,
    US,
    WINDOW_HOURS,
    Converter,
    Timestamp,
    hourly_counts,
)
from aptien_ops.backends.sandbox_platform.vocabulary import (
    ACTIONS,
    BROWSER_AGENTS,
    OUTCOMES,
    SCRIPT_AGENTS,
    SHEET_MIX,
    STUFFING_NAMES,
)


class Activity:
    """Users, logins and audit events of one tenant, generated in time order."""

    def __init__(self, seed: int, tenant: str, users: int, now_us: int, convert: Converter) -> None:
        root = random.Random(seed)
        self._seeds = {name: root.getrandbits(64) for name in ("people", "logins", "audit")}
        self.convert = convert
        self.start_us = now_us - WINDOW_HOURS * HOUR_US
        self.people = People(
            random.Random(self._seeds["people"]), f"{tenant}.example", users, now_us
        )

    def users(self) -> Iterator[UserRow]:
        return self.people.users(self.convert)

    def logins(self, total: int) -> Iterator[LoginRow]:
        rng = random.Random(self._seeds["logins"])
        rnd, convert = rng.random, self.convert
        bursts, burst_rows = self._bursts(rng, total)
        people = self.people
        pool, size = people.login_pool, len(people.login_pool)
        emails, typos, ips, agents, methods = (
            people.emails,
            people.typos,
            people.ips,
            people.agents,
            people.methods,
        )
        for b, count in enumerate(hourly_counts(rng, self.start_us, total - burst_rows)):
            base = self.start_us + b * HOUR_US
            rows: list[LoginRow] = []
            for off in sorted([int(rnd() * HOUR_US) for _ in range(count)]):
                u = pool[int(rnd() * size)]
                mine, uas, method = ips[u], agents[u], methods[u]
                result = OUTCOMES[method][int(rnd() * 1000)]
                email = typos[u] if result == "failure:unknown_user" else emails[u]
                rows.append(
                    (
                        convert(base + off),
                        email,
                        mine[int(rnd() * len(mine))],
                        uas[int(rnd() * len(uas))],
                        result,
                        method,
                    )
                )
            if b in bursts:
                rows.extend(bursts[b])
                rows.sort(key=lambda row: row[0])
            yield from rows

    def _bursts(self, rng: random.Random, total: int) -> tuple[dict[int, list[LoginRow]], int]:
        """Bursts of 20-50 failed logins within minutes from one IP, by hour of the window."""
        bursts: dict[int, list[LoginRow]] = {}
        if total < 100 or not self.people.login_pool:
            return bursts, 0
        used = 0
        for n in range(max(1, total // 20_000)):
            size = rng.randint(20, 50)
            if used + size + 1 > total // 4:
                break
            b = rng.randrange(WINDOW_HOURS)
            span = rng.randint(90, 420) * US
            start = self.start_us + b * HOUR_US + rng.randrange(HOUR_US - span)
            times = sorted(start + rng.randrange(span) for _ in range(size + 1))
            # The first burst always comes from an address the tenant has never seen.
            rows = list(
                self._burst_rows(
                    rng, [self.convert(t) for t in times], rng.random() * (0.85 if n == 0 else 1)
                )
            )
            bursts.setdefault(b, []).extend(rows)
            used += len(rows)
        return bursts, used

    def _burst_rows(
        self, rng: random.Random, times: list[Timestamp], kind: float
    ) -> Iterator[LoginRow]:
        """Failed logins at ``times[:-1]``; at ``times[-1]`` only if the attacker got in.

        ``kind`` < 0.45: guessing one account's password; < 0.85: credential stuffing across
        accounts and generic mailboxes; else a compromised or misconfigured office machine.
        """
        people = self.people
        if kind < 0.85:
            # A first-seen address: nobody at the tenant ever used 203.0.113.0/24.
            ip = (
                f"203.0.113.{rng.randrange(1, 255)}"
                if rng.random() < 0.9
                else f"2001:db8:ffff:{rng.randrange(0x10000):x}::{rng.randrange(1, 0x10000):x}"
            )
        else:
            ip = rng.choice(people.offices)
        victims = [
            people.emails[rng.choice(people.login_pool)]
            for _ in range(1 if kind < 0.45 else rng.randint(2, 5))
        ]
        if 0.45 <= kind < 0.85:
            victims += [
                f"{name}@{people.domain}" for name in rng.sample(STUFFING_NAMES, rng.randint(2, 6))
            ]
        agent = rng.choice(SCRIPT_AGENTS if kind < 0.45 else BROWSER_AGENTS)
        real, tries = set(people.emails), dict.fromkeys(victims, 0)
        lock_after = rng.randint(5, 10)
        for j, at in enumerate(times[:-1]):
            email = victims[j % len(victims)]
            tries[email] += 1
            if email not in real:
                result = "failure:unknown_user"
            else:
                result = "failure:locked" if tries[email] > lock_after else "failure:bad_password"
            yield (at, email, ip, agent, result, "password")
        if 0.45 <= kind < 0.85 and rng.random() < 0.2:
            # The stuffing list held one valid password: the detection story inspection is for.
            yield (times[-1], victims[0], ip, agent, "success", "password")

    def audit_events(self, total: int, book: RecordBook) -> Iterator[AuditRow]:
        rng = random.Random(self._seeds["audit"])
        rnd, convert, event = rng.random, self.convert, book.event
        actors, size = self.people.actor_pool, len(self.people.actor_pool)
        for b, count in enumerate(hourly_counts(rng, self.start_us, total)):
            base = self.start_us + b * HOUR_US
            for off in sorted([int(rnd() * HOUR_US) for _ in range(count)]):
                us = base + off
                yield event(
                    us,
                    convert(us),
                    actors[int(rnd() * size)],
                    ACTIONS[int(rnd() * 100)],
                    SHEET_MIX[int(rnd() * 10)],
                    rnd,
                )
