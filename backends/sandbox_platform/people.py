"""The people of a seeded tenant: its users, where and how each of them logs in, and who logs
in and edits how often.

Addresses are on the tenant's ``<tenant>.example`` domain; IPs come from the documentation
ranges (RFC 5737, RFC 3849): offices in 198.51.100.0/24, homes in 192.0.2.0/24 and
2001:db8::/32.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from aptien_ops.backends.sandbox_platform.tables import UserRow
from aptien_ops.backends.sandbox_platform.timeline import HOUR_US, Converter
from aptien_ops.backends.sandbox_platform.vocabulary import (
    BROWSER_AGENTS,
    FIRST_NAMES,
    LAST_NAMES,
    METHOD_MIX,
)


class People:
    """``n`` users of ``domain`` created before ``now_us``, drawn from ``rng``.

    Per user ``i``: ``emails[i]``, ``typos[i]`` (the address with a dropped dot: no such user),
    ``ips[i]``, ``agents[i]`` and ``methods[i]`` (how they log in). ``login_pool`` and
    ``actor_pool`` are weighted draws of active users: a few log in and edit far more than
    the rest.
    """

    def __init__(self, rng: random.Random, domain: str, n: int, now_us: int) -> None:
        self.domain = domain
        self.offices = [f"198.51.100.{rng.randrange(2, 250)}" for _ in range(rng.randint(2, 5))]
        taken: dict[str, int] = {}
        self.emails: list[str] = []
        self.typos: list[str] = []
        self.ips: list[tuple[str, ...]] = []
        self.agents: list[tuple[str, ...]] = []
        self.methods: list[str] = []
        self._rows: list[tuple[str, str, int, bool, bool]] = []
        admins = min(8, 1 + n // 40)
        for i in range(n):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            base = f"{first}.{last}".lower()
            taken[base] = taken.get(base, 0) + 1
            local = base if taken[base] == 1 else f"{base}{taken[base]}"
            email = f"{local}@{domain}"
            ips = [rng.choice(self.offices), f"192.0.2.{rng.randrange(1, 255)}"]
            if rng.random() < 0.3:
                net = f"2001:db8:{rng.randrange(1, 0x1000):x}:{rng.randrange(0x10000):x}"
                ips.append(f"{net}::{rng.randrange(1, 0x10000):x}")
            if rng.random() < 0.4:
                ips.append(f"192.0.2.{rng.randrange(1, 255)}")
            self.emails.append(email)
            self.typos.append(f"{local.replace('.', '')}@{domain}")
            self.ips.append(tuple(ips))
            self.agents.append(tuple(rng.sample(BROWSER_AGENTS, rng.randint(1, 2))))
            self.methods.append(rng.choice(METHOD_MIX))
            created = now_us - rng.randrange(91 * 24 * HOUR_US, 3 * 365 * 24 * HOUR_US)
            active = i == 0 or rng.random() >= 0.05
            self._rows.append((email, f"{first} {last}", created, active, i < admins))
        active_ids = [i for i, row in enumerate(self._rows) if row[3]]
        size = max(4096, 4 * len(active_ids))
        weights = [min(rng.paretovariate(1.2), 25.0) for _ in active_ids]
        self.login_pool = rng.choices(active_ids, weights, k=size) if active_ids else []
        editors = [w * (20.0 if rng.random() < 0.2 else 1.0) for w in weights]
        self.actor_pool = (
            [self.emails[i] for i in rng.choices(active_ids, editors, k=size)] if active_ids else []
        )

    def users(self, convert: Converter) -> Iterator[UserRow]:
        """The rows of the ``users`` table."""
        for email, name, created, active, admin in self._rows:
            yield (email, name, convert(created), active, admin)
