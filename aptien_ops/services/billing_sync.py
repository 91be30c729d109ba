"""``billing sync [--full]``: the catalog's billing rows brought up to date from Stripe.

A **full** sync reads every subscription and invoice, keeps for each linked tenant its licence
(the live subscription, else the newest) and its latest invoice (the newest that is not a
draft, else the newest), writes each linked tenant's row, and leaves the cursor at the newest
event, read before anything else. An **incremental** sync reads the events after the cursor
(all of them before any is applied, so a failure while reading applies none), and applies them
oldest first with :func:`apply_event`, a chunk per transaction with the cursor moved past that
chunk only: a failure mid-sync leaves the cursor where the events applied end, and a rerun
converges. Never synced, or with a tenant linked since the last sync, a sync is a full one.

:func:`apply_event` is the one way an event changes the catalog (a webhook delivery applies
its event through it too): idempotent on the event's id, and the newer state wins — an event
older than what a row holds (``TenantBilling.updated_at``) never overwrites it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import TypeVar

from aptien_ops.domain.billing import (
    BillingEvent,
    BillingNotConnected,
    CustomerFacts,
    InvoiceFacts,
    LicenceGroup,
    LicenceState,
    SubscriptionFacts,
    TenantBilling,
    licence_group,
)
from aptien_ops.permissions import Action
from aptien_ops.ports import CatalogTx
from aptien_ops.ports.billing import BillingSource
from aptien_ops.services.context import OpsContext

T = TypeVar("T")

#: Events applied per transaction (the cursor moves at each chunk's end).
CHUNK = 200
#: ``progress(step, done, total)``; ``total`` None while the step's size is not known yet.
Progress = Callable[[str, int, int | None], None]
#: The fields of a tenant's billing that Stripe's objects set (what a change is made of).
KEPT = (
    "subscription_id",
    "subscription_status",
    "current_period_end",
    "cancel_at_period_end",
    "invoice_number",
    "invoice_amount",
    "invoice_currency",
    "invoice_status",
    "invoice_due",
)


class Outcome(StrEnum):
    """What became of one event."""

    CHANGED = "changed"
    """It was the newest word on a linked tenant and changed what is kept."""
    UNCHANGED = "unchanged"
    """Newest, but changed nothing kept (a card added, a name changed)."""
    SEEN = "seen"
    """Applied before (a second delivery, a rerun)."""
    STALE = "stale"
    """Older than what the tenant's row holds: not applied."""
    UNLINKED = "unlinked"
    """About no linked tenant (or about nothing the console keeps)."""


@dataclass(frozen=True)
class TenantChange:
    tenant: str
    before: LicenceState
    after: LicenceState
    fields: tuple[str, ...]
    """The kept fields that changed."""

    def as_json(self) -> dict[str, object]:
        return {
            "tenant": self.tenant,
            "licence_before": self.before.value,
            "licence": self.after.value,
            "changed": list(self.fields),
        }


@dataclass(frozen=True)
class Applied:
    """One event's outcome, and the change it made (if any)."""

    event_id: str
    outcome: Outcome
    change: TenantChange | None = None


@dataclass(frozen=True)
class SyncResult:
    """What a sync read and changed."""

    full: bool
    linked: int
    """Linked tenants (a full sync writes each)."""
    changes: tuple[TenantChange, ...]
    events: dict[str, int]
    """Events read by outcome (an incremental sync)."""
    cursor: str | None

    def as_json(self) -> dict[str, object]:
        return {
            "full": self.full,
            "linked": self.linked,
            "changed": [c.as_json() for c in self.changes],
            "events": dict(self.events),
            "cursor": self.cursor,
        }


def _difference(before: TenantBilling, after: TenantBilling) -> TenantChange | None:
    fields = tuple(f for f in KEPT if getattr(before, f) != getattr(after, f))
    if not fields:
        return None
    return TenantChange(
        before.tenant, before.subscription_status, after.subscription_status, fields
    )


