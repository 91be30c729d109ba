"""Billing notices: which tenants' representatives must be told of a licence ending or of
non-payment, and what each notice says.

A notice is one per tenant, kind and period, ever: its *subject key* (:func:`subject_key`)
names the campaign it travels in through the notices' outbox (the one the breach notices
built: one row per subject, channel and recipient, each with its idempotency key). The key is
``BIL-`` and 16 hex digits of a SHA-256 of the tenant, kind and period end, which fits the
outbox's subject column as a breach incident's id does (``INC-2026-0001``), so the outbox
needs no new column.

A licence *ends* when it will not renew (``cancel_at_period_end``) and is in good standing;
a licence that renews by itself is not ending. Non-payment is the licence state ``past_due``
or ``unpaid``. Of the configured ``notice_days`` (e.g. 30, 7, 1) the notice due is the
nearest one the days left have reached: 20 days before the end, the 30-day notice; 5 days
before, the 7-day notice (and not also the 30-day one, if that was never sent).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from aptien_ops.domain.billing import LicenceGroup, LicenceState, TenantBilling
from aptien_ops.domain.notices import NoticeContent

#: The prefix of a billing notice's subject key (a breach incident's is ``INC-``).
SUBJECT_PREFIX = "BIL-"
#: Currencies Stripe counts in whole units (no minor unit).
ZERO_DECIMAL = frozenset("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split())


class NoticeKind(StrEnum):
    EXPIRY = "expiry"
    """The licence ends (it will not renew) within a number of days."""
    PAST_DUE = "past_due"
    """An invoice is overdue; Stripe is still trying to collect it."""
    UNPAID = "unpaid"
    """Stripe gave up collecting: the licence is unpaid."""


def format_amount(minor: int | None, currency: str | None) -> str | None:
    """``1299.00 EUR`` from Stripe's minor units (whole units for zero-decimal currencies)."""
    if minor is None or not currency:
        return None
    code, sign, units = currency.upper(), "-" if minor < 0 else "", abs(minor)
    if currency.lower() in ZERO_DECIMAL:
        return f"{sign}{units} {code}"
    return f"{sign}{units // 100}.{units % 100:02d} {code}"


def subject_key(tenant: str, label: str, period_end: datetime | None) -> str:
    """The campaign key of a notice: the same for a tenant, kind (``expiry-7``) and period."""
    period = period_end.date().isoformat() if period_end is not None else "-"
    digest = hashlib.sha256(f"{tenant}\0{label}\0{period}".encode()).hexdigest()
    return SUBJECT_PREFIX + digest[:16]


def is_billing_subject(key: str) -> bool:
    return key.startswith(SUBJECT_PREFIX)


@dataclass(frozen=True)
class DueNotice:
    """A notice a tenant's representative is due, as of a moment."""

    tenant: str
    kind: NoticeKind
    days: int | None
    """For an expiry notice: the notice's threshold (30, 7, 1)."""
    billing: TenantBilling

    @property
    def label(self) -> str:
        """``expiry-7``, ``past_due``, ``unpaid``: the kind as reports and keys name it."""
        return f"{self.kind}-{self.days}" if self.days is not None else str(self.kind)

    @property
    def key(self) -> str:
        return subject_key(self.tenant, self.label, self.billing.current_period_end)


def expiry_threshold(end: datetime, now: datetime, notice_days: Sequence[int]) -> int | None:
    """The nearest of ``notice_days`` that the days left before ``end`` have reached, or None
    (ended already, or further off than every threshold)."""
    if end <= now:
        return None
    left = math.ceil((end - now).total_seconds() / 86400)
    reached = [d for d in notice_days if left <= d]
    return min(reached) if reached else None


def due_notices(
    rows: Iterable[TenantBilling], now: datetime, notice_days: Sequence[int]
) -> list[DueNotice]:
    """The notices due as of ``now``, by tenant: non-payment, or a licence ending within one
    of ``notice_days``."""
    due: list[DueNotice] = []
    for row in sorted(rows, key=lambda r: r.tenant):
        state = row.subscription_status
        if state in (LicenceState.PAST_DUE, LicenceState.UNPAID):
            due.append(DueNotice(row.tenant, NoticeKind(str(state)), None, row))
            continue
        end = row.current_period_end
        if row.group is LicenceGroup.GOOD and row.cancel_at_period_end and end is not None:
            days = expiry_threshold(end, now, notice_days)
            if days is not None:
                due.append(DueNotice(row.tenant, NoticeKind.EXPIRY, days, row))
    return due


@dataclass(frozen=True)
class BillingNoticeContent(NoticeContent):
    """What a billing notice tells the representative: a notice of its own kind that travels
    the notices' outbox as a breach notice does. Of the inherited fields, ``incident_id`` holds
    the subject key and ``title`` a one-line summary (the rest are empty); the templates of
    :mod:`aptien_ops.billing_notice_texts` read the fields below."""

    tenant: str
    company: str
    kind: str
    days: int | None
    period_end: str
    """The licence's end (``YYYY-MM-DD``), or empty."""
    invoice_number: str
    amount: str
    """The latest invoice's amount (``49.00 EUR``), or empty."""
    invoice_due: str


def notice_content(due: DueNotice, company: str | None, published_at: str) -> BillingNoticeContent:
    """The texts' facts of ``due``: nothing but the tenant's name and company, the licence's
    end and the latest invoice's number, amount and due date."""
    b = due.billing
    end = b.current_period_end.date().isoformat() if b.current_period_end else ""
    return BillingNoticeContent(
        incident_id=due.key,
        title=f"{due.tenant}: {due.label} {end}".strip(),
        nature="",
        consequences="",
        measures="",
        dpo_contact="",
        published_at=published_at,
        tenant=due.tenant,
        company=company or due.tenant,
        kind=str(due.kind),
        days=due.days,
        period_end=end,
        invoice_number=b.invoice_number or "",
        amount=format_amount(b.invoice_amount, b.invoice_currency) or "",
        invoice_due=b.invoice_due.date().isoformat() if b.invoice_due else "",
    )


def content_from_json(fields: dict[str, object]) -> NoticeContent:
    """A campaign's content as the outbox stores it (its fields as JSON): a billing notice's
    has the billing fields, an operational notice's its own."""
    if "notice_kind" in fields:
        from aptien_ops.domain.op_notices import OpNoticeContent

        return OpNoticeContent(**fields)  # type: ignore[arg-type]
    if "kind" in fields and "tenant" in fields:
        return BillingNoticeContent(**fields)  # type: ignore[arg-type]
    return NoticeContent(**fields)  # type: ignore[arg-type]
