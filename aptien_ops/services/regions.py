"""Data regions: what the config defines, how full they are, and where a country belongs."""

from __future__ import annotations

from aptien_ops.permissions import Action
from aptien_ops.ports import CatalogTx
from aptien_ops.regions import RegionResolver, RegionSummary, Resolution, region_summaries
from aptien_ops.services.context import OpsContext


class RegionService:
    def __init__(self, ctx: OpsContext, resolver: RegionResolver) -> None:
        self.ctx = ctx
        self.resolver = resolver

    def list(self) -> list[RegionSummary]:
        """Each region with its clusters, capacity and current load. Raises: Forbidden."""

        def regions(tx: CatalogTx) -> list[RegionSummary]:
            return region_summaries(self.ctx.settings, tx.tenants.cluster_loads())

        return self.ctx.view(Action.REGION_VIEW, "regions", regions)

    def resolve(self, country: str) -> Resolution:
        """Raises: InvalidInput for unknown, withdrawn or user-assigned codes."""
        return self.resolver.resolve(country)
