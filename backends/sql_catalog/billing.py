"""Billing: each linked tenant's row of Stripe facts, the events applied and the event cursor."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Select,
    Text,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    select,
    true,
    update,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.sql import ColumnElement

from aptien_ops.backends import catalog_billing as b
from aptien_ops.backends import catalog_schema as s
from aptien_ops.backends.sql_catalog.base import Repository
from aptien_ops.backends.sql_catalog.errors import guarded
from aptien_ops.backends.sql_catalog.json_rows import (
    array_text,
    iso_text,
    json_bool,
    json_object,
)
from aptien_ops.backends.sql_catalog.tenant_query import licence as _licence
from aptien_ops.backends.sql_catalog.tenant_query import licence_in, with_billing
from aptien_ops.domain import TenantState
from aptien_ops.domain.billing import (
    STATE_ONLY_KEYS,
    BillingAttention,
    KeptSubscription,
    LicenceGroup,
    LicenceState,
    SubscriptionFacts,
    TenantBilling,
    licence_group,
)
from aptien_ops.errors import Conflict, NotFound
from aptien_ops.ports.billing import BillingRepository

_B = b.tenant_billing.c
#: The tenant_billing columns in ``TenantBilling``'s field order.
_COLUMNS = tuple(_B[f.name] for f in fields(TenantBilling))


def _billing(row: Any) -> TenantBilling:
    # _COLUMNS is in TenantBilling's field order, so the row maps on positionally.
    tenant, customer, subscription, status, *rest = row
    return TenantBilling(tenant, customer, subscription, LicenceState(status), *rest)


def _values(billing: TenantBilling) -> dict[str, object]:
    values = {c.name: getattr(billing, c.name) for c in _COLUMNS}
    values["subscription_status"] = str(billing.subscription_status)
    return values


_S = b.billing_subscriptions.c
_SUBSCRIPTION = (
    _S.subscription_id,
    _S.customer_id,
    _S.status,
    _S.current_period_end,
    _S.cancel_at_period_end,
    _S.created,
    _S.updated_at,
)


def _kept(row: Any) -> KeptSubscription:
    sub, customer, status, end, cancels, created, mark = row
    facts = SubscriptionFacts(sub, customer, LicenceState(status), end, bool(cancels), created)
    return KeptSubscription(facts, mark)


def _subscription_values(kept: KeptSubscription) -> dict[str, object]:
    f = kept.facts
    return {
        "subscription_id": f.subscription_id,
        "customer_id": f.customer_id,
        "status": str(f.status),
        "current_period_end": f.current_period_end,
        "cancel_at_period_end": f.cancel_at_period_end,
        "created": f.created,
        "updated_at": kept.mark,
    }


def _taken(customer_id: str, tenant: str) -> Conflict:
    return Conflict(
        f"the Stripe customer {customer_id} is linked to the tenant {tenant} already",
        hint=f"one customer pays for one tenant; unlink {tenant} first if it was a mistake",
    )


class SqlBilling(Repository):
    """Implements :class:`aptien_ops.ports.billing.BillingRepository`."""

    @guarded
    def get(self, tenant: str, *, for_update: bool = False) -> TenantBilling | None:
        stmt = select(*_COLUMNS).where(_B.tenant == tenant)
        row = self.conn.execute(stmt.with_for_update() if for_update else stmt).first()
        return _billing(row) if row is not None else None

    @guarded
    def by_customer(self, customer_id: str) -> TenantBilling | None:
        row = self.conn.execute(select(*_COLUMNS).where(_B.customer_id == customer_id)).first()
        return _billing(row) if row is not None else None

    @guarded
    def all(
        self, *, states: frozenset[LicenceState] | None = None, for_update: bool = False
    ) -> list[TenantBilling]:
        stmt = select(*_COLUMNS).order_by(_B.tenant)
        if states is not None:
            stmt = stmt.where(_B.subscription_status.in_(sorted(str(x) for x in states)))
        if for_update:
            stmt = stmt.with_for_update()
        return [_billing(row) for row in self.conn.execute(stmt)]

    @guarded
    def link(self, billing: TenantBilling) -> None:
        """Raises: Conflict (the tenant is linked already, or the customer is linked to
        another tenant; also when a concurrent link won the race)."""
        linked = self.get(billing.tenant)
        if linked is not None:
            raise Conflict(
                f"the tenant {billing.tenant} is linked to the Stripe customer"
                f" {linked.customer_id} already",
                hint=f"unlink {billing.tenant} first to link it to another customer",
            )
        other = self.by_customer(billing.customer_id)
        if other is not None:
            raise _taken(billing.customer_id, other.tenant)
        try:
            self.conn.execute(insert(b.tenant_billing).values(_values(billing)))
        except sa_exc.IntegrityError:
            raise Conflict(
                f"the tenant {billing.tenant} or the Stripe customer {billing.customer_id}"
                " was linked by another operator meanwhile",
                hint="run billing status to see the link",
            ) from None

    @guarded
    def unlink(self, tenant: str) -> None:
        linked = self.get(tenant)
        if linked is None:
            raise NotFound(f"the tenant {tenant} is not linked to a Stripe customer")
        self.forget_subscriptions(linked.customer_id)
        self.conn.execute(delete(b.tenant_billing).where(_B.tenant == tenant))

    @guarded
    def save(self, billing: TenantBilling) -> None:
        stmt = update(b.tenant_billing).where(_B.tenant == billing.tenant)
        if self.conn.execute(stmt.values(_values(billing))).rowcount == 0:
            raise NotFound(f"the tenant {billing.tenant} is not linked to a Stripe customer")

    @guarded
    def subscriptions(self, customer_id: str | None = None) -> list[KeptSubscription]:
        stmt = select(*_SUBSCRIPTION).order_by(_S.subscription_id)
        if customer_id is not None:
            stmt = stmt.where(_S.customer_id == customer_id)
        return [_kept(row) for row in self.conn.execute(stmt)]

    @guarded
    def keep_subscriptions(self, kept: Sequence[KeptSubscription]) -> None:
        if not kept:
            return
        rows = [_subscription_values(k) for k in kept]
        stmt = self.upsert(b.billing_subscriptions)
        changed = {c: stmt.excluded[c] for c in rows[0] if c != "subscription_id"}
        self.conn.execute(
            stmt.on_conflict_do_update(index_elements=["subscription_id"], set_=changed), rows
        )

    @guarded
    def forget_subscriptions(self, customer_id: str) -> None:
        self.conn.execute(delete(b.billing_subscriptions).where(_S.customer_id == customer_id))

    @guarded
    def seen(self, event_id: str) -> bool:
        stmt = select(b.billing_events.c.event_id).where(b.billing_events.c.event_id == event_id)
        return self.conn.execute(stmt).first() is not None

    @guarded
    def mark_seen(self, event_id: str, at: datetime) -> None:
        stmt = self.upsert(b.billing_events).values(event_id=event_id, applied_at=at)
        self.conn.execute(stmt.on_conflict_do_nothing(index_elements=["event_id"]))

    @guarded
    def cursor(self) -> str | None:
        stmt = select(b.billing_cursor.c.event_id).where(b.billing_cursor.c.id == 1)
        return self.conn.execute(stmt).scalar()

    @guarded
    def set_cursor(self, event_id: str | None, at: datetime) -> None:
        values = {"event_id": event_id, "updated_at": at}
        stmt = self.upsert(b.billing_cursor).values(id=1, **values)
        self.conn.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=values))

    @guarded
    def statuses(
        self, *, tenant: str | None = None, states: frozenset[LicenceState] | None = None
    ) -> list[tuple[str, TenantBilling | None]]:
        stmt = _status_rows(select(s.tenants.c.name, *_COLUMNS), tenant, states)
        return [
            (row[0], _billing(row[1:]) if row[1] is not None else None)
            for row in self.conn.execute(stmt)
        ]

    @guarded
    def attention(self, now: datetime, until: datetime) -> list[BillingAttention]:
        """One aggregate over the live tenants' billing rows, grouped by region."""
        t, status = s.tenants.c, _B.subscription_status
        good = sorted(str(x) for x in LicenceState if licence_group(x) == LicenceGroup.GOOD)
        ending = and_(
            status.in_(good),
            _B.cancel_at_period_end.is_(True),
            _B.current_period_end >= now,
            _B.current_period_end <= until,
        )

        def counted(when: ColumnElement[bool]) -> ColumnElement[Any]:
            return func.coalesce(func.sum(case((when, 1), else_=0)), 0)

        stmt = (
            select(
                t.region,
                counted(status == str(LicenceState.PAST_DUE)),
                counted(status == str(LicenceState.UNPAID)),
                counted(ending),
                func.count(),
            )
            .select_from(s.tenants.join(b.tenant_billing, _B.tenant == t.name))
            .where(t.state != str(TenantState.PURGED))
            .group_by(t.region)
            .order_by(t.region)
        )
        return [
            BillingAttention(region, int(past), int(unpaid), int(ends), int(linked))
            for region, past, unpaid, ends, linked in self.conn.execute(stmt)
        ]

    @guarded
    def status_json(
        self,
        *,
        tenant: str | None = None,
        states: frozenset[LicenceState] | None = None,
        full: bool,
    ) -> str:
        """The database writes each row's object in ``BillingStatus.as_json()``'s keys."""
        pg = self.tx.pg
        invoice = _invoice_pairs(pg)
        if not pg:
            pairs = _status_pairs(json_object(invoice, pg=False), pg=False)
            objects = select(json_object(_chosen(pairs, full), pg=False).label("o"))
            return array_text(self.conn, _status_rows(objects, tenant, states), pg=False)
        # row_to_json of rows whose column names are the keys, the invoice's object too (a
        # LATERAL row): twice as fast as a json_build_object per row and per invoice.
        inv = select(*(v.label(k) for k, v in invoice)).correlate(b.tenant_billing).lateral("inv")
        pairs = _status_pairs(func.row_to_json(inv.table_valued()), pg=True)
        labelled = select(*(value.label(key) for key, value in _chosen(pairs, full)))
        joined = [inv] if full else []
        rows = _status_rows(labelled, tenant, states, *joined).order_by(None).subquery("t")
        as_text = cast(func.row_to_json(rows.table_valued()), Text)
        return array_text(self.conn, select(as_text).order_by(rows.c.tenant), pg=True)


