"""Where a client's data lives: country → UN M49 → eu/us, with overrides from ops.toml."""

from __future__ import annotations

import csv
import subprocess
import sys
import tomllib

import pytest

from aptien_ops.config import DEFAULT_CONFIG, parse_settings
from aptien_ops.country_names import lookup, names_of
from aptien_ops.errors import ConfigError, ExitCode, InvalidInput
from aptien_ops.regions import (
    COUNTRIES_CSV,
    Country,
    RegionResolver,
    Resolution,
    countries,
    country_for,
    default_region_for,
)

REGIONS = ("eu", "us")


@pytest.fixture()
def resolver() -> RegionResolver:
    return RegionResolver(REGIONS, {})


def csv_rows() -> list[dict[str, str]]:
    text = COUNTRIES_CSV.read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


# ----------------------------------------------------------------------------- the country list


def test_country_list_holds_all_249_assigned_codes_once_each_sorted_and_named() -> None:
    rows = csv_rows()
    codes = [r["alpha2"] for r in rows]
    assert len(rows) == 249
    assert len(set(codes)) == 249
    assert codes == sorted(codes)
    assert all(len(c) == 2 and c.isascii() and c.isupper() for c in codes)
    assert all(r["name"].strip() and r["m49_region"] and r["m49_subregion"] for r in rows)
    assert list(rows[0]) == ["alpha2", "name", "m49_region", "m49_subregion"]
    assert len(countries()) == 249


def test_country_list_uses_only_m49_regions_and_their_subregions() -> None:
    allowed = {
        "Europe": {"Northern Europe", "Western Europe", "Southern Europe", "Eastern Europe"},
        "Africa": {"Northern Africa", "Sub-Saharan Africa"},
        "Asia": {
            "Western Asia",
            "Central Asia",
            "Southern Asia",
            "Eastern Asia",
            "South-eastern Asia",
        },
        "Americas": {"Northern America", "Latin America and the Caribbean"},
        "Oceania": {"Australia and New Zealand", "Melanesia", "Micronesia", "Polynesia"},
        "Antarctica": {"Antarctica"},
    }
    for c in countries():
        assert c.m49_subregion in allowed[c.m49_region], c


def test_western_asia_is_exactly_the_m49_list() -> None:
    western_asia = {c.alpha2 for c in countries() if c.m49_subregion == "Western Asia"}
    assert western_asia == set("AM AZ BH CY GE IQ IL JO KW LB OM QA SA PS SY TR AE YE".split())


@pytest.mark.parametrize(
    ("code", "name", "region", "subregion"),
    [
        ("DE", "Germany", "Europe", "Western Europe"),
        ("TR", "Türkiye", "Asia", "Western Asia"),
        ("CY", "Cyprus", "Asia", "Western Asia"),
        ("US", "United States of America", "Americas", "Northern America"),
        ("AU", "Australia", "Oceania", "Australia and New Zealand"),
        ("IN", "India", "Asia", "Southern Asia"),
        ("AX", "Åland Islands", "Europe", "Northern Europe"),
        ("TW", "Taiwan, Province of China", "Asia", "Eastern Asia"),
    ],
)
def test_known_rows_read_back_exactly(code: str, name: str, region: str, subregion: str) -> None:
    assert country_for(code) == Country(code, name, region, subregion)


@pytest.mark.parametrize("country", countries(), ids=lambda c: c.alpha2)
def test_every_listed_country_resolves_to_eu_or_us(
    resolver: RegionResolver, country: Country
) -> None:
    resolution = resolver.resolve(country.alpha2)
    assert resolution.region in REGIONS
    assert resolution.region == default_region_for(country)
    assert not resolution.overridden


# ----------------------------------------------------------------------------- the policy


@pytest.mark.parametrize("code", "DE FR NG ZA EG KE TR IL SA AE CY GE".split())
def test_clients_in_europe_africa_and_western_asia_keep_data_in_eu(
    resolver: RegionResolver, code: str
) -> None:
    assert resolver.resolve(code).region == "eu"


@pytest.mark.parametrize("code", "US CA BR MX AU NZ FJ JP CN IN SG KZ IR AF".split())
def test_clients_in_americas_oceania_and_rest_of_asia_keep_data_in_us(
    resolver: RegionResolver, code: str
) -> None:
    assert resolver.resolve(code).region == "us"


@pytest.mark.parametrize(
    ("code", "rule"),
    [
        ("TR", "UN M49 Western Asia → eu"),
        ("DE", "UN M49 Europe → eu"),
        ("KE", "UN M49 Africa → eu"),
        ("IR", "UN M49 Southern Asia → us"),
        ("KZ", "UN M49 Central Asia → us"),
        ("BR", "UN M49 Americas → us"),
        ("FJ", "UN M49 Oceania → us"),
    ],
)
def test_rule_text_names_the_m49_group_that_decided(
    resolver: RegionResolver, code: str, rule: str
) -> None:
    assert resolver.resolve(code).rule == rule


