"""Which country an operator's text names: one rule for the provision form and the CLI.

A text names a country only if it is that country's ISO 3166-1 alpha-2 code (any case) or
its exact name (any case, accents ignored): the ISO name, that name without its bracketed or
comma-separated qualifier ("Iran", "Taiwan"), or a common short name ("United States",
"South Korea"). Anything else names no country, however few it matches: the operator is asked
to choose. Taking the first fuzzy match instead put clients in the wrong country and region
(``uk`` found Ukraine first, ``korea`` North Korea, ``united states`` the Minor Outlying
Islands). Stdlib only.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

from aptien_ops.countries import (
    TWO_LETTERS,
    Country,
    assigned,
    code_note,
    countries,
    country_for,
    quoted,
)
from aptien_ops.errors import InternalError, InvalidInput

#: Common short names of countries whose ISO name reads otherwise; each names one country.
_SHORT_NAMES: dict[str, tuple[str, ...]] = {
    "GB": ("United Kingdom", "Great Britain"),
    "US": ("United States",),
    "KR": ("South Korea",),
    "KP": ("North Korea",),
    "RU": ("Russia",),
    "VN": ("Vietnam",),
    "CZ": ("Czech Republic",),
    "TR": ("Turkey",),
    "CI": ("Ivory Coast",),
    "CV": ("Cape Verde",),
    "SZ": ("Swaziland",),
    "MM": ("Burma",),
    "LA": ("Laos",),
    "SY": ("Syria",),
    "TZ": ("Tanzania",),
    "VA": ("Vatican", "Vatican City"),
    "PS": ("Palestine",),
    "MD": ("Moldova",),
    "BN": ("Brunei",),
    "CD": ("DR Congo",),
    "TL": ("East Timor",),
}
#: Words the search also finds a country by, though they do not name it on their own (UK is
#: reserved by ISO and is also how Ukraine starts; Holland and England are parts of countries).
_SEARCH_WORDS: dict[str, str] = {
    "GB": "UK England Scotland Wales",
    "US": "USA America",
    "NL": "Holland",
    "MK": "Macedonia",
    "CD": "Zaire",
}
#: The ISO name's qualifier: "Iran (Islamic Republic of)", "Taiwan, Province of China".
_QUALIFIER = re.compile(r"\s*\([^)]*\)|,.*$")
#: The longest text a refusal quotes whole (the longest country name has 52 characters).
QUOTED = 60
#: Candidates a refusal lists before "and N more".
LISTED = 4
_GIVE = "give the ISO 3166-1 alpha-2 code or the country's full name, e.g. DE or Germany"


def fold(text: str) -> str:
    """Lower-case without accents and with single spaces, so ``turkiye`` finds Türkiye."""
    decomposed = unicodedata.normalize("NFKD", " ".join(text.split()))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def names_of(country: Country) -> tuple[str, ...]:
    """Every name that names ``country`` exactly: the ISO name, without its qualifier, and
    its common short names."""
    short = _QUALIFIER.sub("", country.name).strip()
    names = (country.name, short, *_SHORT_NAMES.get(country.alpha2, ()))
    return tuple(dict.fromkeys(names))


@functools.cache
def _by_exact_name() -> dict[str, Country]:
    found: dict[str, Country] = {}
    for country in countries():
        for name in names_of(country):
            other = found.setdefault(fold(name), country)
            if other is not country:  # a data bug: a name must never name two countries
                raise InternalError(f"{name!r} names both {other.alpha2} and {country.alpha2}")
    return found


@dataclass(frozen=True)
class CountryLookup:
    """What an operator's text names: one country exactly, or the countries it matches."""

    text: str
    """The text as looked up (blanks around it dropped)."""
    exact: Country | None
    """The country the text names: its code or its exact name; else None."""
    matches: tuple[Country, ...]
    """Countries the text matches, best first (an exact match leads), at most the limit."""
    total: int
    """How many countries it matches in all."""

    @property
    def note(self) -> str | None:
        """For a reserved or withdrawn code (``uk``), what to give instead."""
        return code_note(self.text) if TWO_LETTERS.fullmatch(self.text) else None

    def named(self) -> Country:
        """The country the text names.

        Raises:
            InvalidInput: it names none: the message says what it matches (to choose from)
                or that it matches nothing.
        """
        if self.exact is not None:
            return self.exact
        raise self.refusal()

    def refusal(self) -> InvalidInput:
        """Why the text names no country, in one line with the candidates."""
        text = self.text
        if not text or len(text) <= 3 and (not self.matches or TWO_LETTERS.fullmatch(text)):
            # Typed as a code: say what the code is (reserved, withdrawn, alpha-3 …).
            try:
                country_for(text)
            except InvalidInput as error:
                return error
        if not self.matches:
            return InvalidInput(f"no country matches {quoted(text, QUOTED)}", hint=_GIVE)
        listed = ", ".join(f"{c.alpha2} {c.name}" for c in self.matches[:LISTED])
        more = f" and {self.total - LISTED} more" if self.total > LISTED else ""
        what = "1 country" if self.total == 1 else f"{self.total} countries"
        return InvalidInput(f"{quoted(text, QUOTED)} matches {what}: {listed}{more}", hint=_GIVE)


@functools.cache
def _searched() -> tuple[tuple[Country, str, tuple[str, ...], str], ...]:
    """Per country: its folded name, the words a search finds it by, and all of them."""
    table = []
    for c in countries():
        extra = (*_SHORT_NAMES.get(c.alpha2, ()), _SEARCH_WORDS.get(c.alpha2, ""))
        every = fold(" ".join((c.name, *extra)))
        table.append((c, fold(c.name), tuple(re.split(r"[\s(),'-]+", every)), every))
    return tuple(table)


def lookup(text: str, limit: int = 20) -> CountryLookup:
    """What ``text`` names (see the module's rule) and what it matches, best first.

    The country it names comes first, then names starting with ``text``, then names with a
    word starting with it, then any other match; ties by name. Empty text matches every
    country, by name.
    """
    typed = text.strip()
    exact = assigned(typed)
    if exact is None and len(typed) <= 64:
        exact = _by_exact_name().get(fold(typed))
    query = fold(typed[:64])
    ranked: list[tuple[int, str, Country]] = []
    for c, name, words, every in _searched():
        if c is exact:
            rank = 0
        elif name.startswith(query):
            rank = 1
        elif any(w.startswith(query) for w in words):
            rank = 2
        elif query in every:
            rank = 3
        else:
            continue
        ranked.append((rank, name, c))
    ranked.sort(key=lambda r: (r[0], r[1]))
    matches = tuple(c for _, _, c in ranked[: max(limit, 0)])
    return CountryLookup(typed, exact, matches, len(ranked))
