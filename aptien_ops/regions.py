"""Which data region a client's country belongs to (SPEC §3: regions).

Policy: clients in Europe, Africa and Western Asia keep their data in ``eu``; clients in the
Americas, Oceania and the rest of Asia in ``us``. Membership follows the UN M49 region (and,
for Asia, the sub-region) of the country's ISO 3166-1 alpha-2 code, listed in
``aptien_ops/data/countries.csv``. ``[region_overrides]`` in ``ops.toml`` wins over the rule.

Antarctica (``AQ``) has no M49 region; it is placed in ``us`` explicitly (research stations
are run from every continent, so no rule decides it; an override can move it).

Stdlib only: the scripted CLI imports this on every ``region resolve``.
"""

from __future__ import annotations

import csv
import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from aptien_ops.errors import ConfigError, InternalError, InvalidInput

if TYPE_CHECKING:
    from aptien_ops.config import Settings
    from aptien_ops.domain import ClusterLoad

COUNTRIES_CSV = Path(__file__).with_name("data") / "countries.csv"
EU = "eu"
US = "us"
_TWO_LETTERS = re.compile(r"[A-Za-z]{2}", re.ASCII)
_EXAMPLE = "aptien-ops region resolve takes ISO 3166-1 alpha-2 codes such as DE, US or JP"