def test_antarctica_is_placed_in_us_by_policy_and_says_so(resolver: RegionResolver) -> None:
    resolution = resolver.resolve("AQ")
    assert resolution.region == "us"
    assert "no UN M49 region" in resolution.rule
    assert resolution.rule.endswith("→ us")


@pytest.mark.parametrize(("code", "region", "default"), [("IL", "us", "eu"), ("JP", "eu", "us")])
def test_override_in_config_wins_over_the_m49_rule(code: str, region: str, default: str) -> None:
    resolution = RegionResolver(REGIONS, {code: region}).resolve(code.lower())
    assert resolution.region == region
    assert resolution.overridden
    assert resolution.rule.startswith(f"override in ops.toml → {region}")
    assert f"gives {default}" in resolution.rule
    assert resolution.as_json()["overridden"] is True


def test_override_does_not_touch_neighbouring_countries() -> None:
    resolver = RegionResolver(REGIONS, {"IL": "us"})
    assert resolver.resolve("JO").region == "eu"
    assert not resolver.resolve("JO").overridden


def test_resolution_as_json_carries_country_region_and_rule(resolver: RegionResolver) -> None:
    assert resolver.resolve("cy").as_json() == {
        "country": "CY",
        "country_name": "Cyprus",
        "m49_region": "Asia",
        "m49_subregion": "Western Asia",
        "region": "eu",
        "rule": "UN M49 Western Asia → eu",
        "overridden": False,
    }


# ----------------------------------------------------------------------------- operator input


@pytest.mark.parametrize("typed", ["DE", "de", "De", "dE", " de ", "\tDE\n"])
def test_operator_may_type_a_code_in_any_case_with_blanks(
    resolver: RegionResolver, typed: str
) -> None:
    resolution = resolver.resolve(typed)
    assert isinstance(resolution, Resolution)
    assert resolution.country.alpha2 == "DE"


BAD_INPUT = [
    # (typed, words the message or hint must contain)
    ("", "no country code"),
    ("   ", "no country code"),
    ("DEU", "alpha-3"),
    ("1", "two-letter"),
    ("D3", "two-letter"),
    ("ß", "two-letter"),  # "ß".upper() is "SS": must not become South Sudan
    ("Dе", "two-letter"),  # Cyrillic е
    ("x" * 10_000, "10000 characters"),
    ("D\nE", "two-letter"),
    ("AA", "user-assigned"),
    ("QM", "user-assigned"),
    ("QZ", "user-assigned"),
    ("XA", "user-assigned"),
    ("XK", "Kosovo"),
    ("XZ", "user-assigned"),
    ("ZZ", "user-assigned"),
    ("EU", "not a country"),
    ("UN", "not a country"),
    ("UK", "use GB"),
    ("AN", "BQ, CW or SX"),
    ("CS", "RS or ME"),
    ("YU", "RS"),
    ("TP", "use TL"),
    ("ZR", "use CD"),
    ("BU", "use MM"),
    ("DD", "use DE"),
    ("SU", "RU"),
    ("JJ", "ISO 3166-1 alpha-2"),
    ("OO", "aptien-ops region resolve"),
]


