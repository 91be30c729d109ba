"""``sandbox seed``: tenants across both regions full of realistic platform activity; and the
sandbox's named demo tenants (``sandbox init``) with activity of their own.

It acts as the platform does: payloads are encrypted with per-tenant keys kept in
``<data_dir>/platform-keys``, a directory no other part of the console reads. Refused outside
sandbox mode: it must never write synthetic data into a real client's database.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from aptien_ops.domain import Tenant, TenantState
from aptien_ops.errors import Conflict, InvalidInput
from aptien_ops.permissions import Action
from aptien_ops.ports import ActivityStats, ActivityWriter
from aptien_ops.sandbox import DEMO_TENANTS
from aptien_ops.services.context import OpsContext
from aptien_ops.services.provisioning import ProvisioningService, ProvisionRequest
from aptien_ops.services.sandbox_partners import SeededPartners, seed_partners

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
    skipped: str = "already seeded"
    """Why nothing was written, when ``stats`` is None."""

    @classmethod
    def of(cls, tenant: Tenant, stats: ActivityStats | None, skipped: str = "") -> SeededTenant:
        return cls(tenant.name, tenant.region, tenant.cluster, stats, skipped or cls.skipped)

    def as_json(self) -> dict[str, object]:
        row: dict[str, object] = {
            "tenant": self.tenant,
            "region": self.region,
            "cluster": self.cluster,
        }
        if self.stats is None:
            row["skipped"] = self.skipped
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
        if not 0 <= self.seed <= MAX_SEED:  # it is part of the tenants' names
            raise InvalidInput(f"--seed must be between 0 and {MAX_SEED:,}, got {self.seed}")


MAX_SEED = 999_999
#: The named demo tenants' activity: enough that every example of ``inspect --help`` finds
#: rows in the last day or week.
DEMO_ACTIVITY = SeedRequest(tenants=len(DEMO_TENANTS), users=40, events=1_000, logins=1_500)


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
        self._sandbox_only()
        request.check()
        wanted = [
            ProvisionRequest(name, country, None, None, "Seeded Client", f"admin@{name}.example")
            for name, country in self.tenant_names(request)
        ]
        params = {"tenants": request.tenants, "events": request.events, "seed": request.seed}
        return self._fill(wanted, request, params, progress)

    def seed_demo(
        self, progress: Callable[[int, int, str], None] | None = None
    ) -> list[SeededTenant]:
        """Provision (or resume) the named demo tenants of the README and the ``--help``
        examples (:data:`DEMO_TENANTS`, with their contacts) and fill those still empty with
        :data:`DEMO_ACTIVITY`. A second run adds nothing.

        Raises: InvalidInput (production mode), Forbidden, Conflict, Unavailable.
        """
        self._sandbox_only()
        wanted = [
            ProvisionRequest(name, country, None, None, contact, email)
            for name, country, contact, email in DEMO_TENANTS
        ]
        params = {"tenants": "demo", "events": DEMO_ACTIVITY.events, "seed": DEMO_ACTIVITY.seed}
        return self._fill(wanted, DEMO_ACTIVITY, params, progress)

    def seed_partners(self, tenants: Iterable[str]) -> SeededPartners:
        """Write the sandbox's partner register (:mod:`aptien_ops.sandbox_partners`), assign
        its partners among ``tenants`` (those that exist), share a few contact cards and give
        the demo tenants their company and phone. A second run adds nothing.

        Raises: InvalidInput (production mode), Forbidden, Conflict, Unavailable.
        """
        self._sandbox_only()
        names = sorted(set(tenants))
        with self.ctx.audited(Action.SANDBOX_SEED, "sandbox", {"partners": "demo"}) as attempt:
            with attempt.transaction() as tx:
                found = [t for t in (tx.tenants.get(n) for n in names) if t is not None]
                seeded = seed_partners(tx, found, self.ctx.now(), self.ctx.identity.operator)
                attempt.ok(**seeded.as_json())
        return seeded

    def _sandbox_only(self) -> None:
        if not self.ctx.settings.sandbox:
            raise InvalidInput(
                "sandbox seed writes synthetic activity and runs only in sandbox mode"
            )

    def _fill(
        self,
        wanted: list[ProvisionRequest],
        request: SeedRequest,
        params: Mapping[str, object],
        progress: Callable[[int, int, str], None] | None,
    ) -> list[SeededTenant]:
        """Provision what is missing of ``wanted`` and write ``request``'s activity into each
        active or suspended tenant that has none yet (one ops-log entry for all)."""
        with self.ctx.audited(Action.SANDBOX_SEED, "sandbox", params) as attempt:
            writer = self._writer()
            results: list[SeededTenant] = []
            for done, want in enumerate(wanted, 1):
                with self.ctx.catalog.read() as tx:
                    existing = tx.tenants.get(want.name)
                if existing is None or existing.state == TenantState.PROVISIONING:
                    existing = self.provisioning.provision(want)
                if existing.state in (TenantState.ACTIVE, TenantState.SUSPENDED):
                    stats = self._write(writer, existing, request)
                    results.append(SeededTenant.of(existing, stats))
                else:  # cancelled or purged by the operator trying things: left as it is
                    results.append(SeededTenant.of(existing, None, skipped=str(existing.state)))
                if progress:
                    progress(done, len(wanted), want.name)
            attempt.ok(seeded=sum(1 for r in results if r.stats is not None))
        return results

    def _write(
        self, writer: ActivityWriter, tenant: Tenant, request: SeedRequest
    ) -> ActivityStats | None:
        """``request``'s activity written into ``tenant``, or None if it has activity already."""
        store = self.ctx.store(tenant.cluster or "")
        logins = request.logins if request.logins is not None else max(1, request.events // 5)
        try:
            with store.connect(tenant.name) as conn:
                return writer(
                    conn,
                    store.kind,
                    tenant.name,
                    users=request.users,
                    audit_events=request.events,
                    logins=logins,
                    seed=request.seed,
                    key_dir=self.ctx.settings.data_dir / "platform-keys",
                    now=self.ctx.now(),
                    marker=request.marker,
                )
        except Conflict:
            return None  # seeded already: reported as skipped
