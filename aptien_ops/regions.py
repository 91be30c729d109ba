"""Which data region a client's country belongs to (SPEC §3: regions).

Policy: clients in Europe, Africa and Western Asia keep their data in ``eu``; clients in the
Americas, Oceania and the rest of Asia in ``us``. Membership follows the UN M49 region (and,
for Asia, the sub-region) of the country's ISO 3166-1 alpha-2 code, listed in
``aptien_ops/data/countries.csv``. ``[region_overrides]`` in ``ops.toml`` wins over the rule.

Antarctica (``AQ``) has no M49 region; it is placed in ``us`` explicitly (research stations
are run from every continent, so no rule decides it; an override can move it).

The countries themselves are in :mod:`aptien_ops.countries`; which country a typed text
names (a code or an exact name, never a first fuzzy match) in :mod:`aptien_ops.country_names`.

Stdlib only: the scripted CLI imports this on every ``region resolve``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aptien_ops.countries import COUNTRIES_CSV as COUNTRIES_CSV
from aptien_ops.countries import Country as Country
from aptien_ops.countries import countries as countries
from aptien_ops.countries import country_for as country_for
from aptien_ops.country_names import LISTED, CountryLookup, lookup
from aptien_ops.errors import ConfigError, InternalError, InvalidInput

if TYPE_CHECKING:
    from aptien_ops.config import Settings
    from aptien_ops.domain import ClusterLoad

EU = "eu"
US = "us"


@dataclass(frozen=True)
class Resolution:
    """Where a country's clients keep their data, and why."""

    country: Country
    region: str
    rule: str
    """One line for an operator, e.g. ``UN M49 Western Asia → eu``."""
    overridden: bool = False

    def as_json(self) -> dict[str, object]:
        return {
            "country": self.country.alpha2,
            "country_name": self.country.name,
            "m49_region": self.country.m49_region,
            "m49_subregion": self.country.m49_subregion,
            "region": self.region,
            "rule": self.rule,
            "overridden": self.overridden,
        }


def default_region_for(country: Country) -> str:
    """The policy region of ``country`` before overrides: ``eu`` or ``us``.

    Europe, Africa and Western Asia → ``eu``; the Americas, Oceania, the rest of Asia and
    Antarctica → ``us``.

    Raises:
        InternalError: the country carries an M49 region the policy does not know (a data bug).
    """
    return _default(country)[0]


def _default(country: Country) -> tuple[str, str]:
    """(region, what decided it) for the rule text."""
    region, sub = country.m49_region, country.m49_subregion
    if region in ("Europe", "Africa"):
        return EU, f"UN M49 {region}"
    if region == "Asia":
        # Asia is split: only Western Asia goes to eu.
        return (EU if sub == "Western Asia" else US), f"UN M49 {sub}"
    if region in ("Americas", "Oceania"):
        return US, f"UN M49 {region}"
    if region == "Antarctica":
        return US, "Antarctica (no UN M49 region; placed by policy)"
    raise InternalError(
        f"country {country.alpha2} has M49 region {region!r}, "
        "which the region policy does not cover"
    )


