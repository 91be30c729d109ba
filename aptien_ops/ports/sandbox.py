"""What only a sandbox uses: the stand-in for the platform that writes tenants' activity."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Protocol

from aptien_ops.domain.billing import CustomerFacts
from aptien_ops.ports.clusters import DbConnection
from aptien_ops.sandbox_billing import DemoLicence


class ActivityStats(Protocol):
    """What an :class:`ActivityWriter` wrote into one tenant database."""

    @property
    def users(self) -> int: ...
    @property
    def logins(self) -> int: ...
    @property
    def audit_events(self) -> int: ...
    @property
    def records(self) -> int: ...
    @property
    def seconds(self) -> float: ...


class ActivityWriter(Protocol):
    """Writes synthetic platform activity into a tenant database, as the platform would
    (sandbox only). The tenant payload keys it uses live where the console never reads."""

    def __call__(
        self,
        conn: DbConnection,
        dialect: str,
        tenant: str,
        *,
        users: int,
        audit_events: int,
        logins: int,
        seed: int,
        key_dir: Path,
        now: datetime,
        marker: str | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> ActivityStats:
        """Raises: Conflict (already seeded), InvalidInput, Unavailable."""
        ...


class DemoBilling(Protocol):
    """The sandbox's Stripe-compatible server, where the demo customers are made (sandbox
    only). Raises as :class:`aptien_ops.ports.billing.BillingSource` does."""

    def seed_customer(
        self, demo: DemoLicence, *, name: str, email: str | None, now: datetime
    ) -> CustomerFacts:
        """A customer of ``demo.tenant`` with a test card and a subscription in
        ``demo.status``."""
        ...
