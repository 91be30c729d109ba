"""Residency in the configuration: no two regions share a cluster, a store or a key."""

from __future__ import annotations

from pathlib import Path

from aptien_ops.config.settings import Settings
from aptien_ops.errors import ConfigError


def _normalise_url(url: str) -> str:
    return url.rstrip("/").lower()


def check_residency(settings: Settings) -> None:
    """Refuse a config that lets two regions share a cluster or a backup store.

    Raises:
        ConfigError: naming both regions and what they share.
    """
    seen_urls: dict[str, str] = {}
    seen_stores: dict[Path, str] = {}
    seen_keys: dict[Path, str] = {}
    names: dict[str, str] = {}
    for region in settings.regions.values():
        store = region.backup_store.resolve()
        for other_store, other in seen_stores.items():
            if (
                store == other_store
                or store.is_relative_to(other_store)
                or other_store.is_relative_to(store)
            ):
                raise ConfigError(
                    f"{settings.source}: regions.{region.name}.backup_store: "
                    f"shares storage with region {other!r} ({store}); "
                    "each region needs its own store"
                )
        seen_stores[store] = region.name
        key = region.key_file.resolve()
        if key in seen_keys:
            raise ConfigError(
                f"{settings.source}: regions.{region.name}.key_file: "
                f"the region key of {seen_keys[key]!r} is used again; "
                "each region seals with its own key"
            )
        seen_keys[key] = region.name
        for cluster in region.clusters:
            url = _normalise_url(cluster.url)
            if url in seen_urls:
                raise ConfigError(
                    f"{settings.source}: regions.{region.name}.clusters: "
                    f"cluster URL is also used by region {seen_urls[url]!r}; "
                    "a cluster belongs to one region only"
                )
            if cluster.name in names:
                raise ConfigError(
                    f"{settings.source}: regions.{region.name}.clusters: "
                    f"cluster name {cluster.name!r} is used twice"
                )
            seen_urls[url] = region.name
            names[cluster.name] = region.name