# ISO 3166-1 leaves these to private use: they never name a country.
_USER_ASSIGNED = frozenset(
    ["AA", "ZZ"]
    + [f"Q{c}" for c in "MNOPQRSTUVWXYZ"]
    + [f"X{c}" for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"]
)
# Reserved codes an operator may plausibly type: (what ISO keeps it for, hint).
_RESERVED: dict[str, tuple[str, str]] = {
    "UK": ("the United Kingdom", "use GB for the United Kingdom"),
    "EU": ("the European Union", "EU is not a country: give the member state, e.g. DE or FR"),
    "EZ": ("the eurozone", "the eurozone is not a country: give the member state, e.g. DE or FR"),
    "UN": ("the United Nations", "the UN is not a country: give the client's country code"),
    "AC": ("Ascension Island", "use SH (Saint Helena, Ascension and Tristan da Cunha)"),
    "TA": ("Tristan da Cunha", "use SH (Saint Helena, Ascension and Tristan da Cunha)"),
    "CP": ("Clipperton Island", "use FR for France"),
    "CQ": ("Sark", "use GG for Guernsey"),
    "DG": ("Diego Garcia", "use IO (British Indian Ocean Territory)"),
    "EA": ("Ceuta and Melilla", "use ES for Spain"),
    "IC": ("the Canary Islands", "use ES for Spain"),
}
# Withdrawn codes: (former country, successor codes).
_WITHDRAWN: dict[str, tuple[str, str]] = {
    "AN": ("Netherlands Antilles", "BQ, CW or SX"),
    "BU": ("Burma", "MM"),
    "CS": ("Serbia and Montenegro", "RS or ME"),
    "CT": ("Canton and Enderbury Islands", "KI"),
    "DD": ("German Democratic Republic", "DE"),
    "DY": ("Dahomey", "BJ"),
    "FX": ("Metropolitan France", "FR"),
    "HV": ("Upper Volta", "BF"),
    "JT": ("Johnston Island", "UM"),
    "MI": ("Midway Islands", "UM"),
    "NH": ("New Hebrides", "VU"),
    "NQ": ("Dronning Maud Land", "AQ"),
    "NT": ("Neutral Zone", "SA or IQ"),
    "PC": ("Pacific Islands Trust Territory", "FM, MH, MP or PW"),
    "PU": ("US Miscellaneous Pacific Islands", "UM"),
    "PZ": ("Panama Canal Zone", "PA"),
    "RH": ("Southern Rhodesia", "ZW"),
    "SU": ("USSR", "the successor state, e.g. RU, UA or KZ"),
    "TP": ("East Timor", "TL"),
    "VD": ("North Vietnam", "VN"),
    "WK": ("Wake Island", "UM"),
    "YD": ("South Yemen", "YE"),
    "YU": ("Yugoslavia", "the successor state, e.g. RS, HR, SI, BA, MK or ME"),
    "ZR": ("Zaire", "CD"),
}
# Everyday names the picker should also find; the CSV keeps the UN/ISO names.
_ALIASES: dict[str, str] = {
    "GB": "United Kingdom UK Great Britain England Scotland Wales",
    "US": "USA United States America",
    "TR": "Turkey",
    "KR": "South Korea",
    "KP": "North Korea",
    "RU": "Russia",
    "VN": "Vietnam",
    "CZ": "Czech Republic",
    "NL": "Holland",
    "CI": "Ivory Coast",
    "CV": "Cape Verde",
    "SZ": "Swaziland",
    "MK": "Macedonia",
    "MM": "Burma",
    "LA": "Laos",
    "SY": "Syria",
    "TZ": "Tanzania",
    "VA": "Vatican",
    "PS": "Palestine",
    "MD": "Moldova",
    "CD": "DR Congo Zaire",
    "TW": "Taiwan",
}


@dataclass(frozen=True)
class Country:
    alpha2: str
    name: str
    m49_region: str
    m49_subregion: str


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


@functools.cache
def countries() -> tuple[Country, ...]:
    """Every officially assigned ISO 3166-1 country, sorted by code (read once from package
    data)."""
    # Beside this file rather than importlib.resources: like config.DEFAULT_CONFIG, this also
    # works when an editable install has registered ``aptien_ops`` as a namespace package.
    text = COUNTRIES_CSV.read_text(encoding="utf-8")
    return tuple(
        Country(row["alpha2"], row["name"], row["m49_region"], row["m49_subregion"])
        for row in csv.DictReader(text.splitlines())
    )


@functools.cache
def _by_code() -> dict[str, Country]:
    return {c.alpha2: c for c in countries()}


def _shown(text: str) -> str:
    # Never echo a pasted novel back to the terminal.
    return repr(text) if len(text) <= 12 else f"{text[:12]!r}… ({len(text)} characters)"


def country_for(code: str) -> Country:
    """The country with ISO 3166-1 alpha-2 ``code`` (any case, surrounding blanks ignored).

    Raises:
        InvalidInput: empty, not two letters, user-assigned, reserved, withdrawn or unknown.
    """
    if not isinstance(code, str) or not code.strip():
        raise InvalidInput("no country code given", hint=_EXAMPLE)
    text = code.strip()
    if not _TWO_LETTERS.fullmatch(text):
        hint = _EXAMPLE
        if re.fullmatch(r"[A-Za-z]{3}", text, re.ASCII):
            hint = f"three-letter (alpha-3) codes are not accepted; {_EXAMPLE}"
        raise InvalidInput(f"{_shown(text)} is not a two-letter country code", hint=hint)
    cc = text.upper()
    found = _by_code().get(cc)
    if found is not None:
        return found
    if cc in _USER_ASSIGNED:
        hint = "user-assigned codes (AA, QM–QZ, XA–XZ, ZZ) are not countries; " + _EXAMPLE
        if cc == "XK":
            hint = (
                "XK is commonly used for Kosovo, which ISO 3166-1 does not list; "
                "user-assigned codes are not countries"
            )
        raise InvalidInput(f"{cc} is a user-assigned code, not a country", hint=hint)
    if cc in _RESERVED:
        what, hint = _RESERVED[cc]
        raise InvalidInput(
            f"{cc} is reserved in ISO 3166-1 for {what}; it is not a country code", hint=hint
        )
    if cc in _WITHDRAWN:
        former, successor = _WITHDRAWN[cc]
        raise InvalidInput(
            f"{cc} ({former}) is a withdrawn ISO 3166-1 code", hint=f"use {successor}"
        )
    raise InvalidInput(f"{cc} is not an ISO 3166-1 country code", hint=_EXAMPLE)


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

    def search(self, text: str, limit: int = 20) -> list[Country]:
        """Countries whose code or name matches ``text`` (case- and accent-insensitive).

        An exact code comes first, then names starting with ``text``, then names with a word
        starting with it, then any other match; ties by name. Empty ``text`` lists by name.
        """
        query = _fold(text.strip()[:64])
        if limit <= 0:
            return []
        ranked: list[tuple[int, str, Country]] = []
        for c in countries():
            name = _fold(c.name)
            words = f"{name} {_fold(_ALIASES.get(c.alpha2, ''))}"
            if c.alpha2.lower() == query:
                rank = 0
            elif name.startswith(query):
                rank = 1
            elif any(w.startswith(query) for w in re.split(r"[\s(),'-]+", words)):
                rank = 2
            elif query in words:
                rank = 3
            else:
                continue
            ranked.append((rank, name, c))
        ranked.sort(key=lambda r: (r[0], r[1]))
        return [c for _, _, c in ranked[:limit]]


def _fold(text: str) -> str:
    """Lower-case without accents, so ``turkiye`` finds Türkiye and ``aland`` Åland."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


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
