"""``sandbox seed``: tenants across both regions full of realistic platform activity.

It acts as the platform does: payloads are encrypted with per-tenant keys kept in
``<data_dir>/platform-keys``, a directory no other part of the console reads. Refused outside
sandbox mode: it must never write synthetic data into a real client's database.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from aptien_ops.domain import TenantState
from aptien_ops.errors import Conflict, InvalidInput
from aptien_ops.permissions import Action
from aptien_ops.ports import ActivityStats, ActivityWriter
from aptien_ops.services.context import OpsContext
from aptien_ops.services.provisioning import ProvisioningService, ProvisionRequest

#: Countries seeded tenants come from: both regions and the edges of the rule.
SEED_COUNTRIES = (
    "DE",
    "FR",
    "PL",
    "SE",
    "KE",
    "NG",
    "ZA",
    "EG",
    "TR",
    "IL",
    "AE",
    "US",
    "CA",
    "BR",
    "MX",
    "AU",
    "NZ",
    "JP",
    "IN",
    "SG",
    "KZ",
)


@dataclass(frozen=True)
class SeededTenant:
    """One tenant of ``sandbox seed``: what was written into it, or None if it was full already."""

    tenant: str
    region: str
    cluster: str | None
    stats: ActivityStats | None

    def as_json(self) -> dict[str, object]:
        row: dict[str, object] = {
            "tenant": self.tenant,
            "region": self.region,
            "cluster": self.cluster,
        }
        if self.stats is None:
            row["skipped"] = "already seeded"
        else:
            row.update(
                users=self.stats.users,
                logins=self.stats.logins,
                audit_events=self.stats.audit_events,
                records=self.stats.records,
                seconds=round(self.stats.seconds, 2),
            )
        return row


@dataclass(frozen=True)
class SeedRequest:
    tenants: int = 4
    users: int = 50
    events: int = 2_000
    logins: int | None = None
    seed: int = 1
    marker: str | None = None
    """A canary that the platform puts inside every plaintext (tests prove it never leaks)."""

    def check(self) -> None:
        for name, value, top in (
            ("tenants", self.tenants, 10_000),
            ("users", self.users, 1_000_000),
            ("events", self.events, 100_000_000),
            ("logins", self.logins or 0, 100_000_000),
        ):
            if not 0 <= value <= top:
                raise InvalidInput(f"--{name} must be between 0 and {top:,}, got {value}")
        if self.tenants < 1 or self.users < 1:
            raise InvalidInput("--tenants and --users must be at least 1")


class SandboxSeedService:
    def __init__(
        self,
        ctx: OpsContext,
        provisioning: ProvisioningService,
        writer: Callable[[], ActivityWriter],
    ) -> None:
        self.ctx = ctx
        self.provisioning = provisioning
        self._writer = writer

    def tenant_names(self, request: SeedRequest) -> list[tuple[str, str]]:
        """Deterministic names and countries, cycling through both regions."""
        offset = random.Random(request.seed).randrange(len(SEED_COUNTRIES))
        countries = [
            SEED_COUNTRIES[(offset + i * 11) % len(SEED_COUNTRIES)] for i in range(request.tenants)
        ]
        return [(f"s{request.seed}-{cc.lower()}-{i:04d}", cc) for i, cc in enumerate(countries, 1)]

    def seed(
        self, request: SeedRequest, progress: Callable[[int, int, str], None] | None = None
    ) -> list[SeededTenant]:
        """Provision (or resume) the seeded tenants and fill those still empty.

        Raises: InvalidInput (arguments; production mode), Forbidden, Conflict, Unavailable.
        """
        if not self.ctx.settings.sandbox:
            raise InvalidInput(
                "sandbox seed writes synthetic activity and runs only in sandbox mode"
            )
        request.check()
        logins = request.logins if request.logins is not None else max(1, request.events // 5)
        params = {"tenants": request.tenants, "events": request.events, "seed": request.seed}
        with self.ctx.audited(Action.SANDBOX_SEED, "sandbox", params) as attempt:
            writer = self._writer()
            key_dir = self.ctx.settings.data_dir / "platform-keys"
            names = self.tenant_names(request)
            results: list[SeededTenant] = []
            for done, (name, country) in enumerate(names, 1):
                with self.ctx.catalog.read() as tx:
                    existing = tx.tenants.get(name)
                if existing is None or existing.state == TenantState.PROVISIONING:
                    contact = f"admin@{name}.example"
                    wanted = ProvisionRequest(
                        name, country, contact_name="Seeded Client", contact_email=contact
                    )
                    existing = self.provisioning.provision(wanted)
                store = self.ctx.store(existing.cluster or "")
                stats: ActivityStats | None = None
                try:
                    with store.connect(name) as conn:
                        stats = writer(
                            conn,
                            store.kind,
                            name,
                            users=request.users,
                            audit_events=request.events,
                            logins=logins,
                            seed=request.seed,
                            key_dir=key_dir,
                            now=self.ctx.now(),
                            marker=request.marker,
                        )
                except Conflict:
                    pass  # seeded already: reported as skipped
                results.append(SeededTenant(name, existing.region, existing.cluster, stats))
                if progress:
                    progress(done, len(names), name)
            attempt.ok(seeded=sum(1 for r in results if r.stats is not None))
        return results
