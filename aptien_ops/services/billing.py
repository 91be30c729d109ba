"""Billing: linking a tenant to the Stripe customer that pays for it, and its licence status.

The ``billing`` role (and admins) link and unlink, and see everything the catalog keeps of a
tenant's billing; every other member of staff sees its licence state only
(``domain.billing.STATE_ONLY_KEYS``). Stripe is reached through a :class:`BillingSource`
only to check that a customer exists before it is linked; ``billing sync`` (its own module)
fills in the subscription and invoice facts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from aptien_ops.domain import TenantState, validate_tenant_name
from aptien_ops.domain.billing import (
    BillingNotConnected,
    BillingStatus,
    CustomerFacts,
    LicenceGroup,
    LicenceState,
    TenantBilling,
    licence_group,
    validate_customer_id,
)
from aptien_ops.errors import Conflict, InvalidInput, NotFound
from aptien_ops.permissions import Action, offered
from aptien_ops.ports import CatalogTx
from aptien_ops.ports.billing import BillingSource
from aptien_ops.services.billing_results import BillingSection, BillingSummary, NotConnected
from aptien_ops.services.context import Attempt, OpsContext, existing_tenant

#: What ``--state`` accepts: a licence state, or a group of them.
STATE_FILTERS = tuple(dict.fromkeys([*map(str, LicenceState), *map(str, LicenceGroup)]))


def parse_state_filter(text: str) -> frozenset[LicenceState]:
    """The licence states ``text`` names: one state (``past_due``) or a group
    (``non-payment``, ``expired``, …). Raises: InvalidInput naming the choices."""
    if text in {str(s) for s in LicenceState}:
        return frozenset({LicenceState(text)})
    if text in {str(g) for g in LicenceGroup}:
        return frozenset(s for s in LicenceState if licence_group(s) == LicenceGroup(text))
    raise InvalidInput(
        f"unknown licence state {text[:30]!r}", hint=f"one of {', '.join(STATE_FILTERS)}"
    )


@dataclass(frozen=True)
class BillingLink:
    """A tenant linked to (or unlinked from) its Stripe customer."""

    tenant: str
    customer_id: str
    linked: bool

    def as_json(self) -> dict[str, object]:
        return {"tenant": self.tenant, "customer": self.customer_id, "linked": self.linked}


@dataclass(frozen=True)
class BillingStatuses:
    """``billing status``: the tenants' billing, in full or their licence state only."""

    rows: tuple[BillingStatus, ...]
    full: bool

    def as_json(self) -> list[dict[str, object]]:
        return [row.as_json() for row in self.rows]