@pytest.mark.parametrize(("typed", "expected"), BAD_INPUT, ids=lambda v: repr(v)[:14])
def test_bad_country_input_is_refused_with_exit_2_and_one_short_line(
    resolver: RegionResolver, typed: str, expected: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        resolver.resolve(typed)
    err = caught.value
    assert not isinstance(err, ConfigError)
    assert err.exit_code == ExitCode.INVALID == 2
    assert err.hint
    line = err.one_line()
    assert "\n" not in line and "\r" not in line
    assert len(line) <= 220
    assert expected in line


def test_withdrawn_and_reserved_codes_are_not_in_the_country_list() -> None:
    listed = {c.alpha2 for c in countries()}
    for code in "AN BU CS DD SU TP YU ZR UK EU UN AA ZZ XK QM".split():
        assert code not in listed


# ----------------------------------------------------------------------------- configuration


def test_default_region_missing_from_config_is_a_config_error_naming_it() -> None:
    resolver = RegionResolver(["eu"], {})
    assert resolver.resolve("DE").region == "eu"
    with pytest.raises(ConfigError, match="'us'") as caught:
        resolver.resolve("JP")
    assert caught.value.exit_code == 2


def test_override_to_an_unconfigured_region_is_a_config_error_naming_it() -> None:
    with pytest.raises(ConfigError, match="'ap'"):
        RegionResolver(REGIONS, {"JP": "ap"})


@pytest.mark.parametrize(
    ("key", "expected"), [("UK", "use GB"), ("XX", "user-assigned"), ("YU", "withdrawn")]
)
def test_override_for_a_code_that_is_not_a_country_is_a_config_error(
    key: str, expected: str
) -> None:
    with pytest.raises(ConfigError, match=f"region_overrides.{key}") as caught:
        RegionResolver(REGIONS, {key: "eu"})
    assert expected in caught.value.one_line()


def test_resolver_built_from_the_embedded_default_settings_follows_the_policy() -> None:
    settings = parse_settings(tomllib.loads(DEFAULT_CONFIG.read_text(encoding="utf-8")), None)
    resolver = RegionResolver.from_settings(settings)
    assert resolver.resolve("DE").region == "eu"
    assert resolver.resolve("US").region == "us"


# ----------------------------------------------------------------------------- the picker


def test_picker_finds_germany_by_part_of_its_name(resolver: RegionResolver) -> None:
    assert [c.alpha2 for c in resolver.search("germ")] == ["DE"]
    assert [c.alpha2 for c in resolver.search("GERMANY")] == ["DE"]


def test_picker_puts_an_exact_code_first(resolver: RegionResolver) -> None:
    found = resolver.search("de")
    assert found[0].alpha2 == "DE"
    assert len(found) > 1
    assert resolver.search(" De ")[0].alpha2 == "DE"


def test_picker_ignores_accents_and_knows_everyday_names(resolver: RegionResolver) -> None:
    assert resolver.search("turkiye")[0].alpha2 == "TR"
    assert resolver.search("turkey")[0].alpha2 == "TR"
    assert resolver.search("cote")[0].alpha2 == "CI"
    assert "GB" in [c.alpha2 for c in resolver.search("united kingdom")]


def test_picker_respects_the_limit_and_survives_huge_or_empty_text(
    resolver: RegionResolver,
) -> None:
    assert len(resolver.search("", limit=5)) == 5
    assert len(resolver.search("a", limit=3)) == 3
    assert resolver.search("a", limit=0) == []
    assert resolver.search("x" * 10_000) == []
    assert resolver.search("no such place") == []


# ----------------------------------------------------------------------------- what text names


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("IE", "IE"),
        ("ie", "IE"),
        ("Ireland", "IE"),
        (" IRELAND ", "IE"),
        ("United States", "US"),
        ("united  kingdom", "GB"),
        ("Iran", "IR"),  # the ISO name without "(Islamic Republic of)"
        ("Taiwan", "TW"),  # without ", Province of China"
        ("cote d'ivoire", "CI"),
        ("Türkiye", "TR"),
        ("South Korea", "KR"),
        ("niger", "NE"),  # exact, though Nigeria starts the same
        ("Congo", "CG"),
    ],
)
def test_a_code_or_an_exact_name_names_its_country(
    resolver: RegionResolver, typed: str, code: str
) -> None:
    assert resolver.resolve_named(typed).country.alpha2 == code
    assert resolver.search(typed)[0].alpha2 == code  # and leads the list


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("korea", "'korea' matches 2 countries: KP Democratic People's Republic of Korea, KR"),
        ("uk", "use GB for the United Kingdom"),
        ("United", "'United' matches 6 countries: AE United Arab Emirates, GB"),
        ("germ", "'germ' matches 1 country: DE Germany"),
        ("virgin islands", "VG British Virgin Islands, VI United States Virgin Islands"),
        ("atlantis", "no country matches 'atlantis'"),
        ("", "no country code given"),
        ("DEU", "alpha-3"),
    ],
)
def test_text_that_only_matches_names_no_country_and_lists_the_candidates(
    resolver: RegionResolver, typed: str, expected: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        resolver.resolve_named(typed)
    line = caught.value.one_line()
    assert expected in line and "\n" not in line
    assert caught.value.exit_code == ExitCode.INVALID


def test_a_long_list_of_candidates_is_cut_with_how_many_more(resolver: RegionResolver) -> None:
    with pytest.raises(InvalidInput, match=r"matches \d+ countries: .* and \d+ more"):
        resolver.resolve_named("land")


def test_every_name_a_country_goes_by_names_that_country_alone() -> None:
    for country in countries():
        for name in names_of(country):
            assert lookup(name).exact == country, name


# ----------------------------------------------------------------------------- import cost


def test_region_module_imports_without_heavy_dependencies() -> None:
    code = (
        "import sys, aptien_ops.regions as r; r.countries();"
        "heavy = {'textual', 'sqlalchemy', 'psycopg', 'click', 'cryptography'};"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy"
        " or m.startswith(('aptien_ops.screens', 'aptien_ops.backends'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
