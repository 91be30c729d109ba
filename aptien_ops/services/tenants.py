"""Tenants: listing and detail."""

from __future__ import annotations

from typing import Any

from aptien_ops.config import region_or_fail
from aptien_ops.domain import Tenant, TenantCount, TenantState, validate_tenant_name
from aptien_ops.errors import InvalidInput, NotFound, Unavailable
from aptien_ops.permissions import Action
from aptien_ops.ports import CatalogTx
from aptien_ops.services.context import OpsContext, existing_tenant


def parse_state(value: str) -> TenantState:
    """Raises: InvalidInput naming the known states."""
    try:
        return TenantState(value)
    except ValueError:
        raise InvalidInput(
            f"unknown tenant state {value[:30]!r}", hint=f"one of {', '.join(TenantState)}"
        ) from None


class TenantService:
    def __init__(self, ctx: OpsContext) -> None:
        self.ctx = ctx

    def rows(self, *, region: str | None = None, state: str | None = None) -> list[dict[str, Any]]:
        """Tenants as JSON-ready dicts, by name. Raises: InvalidInput, Forbidden."""
        wanted = self._list_filter(region, state)
        return self.ctx.view(
            Action.TENANT_VIEW, "tenants", lambda tx: tx.tenant_rows(region=region, state=wanted)
        )

    def rows_json(self, *, region: str | None = None, state: str | None = None) -> str:
        """:meth:`rows` as one JSON array text, ASCII only. Raises: InvalidInput, Forbidden."""
        wanted = self._list_filter(region, state)
        return self.ctx.view(
            Action.TENANT_VIEW,
            "tenants",
            lambda tx: tx.tenant_rows_json(region=region, state=wanted),
        )

    def _list_filter(self, region: str | None, state: str | None) -> TenantState | None:
        if region is not None:
            region_or_fail(self.ctx.settings, region)
        return parse_state(state) if state else None

    def counts(self) -> list[TenantCount]:
        return self.ctx.view(Action.TENANT_VIEW, "tenants", lambda tx: tx.tenant_counts())

    def show(self, name: str) -> Tenant:
        """Raises: InvalidInput (bad name), NotFound, Forbidden."""
        validate_tenant_name(name)
        return self.ctx.view(Action.TENANT_VIEW, name, lambda tx: existing_tenant(tx, name))

    def detail(self, name: str) -> dict[str, Any]:
        """The tenant with its step history, state history and database size.

        The size comes from the cluster; if it cannot be reached the detail says so instead of
        failing. Raises: InvalidInput, NotFound, Forbidden.
        """
        validate_tenant_name(name)

        def read(tx: CatalogTx) -> dict[str, Any]:
            tenant = existing_tenant(tx, name)
            return {
                **tenant.as_json(),
                "steps": [s.as_json() for s in tx.tenant_steps(name)],
                "history": [h.as_json() for h in tx.tenant_history(name)],
            }

        data = self.ctx.view(Action.TENANT_VIEW, name, read)
        data["size_bytes"] = None
        if data["cluster"] and data["state"] != TenantState.PURGED:
            try:
                data["size_bytes"] = self.ctx.store(data["cluster"]).size_bytes(name)
            except (Unavailable, NotFound) as exc:
                data["size_error"] = exc.message
        return data

    # -- internals ------------------------------------------------------------------------
