"""Billing: what the console keeps of a tenant's Stripe records, and nothing more.

Stripe holds the customer, its cards and addresses; the console keeps only what operations
need to tell a client about its licence and its payments (policy, client data 5 and 11). Every
object read from Stripe is reduced to a :class:`CustomerFacts`, :class:`SubscriptionFacts` or
:class:`InvoiceFacts` at the adapter's edge, before anything is persisted, logged or shown: no
card number, CVC, expiry, fingerprint or billing address can reach the catalog because these
records have no field to hold one.

Amounts are in the currency's minor unit (cents), as Stripe sends them. Times are aware UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from aptien_ops.domain.values import iso
from aptien_ops.errors import InvalidInput, Unavailable

#: A Stripe customer id as the console accepts it on the command line.
CUSTOMER_ID = re.compile(r"^cus_[A-Za-z0-9]{1,64}$")


class LicenceState(StrEnum):
    """A tenant's licence, from its subscription's status (``none``: no subscription)."""

    ACTIVE = "active"
    TRIALING = "trialing"
    PAST_DUE = "past_due"
    UNPAID = "unpaid"
    CANCELED = "canceled"
    INCOMPLETE = "incomplete"
    INCOMPLETE_EXPIRED = "incomplete_expired"
    PAUSED = "paused"
    NONE = "none"


class LicenceGroup(StrEnum):
    """What an operator acts on: the licence states grouped by consequence."""

    GOOD = "good"
    """``active`` or ``trialing``."""
    NON_PAYMENT = "non-payment"
    """``past_due`` or ``unpaid``: the client must be told."""
    EXPIRED = "expired"
    """``canceled``, ``incomplete_expired`` or ``paused``: the licence has ended."""
    PENDING = "pending"
    """``incomplete``: the first payment has not gone through yet."""
    NONE = "none"
    """No subscription (or not linked to Stripe)."""


_GROUPS = {
    LicenceState.ACTIVE: LicenceGroup.GOOD,
    LicenceState.TRIALING: LicenceGroup.GOOD,
    LicenceState.PAST_DUE: LicenceGroup.NON_PAYMENT,
    LicenceState.UNPAID: LicenceGroup.NON_PAYMENT,
    LicenceState.CANCELED: LicenceGroup.EXPIRED,
    LicenceState.INCOMPLETE_EXPIRED: LicenceGroup.EXPIRED,
    LicenceState.PAUSED: LicenceGroup.EXPIRED,
    LicenceState.INCOMPLETE: LicenceGroup.PENDING,
    LicenceState.NONE: LicenceGroup.NONE,
}


def licence_state(subscription_status: str | None) -> LicenceState:
    """The licence state of a Stripe subscription status (an unknown status: ``none`` is
    wrong, so it raises — Stripe adding a status must be noticed, not hidden)."""
    if subscription_status is None:
        return LicenceState.NONE
    try:
        return LicenceState(subscription_status)
    except ValueError:
        raise InvalidInput(
            f"Stripe sent a subscription status this console does not know: "
            f"{subscription_status[:40]!r}",
            hint="upgrade aptien-ops",
        ) from None


def licence_group(state: LicenceState) -> LicenceGroup:
    return _GROUPS[state]


def validate_customer_id(text: str) -> str:
    """Raises: InvalidInput (the id's shape spelled out)."""
    if not isinstance(text, str) or not CUSTOMER_ID.fullmatch(text):
        raise InvalidInput(
            "a Stripe customer id is cus_ followed by letters and digits",
            hint="copy it from the Stripe dashboard, or use --create",
        )
    return text


class BillingNotConnected(Unavailable):
    """``ops.toml`` has no ``[billing]`` section: the console reaches no Stripe (exit 6 for a
    command that needs it, with the hint; a state to show, never a traceback)."""

    label = "not connected"

    def __init__(self) -> None:
        super().__init__(
            "billing is not connected: the config has no [billing] section",
            hint="add [billing] with api_key_file or api_key_env (docs/billing.md)",
        )


@dataclass(frozen=True)
class CustomerFacts:
    """A Stripe customer, reduced: its id, whose tenant it says it is, and when it was read."""

    customer_id: str
    tenant: str | None
    """The ``tenant`` metadata key, if set."""
    deleted: bool = False


@dataclass(frozen=True)
class SubscriptionFacts:
    """A subscription, reduced to the licence it grants."""

    subscription_id: str
    customer_id: str
    status: LicenceState
    current_period_end: datetime | None
    """The licence's end (the end of the paid period)."""
    cancel_at_period_end: bool
    created: datetime


@dataclass(frozen=True)
class KeptSubscription:
    """A subscription as the catalog keeps it, with its mark: the ``created`` of the newest
    event applied to it, or when a full sync read it."""

    facts: SubscriptionFacts
    mark: datetime


@dataclass(frozen=True)
class InvoiceFacts:
    """An invoice, reduced to what a non-payment notice and the console show."""

    invoice_id: str
    customer_id: str
    number: str | None
    amount_due: int
    currency: str
    status: str | None
    """``draft``, ``open``, ``paid``, ``uncollectible`` or ``void``."""
    due_date: datetime | None
    created: datetime


@dataclass(frozen=True)
class BillingEvent:
    """One Stripe event, reduced to the object it carries (or to nothing the console keeps:
    ``subject`` is None for a type the console ignores)."""

    event_id: str
    type: str
    created: datetime
    subject: CustomerFacts | SubscriptionFacts | InvoiceFacts | None


@dataclass(frozen=True)
class TenantBilling:
    """What the catalog keeps of one tenant's billing: its link to Stripe and the newest facts
    applied. Nothing else of Stripe's objects is ever stored."""

    tenant: str
    customer_id: str
    subscription_id: str | None = None
    subscription_status: LicenceState = LicenceState.NONE
    current_period_end: datetime | None = None
    cancel_at_period_end: bool = False
    invoice_number: str | None = None
    invoice_amount: int | None = None
    invoice_currency: str | None = None
    invoice_status: str | None = None
    invoice_due: datetime | None = None
    last_event_id: str | None = None
    updated_at: datetime | None = None
    """When Stripe last changed what is kept here: the newer of the two marks below (None:
    never synced)."""
    subscription_updated_at: datetime | None = None
    """The subscription's mark: the ``created`` of the newest event applied to its fields, or
    the read time of a full sync. An older event about the subscription never overwrites it."""
    invoice_id: str | None = None
    """The latest invoice's id (not card data: it names the invoice in Stripe)."""
    invoice_created: datetime | None = None
    """When the latest invoice was made: an older invoice never replaces it."""
    invoice_updated_at: datetime | None = None
    """The invoice's mark, as the subscription's: an older event about it never overwrites it."""

    @property
    def group(self) -> LicenceGroup:
        return licence_group(self.subscription_status)

    def ends_within(self, now: datetime, days: int) -> bool:
        """The licence ends (its period ends and it will not renew, or it is not in good
        standing) within ``days`` days of ``now``."""
        end = self.current_period_end
        if end is None or end < now:
            return False
        return end - now <= timedelta(days=days)

    def as_json(self) -> dict[str, object]:
        """The console's JSON for a tenant's billing (``billing status --json``)."""
        return {
            "tenant": self.tenant,
            "customer": self.customer_id,
            "subscription": self.subscription_id,
            "licence": self.subscription_status.value,
            "group": self.group.value,
            "period_end": iso(self.current_period_end),
            "cancel_at_period_end": self.cancel_at_period_end,
            "invoice": {
                "id": self.invoice_id,
                "number": self.invoice_number,
                "amount": self.invoice_amount,
                "currency": self.invoice_currency,
                "status": self.invoice_status,
                "due": iso(self.invoice_due),
            },
            "last_event": self.last_event_id,
            "updated_at": iso(self.updated_at),
        }


#: The keys of a tenant's billing that every member of staff may see: its licence state.
STATE_ONLY_KEYS = ("tenant", "licence", "group", "period_end", "cancel_at_period_end")


@dataclass(frozen=True)
class BillingStatus:
    """A tenant's billing as ``billing status`` shows it: everything kept (``full``, the
    ``billing`` role and admins) or the licence state only (:data:`STATE_ONLY_KEYS`, every
    other role). ``billing`` is None for a tenant not linked to Stripe (licence ``none``)."""

    tenant: str
    billing: TenantBilling | None
    full: bool

    @property
    def licence(self) -> LicenceState:
        return self.billing.subscription_status if self.billing else LicenceState.NONE

    @property
    def group(self) -> LicenceGroup:
        return licence_group(self.licence)

    @property
    def period_end(self) -> datetime | None:
        return self.billing.current_period_end if self.billing else None

    def as_json(self) -> dict[str, object]:
        billing = self.billing or TenantBilling(self.tenant, "")
        shown = billing.as_json()
        if self.billing is None:
            shown["customer"] = None
        if not self.full:
            return {key: shown[key] for key in STATE_ONLY_KEYS}
        return shown


@dataclass(frozen=True)
class BillingAttention:
    """What a region's linked tenants (not purged) need of an operator: how many are past due,
    unpaid, or end their licence soon without renewing (``ending``: in good standing, set to
    cancel at the period's end, which falls within the days asked), of ``linked``."""

    region: str
    past_due: int
    unpaid: int
    ending: int
    linked: int
