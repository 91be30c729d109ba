"""Suspending a tenant unpaid for too long (``[billing] suspend_after_unpaid_days``; off
unless set), as part of ``billing notify``.

A tenant is suspended only after its client was told: N days after the first non-payment
notice of the licence's period went out (a ``past_due`` or ``unpaid`` campaign with a row
sent) while the licence is still ``past_due`` or ``unpaid`` and the tenant active. The
suspension goes through the lifecycle service like ``tenant suspend``: the acting operator
must be allowed to suspend (an operator or admin; the billing role alone is refused, and the
refusal is logged and listed), the reason is recorded with the tenant's state change, and it
is its own ``tenant.suspend`` entry of the ops log.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from aptien_ops.domain import Tenant, TenantState
from aptien_ops.domain.billing import LicenceGroup, LicenceState, TenantBilling, licence_group
from aptien_ops.domain.billing_notices import NoticeKind, subject_key
from aptien_ops.domain.values import iso
from aptien_ops.errors import OpsError
from aptien_ops.ports import CatalogTx

if TYPE_CHECKING:
    from aptien_ops.services.lifecycle import LifecycleService

_NON_PAYMENT = frozenset(s for s in LicenceState if licence_group(s) is LicenceGroup.NON_PAYMENT)


@dataclass(frozen=True)
class Suspension:
    """A tenant unpaid for too long: due (a dry run), suspended, or not (and why)."""

    tenant: str
    told_at: datetime
    """When its first non-payment notice of the period went out."""
    outcome: str
    error: OpsError | None = field(default=None, compare=False)

    def as_json(self) -> dict[str, object]:
        return {"tenant": self.tenant, "told_at": iso(self.told_at), "outcome": self.outcome}


def told_of_non_payment(tx: CatalogTx, billing: TenantBilling) -> datetime | None:
    """When the first non-payment notice of the licence's period went out, if one did."""
    times = []
    for kind in (NoticeKind.PAST_DUE, NoticeKind.UNPAID):
        key = subject_key(billing.tenant, str(kind), billing.current_period_end)
        campaign = tx.breach_outbox.campaign(key)
        if campaign is not None and any(c.sent for c in tx.breach_outbox.counts(key)):
            times.append(campaign.created_at)
    return min(times, default=None)


def due_suspensions(
    tx: CatalogTx, now: datetime, days: int
) -> Iterator[tuple[Tenant, TenantBilling, datetime]]:
    """The active tenants still past due or unpaid ``days`` after they were told."""
    for name, billing in tx.billing.statuses(states=_NON_PAYMENT):
        tenant = tx.tenants.get(name)
        if billing is None or tenant is None or tenant.state != TenantState.ACTIVE:
            continue
        told = told_of_non_payment(tx, billing)
        if told is not None and now - told >= timedelta(days=days):
            yield tenant, billing, told


def suspend_unpaid(
    lifecycle: LifecycleService, due: list[tuple[Tenant, TenantBilling, datetime]], days: int
) -> list[Suspension]:
    """Suspend each of ``due`` through the lifecycle; a refusal or failure is listed."""
    done = []
    for tenant, billing, told in due:
        invoice = f", invoice {billing.invoice_number}" if billing.invoice_number else ""
        reason = (
            f"billing: {billing.subscription_status} {days} days after the non-payment notice"
            f" of {told.date().isoformat()}{invoice}"
        )
        try:
            lifecycle.suspend(tenant.name, reason)
        except OpsError as exc:
            done.append(Suspension(tenant.name, told, f"not suspended: {exc.message}", exc))
            continue
        done.append(Suspension(tenant.name, told, "suspended"))
    return done
