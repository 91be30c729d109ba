"""How a fact read from Stripe meets what a tenant's billing row keeps: per object, the newer
wins.

A row keeps two of Stripe's objects, each with its own mark: the subscription (the licence)
and the latest invoice. An event about one is weighed against that object's mark only, so an
event about the subscription delivered late still applies after a newer event about an
invoice, and the other way round. The latest invoice is the newest finalised one, else the
newest draft (by the invoice's ``created``, as a full sync picks it): an event about an older
invoice never replaces it, whenever it arrives, and an event about the invoice kept applies
only if it is not older than the newest applied to it.

Stripe stamps events in whole seconds and its objects carry no version, so two events about
one object in the same second are ordered by the steps Stripe only ever takes forward: a
subscription leaves ``incomplete`` and never comes back, and ``canceled`` and
``incomplete_expired`` are final; an invoice goes draft → open → uncollectible → paid or
void, never back. Of two events of one second, the one that would step back is stale; two on
the same step (``active`` and ``past_due``, an amount changed) apply in the order they arrive.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from aptien_ops.domain.billing import (
    CustomerFacts,
    InvoiceFacts,
    LicenceGroup,
    LicenceState,
    SubscriptionFacts,
    TenantBilling,
    licence_group,
)

#: The fields of a tenant's billing that Stripe's objects set (what a change is made of).
KEPT = (
    "subscription_id",
    "subscription_status",
    "current_period_end",
    "cancel_at_period_end",
    "invoice_id",
    "invoice_number",
    "invoice_amount",
    "invoice_currency",
    "invoice_status",
    "invoice_due",
)


def _not_older(at: datetime, mark: datetime | None) -> bool:
    return mark is None or at >= mark


#: How far along its one-way steps a subscription's status is (statuses of one step move
#: back and forth: ``active`` and ``past_due``).
_SUBSCRIPTION_STEP = {
    LicenceState.INCOMPLETE: 0,
    LicenceState.CANCELED: 2,
    LicenceState.INCOMPLETE_EXPIRED: 2,
}
#: The same for an invoice's status (``uncollectible`` may still be paid or voided).
_INVOICE_STEP = {"draft": 0, "open": 1, "uncollectible": 2, "paid": 3, "void": 3}


def _steps_back(at: datetime, mark: datetime | None, step: int, kept_step: int) -> bool:
    """Whether an event of the same second as ``mark`` would undo a step Stripe only takes
    forward (the kept state is then the newer one)."""
    return at == mark and step < kept_step


def _stamped(row: TenantBilling) -> TenantBilling:
    """``row`` with ``updated_at`` the newer of its marks."""
    marks = [m for m in (row.subscription_updated_at, row.invoice_updated_at) if m is not None]
    return replace(row, updated_at=max(marks, default=row.updated_at))


def with_subscription(
    row: TenantBilling, sub: SubscriptionFacts | None, at: datetime
) -> TenantBilling:
    """``row`` holding ``sub`` (None: no subscription) as Stripe had it at ``at``."""
    return _stamped(
        replace(
            row,
            subscription_id=sub.subscription_id if sub else None,
            subscription_status=sub.status if sub else LicenceState.NONE,
            current_period_end=sub.current_period_end if sub else None,
            cancel_at_period_end=sub.cancel_at_period_end if sub else False,
            subscription_updated_at=at,
        )
    )


def with_invoice(row: TenantBilling, invoice: InvoiceFacts | None, at: datetime) -> TenantBilling:
    """``row`` holding ``invoice`` (None: no invoice) as Stripe had it at ``at``."""
    return _stamped(
        replace(
            row,
            invoice_id=invoice.invoice_id if invoice else None,
            invoice_created=invoice.created if invoice else None,
            invoice_number=invoice.number if invoice else None,
            invoice_amount=invoice.amount_due if invoice else None,
            invoice_currency=invoice.currency if invoice else None,
            invoice_status=invoice.status if invoice else None,
            invoice_due=invoice.due_date if invoice else None,
            invoice_updated_at=at,
        )
    )


def invoice_rank(
    status: str | None, created: datetime, invoice_id: str
) -> tuple[bool, datetime, str]:
    """The order of invoices as the latest: finalised over draft, then newer, then by id (two
    of the same second)."""
    return (status != "draft", created, invoice_id)


def _replaces(row: TenantBilling, sub: SubscriptionFacts) -> bool:
    """Whether ``sub`` is the tenant's licence now: the one kept, or a live one where the kept
    one has ended (an ended subscription never replaces a live one)."""
    if row.subscription_id in (None, sub.subscription_id):
        return True
    ended = (LicenceGroup.EXPIRED, LicenceGroup.NONE)
    return row.group in ended or licence_group(sub.status) not in ended


def _with_invoice_event(
    row: TenantBilling, inv: InvoiceFacts, at: datetime
) -> TenantBilling | None:
    if row.invoice_id == inv.invoice_id or row.invoice_id is None or row.invoice_created is None:
        # The invoice kept, or none to compare with (none yet, or a row kept before invoices
        # had ids): by the event's time.
        if not _not_older(at, row.invoice_updated_at):
            return None
        if row.invoice_id == inv.invoice_id and _steps_back(
            at,
            row.invoice_updated_at,
            _INVOICE_STEP.get(inv.status or "", 0),
            _INVOICE_STEP.get(row.invoice_status or "", 0),
        ):
            return None
        legacy = row.invoice_id != inv.invoice_id and row.invoice_status not in (None, "draft")
        if inv.status == "draft" and legacy:
            return row  # next period's draft: the invoice to show is still the finalised one
        return with_invoice(row, inv, at)
    kept = invoice_rank(row.invoice_status, row.invoice_created, row.invoice_id)
    if invoice_rank(inv.status, inv.created, inv.invoice_id) > kept:
        return with_invoice(row, inv, at)
    return None if inv.created <= row.invoice_created else row  # older, or a newer draft


def merged(
    row: TenantBilling, subject: CustomerFacts | SubscriptionFacts | InvoiceFacts, at: datetime
) -> TenantBilling | None:
    """``row`` with ``subject`` applied as Stripe had it at ``at`` (an event's ``created``);
    None if it is older than what ``row`` keeps of that object (stale)."""
    if isinstance(subject, SubscriptionFacts):
        if not _not_older(at, row.subscription_updated_at):
            return None
        if row.subscription_id == subject.subscription_id and _steps_back(
            at,
            row.subscription_updated_at,
            _SUBSCRIPTION_STEP.get(subject.status, 1),
            _SUBSCRIPTION_STEP.get(row.subscription_status, 1),
        ):
            return None
        return with_subscription(row, subject, at) if _replaces(row, subject) else row
    if isinstance(subject, InvoiceFacts):
        return _with_invoice_event(row, subject, at)
    if subject.deleted:  # the customer is gone, and its subscription and invoices with it
        sub_newer = _not_older(at, row.subscription_updated_at)
        invoice_newer = _not_older(at, row.invoice_updated_at)
        if not (sub_newer or invoice_newer):
            return None
        cleared = with_subscription(row, None, at) if sub_newer else row
        return with_invoice(cleared, None, at) if invoice_newer else cleared
    return row
