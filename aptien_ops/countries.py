"""The countries a client can be in: ISO 3166-1 alpha-2 codes with their UN M49 regions.

``countries()`` lists every officially assigned code (``aptien_ops/data/countries.csv``);
``country_for`` accepts exactly one of them and, for anything else, says what the text is
(reserved, withdrawn, user-assigned) and what to give instead. Stdlib only.
"""

from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass
from pathlib import Path

from aptien_ops.errors import InvalidInput

COUNTRIES_CSV = Path(__file__).with_name("data") / "countries.csv"
#: What an ISO 3166-1 alpha-2 code looks like (ASCII only: "ß".upper() is "SS").
TWO_LETTERS = re.compile(r"[A-Za-z]{2}", re.ASCII)
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


@dataclass(frozen=True)
class Country:
    alpha2: str
    name: str
    m49_region: str
    m49_subregion: str


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


def assigned(code: str) -> Country | None:
    """The country whose code ``code`` is exactly (any case), else None; never raises."""
    return _by_code().get(code.upper()) if TWO_LETTERS.fullmatch(code) else None


def quoted(text: str, width: int = 12) -> str:
    """``text`` quoted for a message, cut after ``width`` characters: never echo a pasted
    novel back to the terminal."""
    return repr(text) if len(text) <= width else f"{text[:width]!r}… ({len(text)} characters)"


def code_note(code: str) -> str | None:
    """What to give instead of ``code`` if it is a reserved or withdrawn code (``UK``: use GB
    for the United Kingdom); else None."""
    cc = code.strip().upper()
    if cc in _RESERVED:
        return _RESERVED[cc][1]
    if cc in _WITHDRAWN:
        former, successor = _WITHDRAWN[cc]
        return f"{cc} ({former}) was withdrawn: use {successor}"
    return None


def country_for(code: str) -> Country:
    """The country with ISO 3166-1 alpha-2 ``code`` (any case, surrounding blanks ignored).

    Raises:
        InvalidInput: empty, not two letters, user-assigned, reserved, withdrawn or unknown.
    """
    if not isinstance(code, str) or not code.strip():
        raise InvalidInput("no country code given", hint=_EXAMPLE)
    text = code.strip()
    if not TWO_LETTERS.fullmatch(text):
        hint = _EXAMPLE
        if re.fullmatch(r"[A-Za-z]{3}", text, re.ASCII):
            hint = f"three-letter (alpha-3) codes are not accepted; {_EXAMPLE}"
        raise InvalidInput(f"{quoted(text)} is not a two-letter country code", hint=hint)
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
