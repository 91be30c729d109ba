"""How full each data region is: its clusters, their capacity and the tenants placed on them.

What ``region list`` prints and the dashboard's Regions card shows (from the start-up glance
before the console has connected, then from ``RegionService.list()``). Stdlib only, like the
glance that imports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aptien_ops.config import Settings
    from aptien_ops.domain import ClusterLoad


@dataclass(frozen=True)
class ClusterSummary:
    """One database server of a region: how many tenants it may hold and holds."""

    name: str
    kind: str
    capacity: int
    tenants: int

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "kind": self.kind,
            "capacity": self.capacity,
            "tenants": self.tenants,
        }


@dataclass(frozen=True)
class RegionSummary:
    """A configured region with its clusters; ``tenants`` and ``capacity`` are their sums."""

    name: str
    description: str
    backup_store: str
    clusters: tuple[ClusterSummary, ...]

    @property
    def tenants(self) -> int:
        return sum(c.tenants for c in self.clusters)

    @property
    def capacity(self) -> int:
        return sum(c.capacity for c in self.clusters)

    @property
    def load(self) -> float:
        """Tenants per place, 0.0 for a region without capacity."""
        return self.tenants / self.capacity if self.capacity else 0.0

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "description": self.description,
            "backup_store": self.backup_store,
            "clusters": [c.as_json() for c in self.clusters],
            "tenants": self.tenants,
            "capacity": self.capacity,
        }


def region_summaries(settings: Settings, loads: list[ClusterLoad]) -> list[RegionSummary]:
    """Each configured region with its clusters, capacity and current load (from ``loads``)."""
    by_cluster = {(c.region, c.cluster): c.tenants for c in loads}
    return [
        RegionSummary(
            region.name,
            region.description,
            str(region.backup_store),
            tuple(
                ClusterSummary(c.name, c.kind, c.capacity, by_cluster.get((region.name, c.name), 0))
                for c in region.clusters
            ),
        )
        for region in settings.regions.values()
    ]