class BillingService:
    def __init__(self, ctx: OpsContext, source: Callable[[], BillingSource | None]) -> None:
        self.ctx = ctx
        #: Stripe as ``[billing]`` configures it; None when billing is not connected.
        self._source = source

    def source(self) -> BillingSource:
        """Raises: Unavailable (billing is not connected, exit 6, with the hint)."""
        found = self._source()
        if found is None:
            raise BillingNotConnected()
        return found

    # -- links -----------------------------------------------------------------------------

    def link(self, tenant: str, customer_id: str) -> BillingLink:
        """Link ``tenant`` to the Stripe customer ``customer_id``, once Stripe says it exists
        (and, if its ``tenant`` metadata names a tenant, that it names this one).

        Raises: InvalidInput (name or id shape, before anything is touched), NotFound
        (tenant, customer), Forbidden, Conflict (the tenant is linked or purged, the customer
        is linked to another tenant or says it is another tenant's), Unavailable (not
        connected, Stripe unreachable)."""
        validate_tenant_name(tenant)
        validate_customer_id(customer_id)
        params = {"customer": customer_id}
        with self.ctx.audited(Action.BILLING_LINK, tenant, params) as attempt:
            with self.ctx.catalog.read() as tx:
                self._linkable(tx, tenant, customer_id)
            customer = self.source().customer(customer_id)
            _belongs(customer, tenant)
            _record_link(attempt, tenant, customer_id)
        return BillingLink(tenant, customer_id, linked=True)

    def link_new(self, tenant: str) -> BillingLink:
        """Create the Stripe customer that pays for ``tenant`` — named after its company (else
        the tenant's name), with its representative's e-mail and the ``tenant`` metadata key —
        and link it.

        Raises: InvalidInput, NotFound (tenant), Forbidden, Conflict (the tenant is linked:
        refused before Stripe is asked), Unavailable (not connected, Stripe unreachable)."""
        validate_tenant_name(tenant)
        with self.ctx.audited(Action.BILLING_LINK, tenant, {"customer": "new"}) as attempt:
            with self.ctx.catalog.read() as tx:
                self._linkable(tx, tenant, None)
                found = existing_tenant(tx, tenant)
            customer = self.source().create_customer(
                name=found.company or found.name, email=found.contact_email, tenant=tenant
            )
            _record_link(attempt, tenant, customer.customer_id)
        return BillingLink(tenant, customer.customer_id, linked=True)

    @staticmethod
    def _linkable(tx: CatalogTx, tenant: str, customer_id: str | None) -> None:
        """Refuse before Stripe is asked: an unknown tenant, a taken link (``customer_id``
        None: a customer yet to be created), a purged tenant."""
        if existing_tenant(tx, tenant).state == TenantState.PURGED:
            raise Conflict(f"the tenant {tenant} was purged: it has no licence to pay for")
        linked = tx.billing.get(tenant)
        if linked is not None and linked.customer_id == customer_id:
            raise Conflict(f"the tenant {tenant} is linked to {customer_id} already")
        if linked is not None:
            raise Conflict(
                f"the tenant {tenant} is linked to the Stripe customer {linked.customer_id}",
                hint=f"aptien-ops billing unlink {tenant}, then link it again",
            )
        other = tx.billing.by_customer(customer_id) if customer_id is not None else None
        if other is not None:
            raise Conflict(
                f"the Stripe customer {customer_id} is linked to the tenant {other.tenant}",
                hint="one customer pays for one tenant",
            )

    def unlink(self, tenant: str) -> BillingLink:
        """Forget the tenant's link and every billing fact kept of it (Stripe keeps its own).

        Raises: InvalidInput, NotFound (tenant, or not linked), Forbidden."""
        validate_tenant_name(tenant)

        def remove(tx: CatalogTx) -> BillingLink:
            existing_tenant(tx, tenant, for_update=True)
            linked = tx.billing.get(tenant, for_update=True)
            if linked is None:
                raise NotFound(
                    f"the tenant {tenant} is not linked to a Stripe customer",
                    hint="aptien-ops billing status",
                )
            tx.billing.unlink(tenant)
            return BillingLink(tenant, linked.customer_id, linked=False)

        return self.ctx.mutate(Action.BILLING_UNLINK, tenant, {}, remove)

    # -- status ----------------------------------------------------------------------------

    def status(
        self, tenant: str | None = None, state: str | None = None, *, full: bool | None = None
    ) -> BillingStatuses:
        """Every live tenant's billing (or ``tenant``'s), of the licence ``state`` or group if
        given, by name: in full for the billing role and admins, the licence state for every
        other role. ``full=True`` asks for everything and is refused (Forbidden, logged) to
        anyone else; ``full=False`` asks for the state only.

        Raises: InvalidInput, NotFound (tenant), Forbidden."""
        states, action = self._status_request(tenant, state, full)

        def read(tx: CatalogTx) -> BillingStatuses:
            shown = self._full(tx) if full is None else full
            if tenant is not None:
                existing_tenant(tx, tenant)
            rows = tx.billing.statuses(tenant=tenant, states=states)
            return BillingStatuses(tuple(BillingStatus(n, b, shown) for n, b in rows), shown)

        return self.ctx.view(action, tenant or "tenants", read)

    def status_json(
        self, tenant: str | None = None, state: str | None = None, *, full: bool | None = None
    ) -> str:
        """:meth:`status` as one JSON array text (each ``BillingStatus.as_json()``), ASCII
        only, written by the catalog database: the fast path of ``billing status --json``.

        Raises: as :meth:`status`."""
        states, action = self._status_request(tenant, state, full)

        def read(tx: CatalogTx) -> str:
            shown = self._full(tx) if full is None else full
            if tenant is not None:
                existing_tenant(tx, tenant)
            return tx.billing.status_json(tenant=tenant, states=states, full=shown)

        return self.ctx.view(action, tenant or "tenants", read)

    def summary(self) -> BillingSummary | NotConnected:
        """The dashboard's billing card: per region, the linked tenants past due, unpaid and
        ending (not renewing) within the longest of ``[billing] notice_days``; one aggregate
        query. Billing not configured: :class:`NotConnected` with the hint (nothing read).

        Raises: Forbidden."""
        settings = self.ctx.settings.billing
        if settings is None:
            return NotConnected.now()
        within = max(settings.notice_days)
        now = self.ctx.now()

        def read(tx: CatalogTx) -> BillingSummary:
            found = tx.billing.attention(now, now + timedelta(days=within))
            return BillingSummary(within, tuple(found))

        return self.ctx.view(Action.BILLING_STATE, "tenants", read)

    def section(self, tenant: str) -> BillingSection:
        """``tenant``'s billing for its detail, cut as :meth:`status` cuts it for the operator
        (in full for the billing role and admins, the licence state for everyone else), and
        whether billing is connected.

        Raises: InvalidInput, NotFound, Forbidden."""
        found = self.status(tenant)
        # A purged tenant (a tombstone) has no licence: billing status leaves it out.
        row = found.rows[0] if found.rows else BillingStatus(tenant, None, found.full)
        connected = self.ctx.settings.billing is not None
        return BillingSection(row, None if connected else NotConnected.now())

    def sees_all(self) -> bool:
        """Whether the acting operator sees everything kept (else the licence state only)."""
        roles = self.ctx.my_roles()
        return offered(roles, Action.BILLING_VIEW, self.ctx.read_only).allowed

    def _status_request(
        self, tenant: str | None, state: str | None, full: bool | None
    ) -> tuple[frozenset[LicenceState] | None, Action]:
        if tenant is not None:
            validate_tenant_name(tenant)
        states = parse_state_filter(state) if state is not None else None
        return states, Action.BILLING_VIEW if full else Action.BILLING_STATE

    def _full(self, tx: CatalogTx) -> bool:
        return offered(self.ctx.roles(tx), Action.BILLING_VIEW, self.ctx.read_only).allowed


def _record_link(attempt: Attempt, tenant: str, customer_id: str) -> None:
    """The link, with the attempt's entry, in one transaction. Raises: NotFound (the tenant
    went meanwhile), Conflict (linked meanwhile)."""
    with attempt.transaction() as tx:
        existing_tenant(tx, tenant, for_update=True)
        tx.billing.link(TenantBilling(tenant, customer_id))
        attempt.ok(customer=customer_id)


def _belongs(customer: CustomerFacts, tenant: str) -> None:
    """Raises: NotFound (a deleted customer), Conflict (its metadata names another tenant)."""
    if customer.deleted:
        raise NotFound(f"the Stripe customer {customer.customer_id} was deleted")
    if customer.tenant is not None and customer.tenant != tenant:
        raise Conflict(
            f"the Stripe customer {customer.customer_id} says it is the tenant"
            f" {customer.tenant[:40]!r}, not {tenant}",
            hint="check the customer's tenant metadata in the Stripe dashboard",
        )
