"""What the catalog reports about itself: loads per cluster, its schema."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ClusterLoad:
    region: str
    cluster: str
    tenants: int


@dataclass
class CatalogInfo:
    schema_revision: str
    created: bool = False
    notes: list[str] = field(default_factory=list)
