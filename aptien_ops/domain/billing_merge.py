"""How a fact read from Stripe meets what a tenant's billing row keeps: per object, the newer
wins.

A row keeps two of Stripe's objects, each with its own mark: the subscription (the licence)
and the latest invoice. An event about one is weighed against that object's mark only, so an
event about the subscription delivered late still applies after a newer event about an
invoice, and the other way round. A customer may have several subscriptions: each is kept
with its own mark (``billing_subscriptions``), an event about one is weighed against that one
only, and the licence is the customer's newest live subscription, else its newest (by their
``created``), as a full sync picks it. The latest invoice is the newest finalised one, else the
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

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from aptien_ops.domain.billing import (
    CustomerFacts,
    InvoiceFacts,
    KeptSubscription,
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


def licence_of(subs: Iterable[SubscriptionFacts]) -> SubscriptionFacts | None:
    """A customer's licence among its subscriptions: the newest live one, else the newest."""
    return max(subs, key=_licence_rank, default=None)


def _licence_rank(sub: SubscriptionFacts) -> tuple[bool, datetime, str]:
    return (licence_group(sub.status) is not LicenceGroup.EXPIRED, sub.created, sub.subscription_id)


def row_subscription(row: TenantBilling) -> KeptSubscription | None:
    """The subscription ``row`` holds, as a kept one dated by its mark (a row written before
    subscriptions were kept apart; its ``created`` is not known). None: it holds none."""
    mark = row.subscription_updated_at
    if row.subscription_id is None or mark is None:
        return None
    facts = SubscriptionFacts(
        row.subscription_id,
        row.customer_id,
        row.subscription_status,
        row.current_period_end,
        row.cancel_at_period_end,
        mark,
    )
    return KeptSubscription(facts, mark)


def _known(row: TenantBilling, kept: Sequence[KeptSubscription]) -> dict[str, KeptSubscription]:
    """The customer's subscriptions by id: those kept, and the row's own if it is not among
    them (:func:`row_subscription`)."""
    known = {k.facts.subscription_id: k for k in kept}
    own = row_subscription(row)
    if own is not None:
        known.setdefault(own.facts.subscription_id, own)
    return known


def _with_subscription_event(
    row: TenantBilling, sub: SubscriptionFacts, at: datetime, kept: Sequence[KeptSubscription]
) -> TenantBilling | None:
    known = _known(row, kept)
    before = known.get(sub.subscription_id)
    if before is not None:
        if not _not_older(at, before.mark):
            return None
        step, kept_step = (
            _SUBSCRIPTION_STEP.get(sub.status, 1),
            _SUBSCRIPTION_STEP.get(before.facts.status, 1),
        )
        if _steps_back(at, before.mark, step, kept_step):
            return None
    known[sub.subscription_id] = KeptSubscription(sub, at)
    marks = [k.mark for k in known.values()]
    return with_subscription(row, licence_of(k.facts for k in known.values()), max(marks))


def ended_with_customer(kept: Sequence[KeptSubscription], at: datetime) -> list[KeptSubscription]:
    """The customer deleted at ``at``: each of its subscriptions not changed since, cancelled
    (so that an older event about one is stale afterwards)."""
    return [
        KeptSubscription(replace(k.facts, status=LicenceState.CANCELED), at)
        for k in kept
        if _not_older(at, k.mark)
    ]


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
    row: TenantBilling,
    subject: CustomerFacts | SubscriptionFacts | InvoiceFacts,
    at: datetime,
    kept: Sequence[KeptSubscription] = (),
) -> TenantBilling | None:
    """``row`` with ``subject`` applied as Stripe had it at ``at`` (an event's ``created``);
    None if it is older than what is kept of that object (stale). ``kept``: the customer's
    subscriptions as kept (a subscription event is weighed against its own, and the licence
    is chosen among them; the caller then keeps ``KeptSubscription(subject, at)``)."""
    if isinstance(subject, SubscriptionFacts):
        return _with_subscription_event(row, subject, at, kept)
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
