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
its event through it too): idempotent on the event's id, and the newer state wins, per object
— an event older than what a row holds of the subscription or the latest invoice never
overwrites it (:mod:`aptien_ops.domain.billing_merge`).
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
    KeptSubscription,
    LicenceState,
    SubscriptionFacts,
    TenantBilling,
)
from aptien_ops.domain.billing_merge import (
    KEPT,
    ended_with_customer,
    invoice_rank,
    licence_of,
    merged,
    row_subscription,
    with_invoice,
    with_subscription,
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


def apply_event(tx: CatalogTx, event: BillingEvent, now: datetime) -> Applied:
    """Apply one Stripe event to the tenant it is about, in ``tx``; once per event id, and
    only if it is not older than what the tenant's row holds of the object it is about
    (:mod:`aptien_ops.domain.billing_merge`). ``now`` is when it is recorded as applied.
    Raises: the catalog's errors."""
    billing = tx.billing
    if billing.seen(event.event_id):
        return Applied(event.event_id, Outcome.SEEN)
    billing.mark_seen(event.event_id, now)
    subject = event.subject
    linked = billing.by_customer(subject.customer_id) if subject is not None else None
    row = billing.get(linked.tenant, for_update=True) if linked is not None else None
    if row is None or subject is None:
        return Applied(event.event_id, Outcome.UNLINKED)
    kept = billing.subscriptions(row.customer_id)
    updated = merged(row, subject, event.created, kept)
    if updated is None:
        return Applied(event.event_id, Outcome.STALE)
    if isinstance(subject, SubscriptionFacts):
        billing.keep_subscriptions([KeptSubscription(subject, event.created)])
    elif isinstance(subject, CustomerFacts) and subject.deleted:
        billing.keep_subscriptions(ended_with_customer(kept, event.created))
    if updated != row:  # the kept fields, or only the object's mark (so an older event is stale)
        billing.save(replace(updated, last_event_id=event.event_id))
    change = _difference(row, updated)
    if change is None:
        return Applied(event.event_id, Outcome.UNCHANGED)
    return Applied(event.event_id, Outcome.CHANGED, change)


def _read_subscriptions(
    tx: CatalogTx, read: Iterable[SubscriptionFacts], rows: list[TenantBilling], stamp: datetime
) -> dict[str, list[KeptSubscription]]:
    """Every subscription of the ``rows``' customers kept as a full sync read it at ``stamp``,
    but one an event newer than the read changed meanwhile (a webhook) as that event left it;
    by customer."""
    kept = {k.facts.subscription_id: k for k in tx.billing.subscriptions()}
    fresh: list[KeptSubscription] = []
    for row in rows:  # a row's own subscription, if it is newer than the one kept apart
        own = row_subscription(row)
        before = kept.get(own.facts.subscription_id) if own is not None else None
        if own is not None and (before is None or _after(own.mark, before.mark)):
            kept[own.facts.subscription_id] = own
            fresh.append(own)
    customers = {row.customer_id for row in rows}
    for sub in read:
        before = kept.get(sub.subscription_id)
        if sub.customer_id in customers and not (before and _after(before.mark, stamp)):
            kept[sub.subscription_id] = KeptSubscription(sub, stamp)
            fresh.append(kept[sub.subscription_id])
    tx.billing.keep_subscriptions(list({k.facts.subscription_id: k for k in fresh}.values()))
    by_customer: dict[str, list[KeptSubscription]] = {}
    for k in kept.values():
        by_customer.setdefault(k.facts.customer_id, []).append(k)
    return by_customer


def _latest_invoices(invoices: Iterable[InvoiceFacts]) -> dict[str, InvoiceFacts]:
    """Per customer, the newest finalised invoice, else the newest draft."""
    best: dict[str, InvoiceFacts] = {}
    for invoice in invoices:
        kept = best.get(invoice.customer_id)
        if kept is None or _ranked(invoice) > _ranked(kept):
            best[invoice.customer_id] = invoice
    return best


def _ranked(invoice: InvoiceFacts) -> tuple[bool, datetime, str]:
    return invoice_rank(invoice.status, invoice.created, invoice.invoice_id)


def _per_tenant(changes: Iterable[TenantChange]) -> tuple[TenantChange, ...]:
    """One change per tenant: from its first state to its last, with every field changed."""
    merged: dict[str, TenantChange] = {}
    for c in changes:
        first = merged.get(c.tenant, c)
        fields = tuple(f for f in KEPT if f in first.fields or f in c.fields)
        merged[c.tenant] = TenantChange(c.tenant, first.before, c.after, fields)
    return tuple(merged.values())


def _after(mark: datetime | None, stamp: datetime) -> bool:
    return mark is not None and mark > stamp


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
        read = _counted("subscriptions", source.subscriptions(), progress)
        invoices = _latest_invoices(_counted("invoices", source.invoices(), progress))
        changes: list[TenantChange] = []
        with self.ctx.catalog.transaction() as tx:
            # Locked: a webhook applying an event meanwhile waits for this transaction, then
            # finds what it wrote (and one that came first is seen here, by its mark).
            rows = tx.billing.all(for_update=True)
            subs = _read_subscriptions(tx, read, rows, stamp)
            for done, row in enumerate(rows, 1):
                updated = row
                # An object an event newer than this read changed meanwhile (a webhook) is
                # left as that event made it; the licence is chosen among the subscriptions
                # (each so), as an event chooses it — unless the row's is newer than all of
                # them (changed so without a subscription kept apart): left as it is.
                kept = subs.get(row.customer_id, [])
                mark = max([stamp, *(k.mark for k in kept)])
                if not _after(row.subscription_updated_at, mark):
                    best = licence_of(k.facts for k in kept)
                    updated = with_subscription(updated, best, mark)
                if not _after(row.invoice_updated_at, stamp):
                    updated = with_invoice(updated, invoices.get(row.customer_id), stamp)
                change = _difference(row, updated)
                if change is not None:
                    changes.append(change)
                if updated != row:
                    tx.billing.save(updated)
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
