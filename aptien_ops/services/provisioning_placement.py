"""Where a new tenant goes: its region (the client's country's, or an admin's override) and
the least-loaded reachable cluster of that region with free capacity. Never another region's
cluster. Used by :class:`~aptien_ops.services.provisioning.ProvisioningService`.
"""

from __future__ import annotations

from aptien_ops.config import RegionSettings, Settings, region_or_fail
from aptien_ops.errors import Conflict, InvalidInput, Unavailable
from aptien_ops.ports import CatalogTx
from aptien_ops.regions import Resolution
from aptien_ops.services.context import OpsContext


def chosen_region(
    settings: Settings, resolution: Resolution, asked: str | None, override: str | None
) -> RegionSettings:
    """The country's region, or ``asked`` if the request names another and gives an
    ``override`` reason.

    Raises: InvalidInput (``asked`` contradicts the country without a reason), ConfigError.
    """
    resolved = resolution.region
    if asked is None or asked == resolved:
        return region_or_fail(settings, resolved)
    region = region_or_fail(settings, asked)
    if not (override or "").strip():
        raise InvalidInput(
            f"--region {asked} contradicts the client's country "
            f"({resolution.country.alpha2} → {resolved})",
            hint='an admin may pass --residency-override "reason" to place it elsewhere',
        )
    return region


def reachable_clusters(ctx: OpsContext, region: RegionSettings) -> list[str]:
    """Clusters of the region that answer, in config order. Never another region's.

    Raises: Unavailable if none answers.
    """
    reachable = []
    errors = []
    for cluster in region.clusters:
        try:
            ctx.store(cluster.name).ping()
        except Unavailable as exc:
            errors.append(exc.message)
            continue
        reachable.append(cluster.name)
    if not reachable:
        first_error = errors[0] if errors else "none configured"
        raise Unavailable(f"no cluster of region {region.name} is reachable: {first_error}")
    return reachable


def least_loaded(tx: CatalogTx, region: RegionSettings, reachable: list[str]) -> str:
    """The least-loaded reachable cluster of the region with free capacity.

    Raises: Conflict if every reachable cluster is full.
    """
    loads = {c.cluster: c.tenants for c in tx.tenants.cluster_loads() if c.region == region.name}
    free = [
        (loads.get(c.name, 0) / c.capacity, c.name)
        for c in region.clusters
        if c.name in reachable and loads.get(c.name, 0) < c.capacity
    ]
    if not free:
        raise Conflict(
            f"region {region.name} is full: every reachable cluster is at capacity",
            hint="add a cluster to the region in ops.toml",
        )
    return min(free)[1]