def _chosen(pairs: list[tuple[str, Any]], full: bool) -> list[tuple[str, Any]]:
    if full:
        return pairs
    by_key = dict(pairs)
    return [(key, by_key[key]) for key in STATE_ONLY_KEYS]


def _invoice_pairs(pg: bool) -> list[tuple[str, Any]]:
    return [
        ("id", _B.invoice_id),
        ("number", _B.invoice_number),
        ("amount", _B.invoice_amount),
        ("currency", _B.invoice_currency),
        ("status", _B.invoice_status),
        ("due", iso_text(_B.invoice_due, pg=pg)),
    ]


def _status_pairs(invoice: Any, *, pg: bool) -> list[tuple[str, Any]]:
    """``BillingStatus.as_json()``'s keys and the expressions that write their values."""
    return [
        ("tenant", s.tenants.c.name),
        ("customer", _B.customer_id),
        ("subscription", _B.subscription_id),
        ("licence", _licence()),
        ("group", _group()),
        ("period_end", iso_text(_B.current_period_end, pg=pg)),
        ("cancel_at_period_end", json_bool(_B.cancel_at_period_end.is_(True), pg=pg)),
        ("invoice", invoice),
        ("last_event", _B.last_event_id),
        ("updated_at", iso_text(_B.updated_at, pg=pg)),
    ]


def _group() -> ColumnElement[Any]:
    """The licence's group: one simple CASE on the state (the state computed once a row)."""
    groups = {str(state): str(licence_group(state)) for state in LicenceState}
    return case(groups, value=_licence(), else_=str(LicenceGroup.NONE))


def _status_rows(
    stmt: Select[Any],
    tenant: str | None,
    states: frozenset[LicenceState] | None,
    *lateral: Any,
) -> Select[Any]:
    """``stmt`` over the tenants (not purged) and their billing (and ``lateral`` rows of
    it), by name."""
    t = s.tenants.c
    joined = with_billing()
    for more in lateral:
        joined = joined.outerjoin(more, true())
    stmt = stmt.select_from(joined).where(t.state != str(TenantState.PURGED))
    if tenant is not None:
        stmt = stmt.where(t.name == tenant)
    if states is not None:
        stmt = stmt.where(licence_in(states))
    return stmt.order_by(t.name)


_: type[BillingRepository] = SqlBilling
