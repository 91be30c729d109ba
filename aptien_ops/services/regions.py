"""Data regions: what the config defines, how full they are, and where a country belongs."""

from __future__ import annotations

from aptien_ops.permissions import Action
from aptien_ops.ports import CatalogTx
from aptien_ops.regions import RegionResolver, Resolution
from aptien_ops.services.context import OpsContext


class RegionService:
    def __init__(self, ctx: OpsContext, resolver: RegionResolver) -> None:
        self.ctx = ctx
        self.resolver = resolver

    def list(self) -> list[dict[str, object]]:
        """Each region with its clusters, capacity and current load."""

        def regions(tx: CatalogTx) -> list[dict[str, object]]:
            loads = {(c.region, c.cluster): c.tenants for c in tx.cluster_loads()}
            out: list[dict[str, object]] = []
            for region in self.ctx.settings.regions.values():
                clusters = [
                    {
                        "name": c.name,
                        "kind": c.kind,
                        "capacity": c.capacity,
                        "tenants": loads.get((region.name, c.name), 0),
                    }
                    for c in region.clusters
                ]
                out.append(
                    {
                        "name": region.name,
                        "description": region.description,
                        "backup_store": str(region.backup_store),
                        "clusters": clusters,
                        "tenants": sum(int(str(c["tenants"])) for c in clusters),
                        "capacity": sum(c.capacity for c in region.clusters),
                    }
                )
            return out

        return self.ctx.view(Action.REGION_VIEW, "regions", regions)

    def resolve(self, country: str) -> Resolution:
        """Raises: InvalidInput for unknown, withdrawn or user-assigned codes."""
        return self.resolver.resolve(country)