def _with_subscription(row: TenantBilling, sub: SubscriptionFacts | None) -> TenantBilling:
    if sub is None:
        return replace(
            row,
            subscription_id=None,
            subscription_status=LicenceState.NONE,
            current_period_end=None,
            cancel_at_period_end=False,
        )
    return replace(
        row,
        subscription_id=sub.subscription_id,
        subscription_status=sub.status,
        current_period_end=sub.current_period_end,
        cancel_at_period_end=sub.cancel_at_period_end,
    )


def _with_invoice(row: TenantBilling, invoice: InvoiceFacts | None) -> TenantBilling:
    return replace(
        row,
        invoice_number=invoice.number if invoice else None,
        invoice_amount=invoice.amount_due if invoice else None,
        invoice_currency=invoice.currency if invoice else None,
        invoice_status=invoice.status if invoice else None,
        invoice_due=invoice.due_date if invoice else None,
    )


def _replaces(row: TenantBilling, sub: SubscriptionFacts) -> bool:
    """Whether ``sub`` is the tenant's licence now: the one kept, or a live one where the kept
    one has ended (an ended subscription never replaces a live one)."""
    if row.subscription_id in (None, sub.subscription_id):
        return True
    ended = (LicenceGroup.EXPIRED, LicenceGroup.NONE)
    return row.group in ended or licence_group(sub.status) not in ended


def _applied_to(row: TenantBilling, subject: object) -> TenantBilling:
    if isinstance(subject, SubscriptionFacts):
        return _with_subscription(row, subject) if _replaces(row, subject) else row
    if isinstance(subject, InvoiceFacts):
        if subject.status == "draft" and row.invoice_status not in (None, "draft"):
            return row  # next period's draft: the invoice to show is still the finalised one
        return _with_invoice(row, subject)
    if isinstance(subject, CustomerFacts) and subject.deleted:
        return _with_invoice(_with_subscription(row, None), None)
    return row


def apply_event(tx: CatalogTx, event: BillingEvent, now: datetime) -> Applied:
    """Apply one Stripe event to the tenant it is about, in ``tx``; once per event id, and
    only if it is not older than what the tenant's row holds. ``now`` is when it is recorded
    as applied. Raises: the catalog's errors."""
    billing = tx.billing
    if billing.seen(event.event_id):
        return Applied(event.event_id, Outcome.SEEN)
    billing.mark_seen(event.event_id, now)
    subject = event.subject
    linked = billing.by_customer(subject.customer_id) if subject is not None else None
    row = billing.get(linked.tenant, for_update=True) if linked is not None else None
    if row is None:
        return Applied(event.event_id, Outcome.UNLINKED)
    if row.updated_at is not None and event.created < row.updated_at:
        return Applied(event.event_id, Outcome.STALE)
    updated = _applied_to(row, subject)
    change = _difference(row, updated)
    if change is None:
        return Applied(event.event_id, Outcome.UNCHANGED)
    billing.save(replace(updated, last_event_id=event.event_id, updated_at=event.created))
    return Applied(event.event_id, Outcome.CHANGED, change)


def _best_subscriptions(subs: Iterable[SubscriptionFacts]) -> dict[str, SubscriptionFacts]:
    """Per customer, its licence: the newest live subscription, else the newest."""
    best: dict[str, SubscriptionFacts] = {}
    for sub in subs:
        kept = best.get(sub.customer_id)
        if kept is None or _rank(sub) > _rank(kept):
            best[sub.customer_id] = sub
    return best


def _rank(sub: SubscriptionFacts) -> tuple[bool, datetime]:
    return (licence_group(sub.status) not in (LicenceGroup.EXPIRED,), sub.created)


def _latest_invoices(invoices: Iterable[InvoiceFacts]) -> dict[str, InvoiceFacts]:
    """Per customer, the newest finalised invoice, else the newest draft."""
    best: dict[str, InvoiceFacts] = {}
    for invoice in invoices:
        kept = best.get(invoice.customer_id)
        rank = (invoice.status != "draft", invoice.created)
        if kept is None or rank > (kept.status != "draft", kept.created):
            best[invoice.customer_id] = invoice
    return best


def _per_tenant(changes: Iterable[TenantChange]) -> tuple[TenantChange, ...]:
    """One change per tenant: from its first state to its last, with every field changed."""
    merged: dict[str, TenantChange] = {}
    for c in changes:
        first = merged.get(c.tenant, c)
        fields = tuple(f for f in KEPT if f in first.fields or f in c.fields)
        merged[c.tenant] = TenantChange(c.tenant, first.before, c.after, fields)
    return tuple(merged.values())


