"""Tenants: listing and detail."""

from __future__ import annotations

import builtins
from dataclasses import dataclass, replace

from aptien_ops.config import region_or_fail
from aptien_ops.domain import (
    TENANT_ORDERS,
    Approval,
    ListedTenant,
    StateChange,
    StepRecord,
    Tenant,
    TenantCount,
    TenantQuery,
    TenantState,
    TenantTally,
    parse_choice,
    validate_tenant_name,
)
from aptien_ops.domain.free_text import GREP
from aptien_ops.errors import Conflict, InvalidInput, NotFound, Unavailable
from aptien_ops.permissions import Action
from aptien_ops.ports import CatalogTx
from aptien_ops.services.context import OpsContext, existing_tenant
from aptien_ops.services.tenant_timeline import HistoryEntry, about_tenant, timeline


def contact_fields(
    name: str | None, email: str | None, phone: str | None, company: str | None
) -> dict[str, str | None]:
    """The contact fields given, checked (empty text clears one). Raises: InvalidInput."""
    from aptien_ops.domain import validate_email
    from aptien_ops.domain.free_text import COMPANY, CONTACT_NAME
    from aptien_ops.domain.partner_input import parse_phone

    fields: dict[str, str | None] = {}
    if name is not None:
        fields["contact_name"] = CONTACT_NAME.optional(name)
    if email is not None:
        fields["contact_email"] = (
            validate_email(email.strip(), what="the contact e-mail") if email.strip() else None
        )
    if phone is not None:
        fields["contact_phone"] = parse_phone(phone, "the contact phone")
    if company is not None:
        fields["company"] = COMPANY.optional(company)
    return fields


def parse_order(order: str) -> str:
    """Raises: InvalidInput naming the orders a list of tenants knows."""
    if order not in TENANT_ORDERS:
        raise InvalidInput(f"unknown order {order!r}", hint=f"one of {', '.join(TENANT_ORDERS)}")
    return order


def parse_state(value: str) -> TenantState:
    """Raises: InvalidInput naming the known states."""
    return parse_choice(TenantState, value, "tenant state")


@dataclass(frozen=True)
class TenantDetail:
    """A tenant with its provisioning steps, its state history and its database size."""

    tenant: Tenant
    steps: tuple[StepRecord, ...]
    history: tuple[StateChange, ...]
    """Oldest first."""
    size_bytes: int | None
    size_error: str | None = None
    """Why the size is unknown (the cluster could not be reached)."""
    requests: tuple[Approval, ...] = ()
    """The four-eyes requests about the tenant (a purge…), decided or not, oldest first."""

    def timeline(self) -> list[HistoryEntry]:
        """State changes and requests with who asked, who decided and why, oldest first."""
        return timeline(self.history, self.requests)

    def as_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            **self.tenant.as_json(),
            "steps": [s.as_json() for s in self.steps],
            "history": [h.as_json() for h in self.history],
            "requests": [r.as_json() for r in self.requests],
            "size_bytes": self.size_bytes,
        }
        if self.size_error is not None:
            data["size_error"] = self.size_error
        return data


#: The most tenants one page holds.
PAGE_LIMIT = 500


@dataclass(frozen=True)
class TenantPage:
    """One page of a list of tenants and where it lies: ``tenants`` (each with its licence
    state) start at position ``offset`` (0: the first) of the ``tally.matches`` tenants the
    query finds."""

    query: TenantQuery
    tenants: tuple[ListedTenant, ...]
    offset: int
    tally: TenantTally

    def as_json(self) -> dict[str, object]:
        q = self.query
        return {
            "region": q.region,
            "grep": q.grep,
            "order": q.order,
            "offset": self.offset,
            "matches": self.tally.matches,
            "total": self.tally.total,
            "licences": None if q.licences is None else sorted(map(str, q.licences)),
            "tenants": [{**t.as_json(), "licence": str(t.licence)} for t in self.tenants],
        }


