"""Stripe's objects reduced to the console's billing records, and nothing else.

Every function takes one object as stripe-python hands it over (a ``StripeObject``, read by
key) and returns a record of :mod:`aptien_ops.domain.billing`: the ids, the licence's status
and period, the invoice's number, amount, currency, status and due date. A card, an address,
an e-mail or a name is never read, so it cannot be passed on.

Both shapes of Stripe's API are read: the period's end on the subscription (before 2025-03)
or on its items (since).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Protocol

from aptien_ops.domain.billing import (
    BillingEvent,
    CustomerFacts,
    InvoiceFacts,
    SubscriptionFacts,
    licence_state,
)


class Keyed(Protocol):
    """What the reducers read: an object by key (a ``StripeObject`` or a dict)."""

    def __getitem__(self, key: str, /) -> Any: ...

    def __contains__(self, key: object, /) -> bool: ...


def _get(obj: Keyed, key: str) -> Any:
    return obj[key] if key in obj else None


def _time(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if isinstance(value, int) else None


def _id(ref: Any) -> str:
    """An id, whether Stripe sent the id or the expanded object."""
    return str(ref if isinstance(ref, str) else ref["id"])


def customer(obj: Keyed) -> CustomerFacts:
    metadata = _get(obj, "metadata")
    tenant = _get(metadata, "tenant") if metadata is not None else None
    return CustomerFacts(
        customer_id=_id(obj["id"]),
        tenant=str(tenant) if tenant else None,
        deleted=bool(_get(obj, "deleted")),
    )


def _period_end(obj: Keyed) -> datetime | None:
    end = _time(_get(obj, "current_period_end"))
    if end is not None:
        return end
    items = _get(obj, "items")
    ends: Iterable[datetime | None] = (
        (_time(_get(item, "current_period_end")) for item in (_get(items, "data") or ()))
        if items is not None
        else ()
    )
    return max((e for e in ends if e is not None), default=None)


def subscription(obj: Keyed) -> SubscriptionFacts:
    """Raises: InvalidInput (a status the console does not know)."""
    created = _time(_get(obj, "created"))
    return SubscriptionFacts(
        subscription_id=_id(obj["id"]),
        customer_id=_id(obj["customer"]),
        status=licence_state(str(obj["status"])),
        current_period_end=_period_end(obj),
        cancel_at_period_end=bool(_get(obj, "cancel_at_period_end"))
        or _get(obj, "cancel_at") is not None,
        created=created or datetime.fromtimestamp(0, UTC),
    )


def invoice(obj: Keyed) -> InvoiceFacts:
    number = _get(obj, "number")
    currency = _get(obj, "currency")
    status = _get(obj, "status")
    created = _time(_get(obj, "created"))
    return InvoiceFacts(
        invoice_id=_id(obj["id"]),
        customer_id=_id(obj["customer"]),
        number=str(number)[:64] if number else None,
        amount_due=int(_get(obj, "amount_due") or 0),
        currency=str(currency)[:3].lower() if currency else "",
        status=str(status)[:16] if status else None,
        due_date=_time(_get(obj, "due_date")),
        created=created or datetime.fromtimestamp(0, UTC),
    )


_SUBJECTS: dict[str, Callable[[Keyed], CustomerFacts | SubscriptionFacts | InvoiceFacts]] = {
    "customer": customer,
    "subscription": subscription,
    "invoice": invoice,
}


def event(obj: Keyed) -> BillingEvent:
    """An event with the object it carries reduced (``subject`` None: a kind of object the
    console keeps nothing of, e.g. a payment method)."""
    data = _get(obj, "data")
    carried = _get(data, "object") if data is not None else None
    kind = _get(carried, "object") if carried is not None else None
    reduce = _SUBJECTS.get(str(kind))
    subject = reduce(carried) if reduce is not None and carried is not None else None
    if isinstance(subject, CustomerFacts) and obj["type"] == "customer.deleted":
        subject = replace(subject, deleted=True)
    return BillingEvent(
        event_id=_id(obj["id"]),
        type=str(obj["type"])[:80],
        created=_time(_get(obj, "created")) or datetime.fromtimestamp(0, UTC),
        subject=subject,
    )
