"""The sandbox's billing (``sandbox init`` with ``sandbox billing-server`` running): the demo
customers of :data:`aptien_ops.sandbox_billing.DEMO_LICENCES` made in the sandbox's
Stripe-compatible server, linked to their tenants, then read into the catalog by a full
``billing sync``, exactly as production reads Stripe. Without ``[billing]``: nothing is done,
and billing shows "not connected"."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aptien_ops.domain import TenantState
from aptien_ops.domain.billing import BillingNotConnected, CustomerFacts, TenantBilling
from aptien_ops.errors import InvalidInput
from aptien_ops.permissions import Action
from aptien_ops.ports.sandbox import DemoBilling
from aptien_ops.sandbox_billing import DEMO_LICENCES
from aptien_ops.sandbox_partners import DEMO_COMPANIES
from aptien_ops.services.billing_sync import BillingSyncService
from aptien_ops.services.context import OpsContext


@dataclass(frozen=True)
class SeededBilling:
    """What one run did: customers made and linked, and the licences the sync then read."""

    connected: bool
    linked: int = 0
    licences: tuple[tuple[str, str], ...] = ()
    """(tenant, licence) of every demo tenant linked, after the sync."""

    def as_json(self) -> dict[str, object]:
        if not self.connected:
            hint = BillingNotConnected().hint
            return {"connected": False, "hint": hint}
        return {"connected": True, "linked": self.linked, "licences": dict(self.licences)}


class SandboxBillingService:
    def __init__(
        self,
        ctx: OpsContext,
        server: Callable[[], DemoBilling | None],
        sync: Callable[[], BillingSyncService],
    ) -> None:
        self.ctx = ctx
        self._server = server
        self._sync = sync

    def seed(self) -> SeededBilling:
        """Make a customer in the sandbox server for each demo tenant there that is not
        linked yet, link them, and sync in full. A second run links nothing new.

        Raises: InvalidInput (production mode), Forbidden, Unavailable (the server does not
        answer), Conflict."""
        if not self.ctx.settings.sandbox:
            raise InvalidInput("sandbox billing runs only in sandbox mode")
        server = self._server()
        if server is None:
            return SeededBilling(connected=False)
        with self.ctx.audited(Action.SANDBOX_SEED, "sandbox", {"billing": "demo"}) as attempt:
            made: list[CustomerFacts] = []
            with self.ctx.catalog.read() as tx:
                wanted = []
                for demo in DEMO_LICENCES:
                    tenant = tx.tenants.get(demo.tenant)
                    live = tenant is not None and tenant.state != TenantState.PURGED
                    if live and tx.billing.get(demo.tenant) is None:
                        wanted.append((demo, tenant))
            now = self.ctx.now()
            for demo, tenant in wanted:
                assert tenant is not None
                company = DEMO_COMPANIES.get(demo.tenant, (tenant.name, ""))[0]
                made.append(
                    server.seed_customer(demo, name=company, email=tenant.contact_email, now=now)
                )
            with attempt.transaction() as tx:
                for customer in made:
                    tx.billing.link(TenantBilling(customer.tenant or "", customer.customer_id))
                attempt.ok(linked=len(made))
        self._sync().sync(full=True)
        with self.ctx.catalog.read() as tx:
            rows = [tx.billing.get(d.tenant) for d in DEMO_LICENCES]
        licences = tuple((r.tenant, str(r.subscription_status)) for r in rows if r is not None)
        return SeededBilling(True, len(made), licences)