class RegionResolver:
    """Resolves a client's country to a configured data region.

    ``regions`` are the configured region names (``Settings.regions`` works as is);
    ``overrides`` map upper-case alpha-2 codes to region names (``Settings.region_overrides``).
    """

    def __init__(
        self, regions: Iterable[str], overrides: Mapping[str, str], *, source: str = "ops.toml"
    ) -> None:
        """Raises: ConfigError if an override names an unknown country or region."""
        self.regions = tuple(regions)
        self.source = source
        self.overrides: dict[str, str] = {}
        for key, region in overrides.items():
            try:
                cc = country_for(key).alpha2
            except InvalidInput as exc:
                raise ConfigError(
                    f"{source}: region_overrides.{key}: {exc.message}", hint=exc.hint
                ) from None
            if region not in self.regions:
                raise ConfigError(
                    f"{source}: region_overrides.{key}: unknown region {region!r}",
                    hint=f"configured regions: {', '.join(self.regions)}",
                )
            self.overrides[cc] = region

    @classmethod
    def from_settings(cls, settings: Settings) -> RegionResolver:
        """Raises: ConfigError as :meth:`__init__`."""
        source = settings.path.name if settings.path else "the embedded config"
        return cls(settings.regions, settings.region_overrides, source=source)

    def resolve(self, code: str) -> Resolution:
        """The region of the client's country ``code`` (any case, blanks ignored) and the rule.

        Raises:
            InvalidInput: ``code`` is not an assigned ISO 3166-1 alpha-2 country code.
            ConfigError: the region it resolves to is not configured.
        """
        country = country_for(code)
        default, basis = _default(country)
        rule = f"{basis} → {default}"
        region = self.overrides.get(country.alpha2)
        if region is not None:
            rule = f"override in {self.source} → {region}" + (
                "" if region == default else f" ({basis} gives {default})"
            )
            return Resolution(country, region, rule, overridden=True)
        if default not in self.regions:
            raise ConfigError(
                f"{country.alpha2} resolves to region {default!r} ({rule}), "
                "which is not configured",
                hint=f"configured regions: {', '.join(self.regions)}; "
                f"add [regions.{default}] or an override for {country.alpha2}",
            )
        return Resolution(country, default, rule)

    def resolve_named(self, text: str) -> Resolution:
        """The region of the one country ``text`` names: its ISO code or its exact name (see
        :mod:`aptien_ops.country_names`), never a partial or first match.

        Raises:
            InvalidInput: ``text`` names no country; the message lists what it matches.
            ConfigError: the region it resolves to is not configured.
        """
        return self.resolve(self.lookup(text, LISTED).named().alpha2)

    def lookup(self, text: str, limit: int = 20) -> CountryLookup:
        """What ``text`` names and the countries it matches (at most ``limit``), best first."""
        return lookup(text, limit)

    def search(self, text: str, limit: int = 20) -> list[Country]:
        """Countries whose code or name matches ``text`` (case- and accent-insensitive), the
        one it names first; then as :func:`aptien_ops.country_names.lookup` ranks them."""
        return list(lookup(text, limit).matches)


@dataclass(frozen=True)
class ClusterSummary:
    """One database server of a region: its capacity and the live tenants placed on it."""

    name: str
    kind: str
    """``sqlite`` or ``postgresql``."""
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
    """A configured region with its clusters, its capacity and how full it is."""

    name: str
    description: str
    backup_store: str
    clusters: tuple[ClusterSummary, ...]

    @property
    def tenants(self) -> int:
        """Live tenants on the region's clusters."""
        return sum(c.tenants for c in self.clusters)

    @property
    def capacity(self) -> int:
        return sum(c.capacity for c in self.clusters)

    @property
    def load(self) -> float:
        """``tenants / capacity`` (0.0 for a region without capacity)."""
        return self.tenants / self.capacity if self.capacity else 0.0

    def as_json(self) -> dict[str, object]:
        """What ``region list --json`` prints for the region."""
        return {
            "name": self.name,
            "description": self.description,
            "backup_store": self.backup_store,
            "clusters": [c.as_json() for c in self.clusters],
            "tenants": self.tenants,
            "capacity": self.capacity,
        }


def region_summaries(settings: Settings, loads: Iterable[ClusterLoad]) -> list[RegionSummary]:
    """Each configured region, in configuration order, with its clusters' capacity and current
    load (``loads``: live tenants per cluster; a cluster missing from it has none)."""
    by_cluster = {(c.region, c.cluster): c.tenants for c in loads}
    return [
        RegionSummary(
            name=region.name,
            description=region.description,
            backup_store=str(region.backup_store),
            clusters=tuple(
                ClusterSummary(c.name, c.kind, c.capacity, by_cluster.get((region.name, c.name), 0))
                for c in region.clusters
            ),
        )
        for region in settings.regions.values()
    ]
