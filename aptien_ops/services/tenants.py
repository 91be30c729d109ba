"""Tenants: listing, detail, and placing a new tenant's database in its region."""

from __future__ import annotations

import secrets
from typing import Any

from aptien_ops.config import RegionSettings, region_or_fail
from aptien_ops.domain import Tenant, TenantCount, TenantState, utcnow, validate_tenant_name
from aptien_ops.errors import Conflict, InvalidInput, NotFound
from aptien_ops.permissions import Action
from aptien_ops.ports import CatalogTx
from aptien_ops.regions import RegionResolver
from aptien_ops.services.context import OpsContext


def parse_state(value: str) -> TenantState:
    """Raises: InvalidInput naming the known states."""
    try:
        return TenantState(value)
    except ValueError:
        raise InvalidInput(f"unknown tenant state {value[:30]!r}", hint=f"one of {', '.join(TenantState)}") from None


class TenantService:
    def __init__(self, ctx: OpsContext, resolver: RegionResolver) -> None:
        self.ctx = ctx
        self.resolver = resolver

    def rows(self, *, region: str | None = None, state: str | None = None) -> list[dict[str, Any]]:
        """Tenants as JSON-ready dicts, newest state first. Raises: InvalidInput, Forbidden."""
        if region is not None:
            region_or_fail(self.ctx.settings, region)
        wanted = parse_state(state) if state else None
        return self.ctx.view(Action.TENANT_VIEW, "tenants", lambda tx: tx.tenant_rows(region=region, state=wanted))

    def counts(self) -> list[TenantCount]:
        return self.ctx.view(Action.TENANT_VIEW, "tenants", lambda tx: tx.tenant_counts())

    def show(self, name: str) -> Tenant:
        """Raises: InvalidInput (bad name), NotFound, Forbidden."""
        validate_tenant_name(name)
        return self.ctx.view(Action.TENANT_VIEW, name, lambda tx: self._get(tx, name))

    def provision(self, name: str, country: str, *, contact_name: str | None = None, contact_email: str | None = None) -> Tenant:
        """Reserve the name, create the tenant's own database on the least-loaded cluster of its
        region, and mark it active.

        Raises: InvalidInput, Forbidden, Conflict (name taken, region full), Unavailable.
        """
        validate_tenant_name(name)
        resolution = self.resolver.resolve(country)
        region = region_or_fail(self.ctx.settings, resolution.region)
        params = {"country": resolution.country.alpha2, "region": region.name}

        def reserve(tx: CatalogTx) -> Tenant:
            if tx.tenant(name) is not None:
                raise Conflict(f"tenant {name} exists already", hint=f"aptien-ops tenant show {name}")
            now = utcnow()
            tenant = Tenant(name, resolution.country.alpha2, region.name, self._place(tx, region), TenantState.PROVISIONING,
                            contact_name, contact_email, now, now)
            tx.insert_tenant(tenant)
            return tenant

        tenant = self.ctx.mutate(Action.TENANT_PROVISION, name, params, reserve)
        assert tenant.cluster is not None
        self.ctx.store(tenant.cluster).create_database(name, secrets.token_urlsafe(24))

        def activate(tx: CatalogTx) -> Tenant:
            tx.update_tenant(name, state=TenantState.ACTIVE, updated_at=utcnow())
            return self._get(tx, name)

        return self.ctx.mutate(Action.TENANT_PROVISION, name, {**params, "step": "active"}, activate)

    # -- internals ------------------------------------------------------------------------

    @staticmethod
    def _get(tx: CatalogTx, name: str) -> Tenant:
        tenant = tx.tenant(name)
        if tenant is None:
            raise NotFound(f"no tenant named {name}", hint="aptien-ops tenant list")
        return tenant

    @staticmethod
    def _place(tx: CatalogTx, region: RegionSettings) -> str:
        loads = {c.cluster: c.tenants for c in tx.cluster_loads() if c.region == region.name}
        free = [(loads.get(c.name, 0) / c.capacity, c.name) for c in region.clusters if loads.get(c.name, 0) < c.capacity]
        if not free:
            raise Conflict(f"region {region.name} is full: every cluster is at capacity", hint="add a cluster to the region in ops.toml")
        return min(free)[1]