class TenantService:
    def __init__(self, ctx: OpsContext) -> None:
        self.ctx = ctx

    def update_contact(
        self,
        name: str,
        *,
        contact_name: str | None = None,
        contact_email: str | None = None,
        contact_phone: str | None = None,
        company: str | None = None,
        seen: int | None = None,
    ) -> Tenant:
        """Change the client's contact record (None: keep; empty text: clear). The ops log
        names the fields changed, never their values. ``seen``: the version the caller read.
        Raises: InvalidInput, NotFound, Forbidden, Conflict (purged; Stale)."""
        validate_tenant_name(name)
        fields = contact_fields(contact_name, contact_email, contact_phone, company)
        if not fields:
            raise InvalidInput("nothing to change", hint="--contact-name, --contact-email, …")

        def write(tx: CatalogTx) -> Tenant:
            current = existing_tenant(tx, name, for_update=True, seen=seen)
            if current.state == TenantState.PURGED:
                raise Conflict(f"tenant {name} was purged; its contact record is gone")
            changed = replace(current, **fields, updated_at=self.ctx.now())  # type: ignore[arg-type]
            return tx.tenants.update(changed, by=self.ctx.identity.operator)

        params = {"fields": sorted(fields)}
        return self.ctx.mutate(Action.TENANT_UPDATE, name, params, write)

    def list(self, *, region: str | None = None, state: str | None = None) -> list[Tenant]:
        """Tenants by name. Raises: InvalidInput (region, state), Forbidden."""
        wanted = self._list_filter(region, state)
        return self.ctx.view(
            Action.TENANT_VIEW, "tenants", lambda tx: tx.tenants.all(region=region, state=wanted)
        )

    def page(
        self,
        query: TenantQuery,
        *,
        offset: int = 0,
        limit: int = 100,
        around: str | None = None,
    ) -> TenantPage:
        """At most ``limit`` of the tenants ``query`` finds, from position ``offset`` (past the
        end: the last page), each with its licence state, with how many it finds: filtered,
        ordered, joined with the billing, cut and counted by the catalog, so a page costs the
        same in a fleet of 10 or of 10,000. The licence state is shown to whoever may list
        the tenants: ``billing.state`` is every member of staff's, as ``tenant.view`` is
        (``tests/test_billing_tui.py`` keeps them alike). ``around`` names a
        tenant to read the page around instead (the page from ``offset`` if it is not found).

        Raises: InvalidInput (limit, offset, order, region, grep too long), Forbidden."""
        if not 1 <= limit <= PAGE_LIMIT:
            raise InvalidInput(f"a page holds 1 to {PAGE_LIMIT} tenants, not {limit}")
        if offset < 0:
            raise InvalidInput(f"a page starts at position 0 or later, not {offset}")
        parse_order(query.order)
        self._list_filter(query.region, None)
        query = replace(query, grep=GREP.optional(query.grep) or None)

        def read(tx: CatalogTx) -> TenantPage:
            tally = tx.tenants.tally(query)
            start = offset
            if around is not None and (at := tx.tenants.position(around, query)) is not None:
                start = max(0, at - limit // 2)
            start = min(start, max(0, tally.matches - limit))
            rows = tx.tenants.page(query, offset=start, limit=limit)
            return TenantPage(query, tuple(rows), start, tally)

        return self.ctx.view(Action.TENANT_VIEW, "tenants", read)

    def rows_json(self, *, region: str | None = None, state: str | None = None) -> str:
        """:meth:`list` as one JSON array text (``Tenant.as_json()`` each), ASCII only, written
        by the catalog database: the fast path of ``tenant list --json``.

        Raises: InvalidInput, Forbidden."""
        wanted = self._list_filter(region, state)
        return self.ctx.view(
            Action.TENANT_VIEW,
            "tenants",
            lambda tx: tx.tenants.rows_json(region=region, state=wanted),
        )

    def _list_filter(self, region: str | None, state: str | None) -> TenantState | None:
        if region is not None:
            region_or_fail(self.ctx.settings, region)
        return parse_state(state) if state else None

    def counts(self) -> builtins.list[TenantCount]:
        return self.ctx.view(Action.TENANT_VIEW, "tenants", lambda tx: tx.tenants.counts())

    def show(self, name: str) -> Tenant:
        """Raises: InvalidInput (bad name), NotFound, Forbidden."""
        validate_tenant_name(name)
        return self.ctx.view(Action.TENANT_VIEW, name, lambda tx: existing_tenant(tx, name))

    def history(self, name: str) -> builtins.list[HistoryEntry]:
        """The tenant's history, oldest first: its state changes, and each four-eyes request
        about it with who asked, who approved or rejected it, and why (a read of the catalog
        only). Raises: InvalidInput, NotFound, Forbidden."""
        validate_tenant_name(name)

        def read(tx: CatalogTx) -> builtins.list[HistoryEntry]:
            existing_tenant(tx, name)
            requests = [a for a in tx.approvals.all() if about_tenant(a, name)]
            return timeline(tx.tenant_history.state_changes(name), requests)

        return self.ctx.view(Action.TENANT_VIEW, name, read)

    def detail(self, name: str) -> TenantDetail:
        """The tenant with its step history, state history and database size.

        The size comes from the cluster; if it cannot be reached the detail says so instead of
        failing. Raises: InvalidInput, NotFound, Forbidden.
        """
        validate_tenant_name(name)

        def read(
            tx: CatalogTx,
        ) -> tuple[Tenant, list[StepRecord], list[StateChange], list[Approval]]:
            tenant = existing_tenant(tx, name)
            history = tx.tenant_history
            requests = [a for a in tx.approvals.all() if about_tenant(a, name)]
            return tenant, history.steps(name), history.state_changes(name), requests

        tenant, steps, changes, requests = self.ctx.view(Action.TENANT_VIEW, name, read)
        size, size_error = None, None
        if tenant.cluster and tenant.state != TenantState.PURGED:
            try:
                size = self.ctx.store(tenant.cluster).size_bytes(name)
            except (Unavailable, NotFound) as exc:
                size_error = exc.message
        return TenantDetail(tenant, tuple(steps), tuple(changes), size, size_error, tuple(requests))