def _counted(step: str, items: Iterable[T], progress: Progress | None) -> list[T]:
    """``items`` read into a list, reporting every 100 (and the total at the end)."""
    read: list[T] = []
    for item in items:
        read.append(item)
        if progress is not None and len(read) % 100 == 0:
            progress(step, len(read), None)
    if progress is not None:
        progress(step, len(read), len(read))
    return read


class BillingSyncService:
    def __init__(self, ctx: OpsContext, source: Callable[[], BillingSource | None]) -> None:
        self.ctx = ctx
        self._source = source

    def sync(self, *, full: bool = False, progress: Progress | None = None) -> SyncResult:
        """Bring every linked tenant's billing up to date (see the module's doc).

        Raises: Forbidden (before Stripe is asked), Unavailable (not connected, Stripe
        unreachable or refusing the key: nothing after the failure applied), NotFound
        (Stripe no longer keeps the cursor's event: run a full sync), InvalidInput (Stripe
        sent a status this console does not know)."""
        with self.ctx.audited(Action.BILLING_SYNC, "stripe", {"full": full}) as attempt:
            source = self._source()
            if source is None:
                raise BillingNotConnected()
            with self.ctx.catalog.read() as tx:
                cursor = tx.billing.cursor()
                fresh = any(row.updated_at is None for row in tx.billing.all())
            # A tenant linked since the last sync has no facts yet, and events about its
            # customer may be older than the cursor: only a full read fills it in.
            if full or cursor is None or fresh:
                result = self._full(source, progress)
            else:
                result = self._incremental(source, cursor, progress)
            attempt.ok(
                tenants_changed=len(result.changes), cursor=result.cursor, events=result.events
            )
        return result

    def _full(self, source: BillingSource, progress: Progress | None) -> SyncResult:
        # Whole seconds, as Stripe stamps events: one in the same second as this read is newer.
        now = self.ctx.now()
        stamp = datetime.fromtimestamp(math.floor(now.timestamp()), UTC)
        cursor = source.latest_event_id()
        # Every customer's facts, not only those of the tenants linked now: one linked while
        # Stripe is read gets its own, not none.
        subs = _best_subscriptions(_counted("subscriptions", source.subscriptions(), progress))
        invoices = _latest_invoices(_counted("invoices", source.invoices(), progress))
        changes: list[TenantChange] = []
        with self.ctx.catalog.transaction() as tx:
            rows = tx.billing.all()
            for done, row in enumerate(rows, 1):
                if row.updated_at is not None and row.updated_at > stamp:
                    continue  # an event newer than this read was applied meanwhile (a webhook)
                updated = _with_invoice(
                    _with_subscription(row, subs.get(row.customer_id)),
                    invoices.get(row.customer_id),
                )
                change = _difference(row, updated)
                if change is not None:
                    changes.append(change)
                tx.billing.save(replace(updated, updated_at=stamp))
                if progress is not None:
                    progress("tenants", done, len(rows))
            tx.billing.set_cursor(cursor, now)
        return SyncResult(True, len(rows), tuple(changes), {}, cursor)

    def _incremental(
        self, source: BillingSource, cursor: str, progress: Progress | None
    ) -> SyncResult:
        events = _counted("events", source.events_after(cursor), progress)
        counts = {str(o): 0 for o in Outcome}
        changes: list[TenantChange] = []
        for start in range(0, len(events), CHUNK):
            chunk = events[start : start + CHUNK]
            with self.ctx.catalog.transaction() as tx:
                for event in chunk:
                    applied = apply_event(tx, event, self.ctx.now())
                    counts[applied.outcome] += 1
                    if applied.change is not None:
                        changes.append(applied.change)
                cursor = chunk[-1].event_id
                tx.billing.set_cursor(cursor, self.ctx.now())
            if progress is not None:
                progress("applied", start + len(chunk), len(events))
        with self.ctx.catalog.read() as tx:
            linked = len(tx.billing.all())
        return SyncResult(False, linked, _per_tenant(changes), counts, cursor)
