"""Turning what an operator (or a CSV file) gives into the register's values, or refusing it
with the rule spelled out: kinds, coverage, expertise tags, phone numbers, dates, digests.

Nothing here echoes a refused value raw: a message quotes at most a short ``repr``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

from aptien_ops.countries import country_for
from aptien_ops.domain.partners import REGION_NAME, Coverage, PartnerKind
from aptien_ops.domain.values import parse_choice
from aptien_ops.errors import InvalidInput

_KINDS = {str(k): k for k in PartnerKind}
TAG = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
#: Digits with the usual separators, an optional leading +: 3 to 32 characters.
PHONE = re.compile(r"^\+?[0-9][0-9 ()./-]{1,30}[0-9)]$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _quoted(text: str, width: int = 24) -> str:
    return repr(text if len(text) <= width else text[: width - 3] + "...")


def parse_kinds(values: Iterable[str]) -> frozenset[PartnerKind]:
    """``sales``, ``expert`` or both. Raises: InvalidInput."""
    kinds = frozenset(
        _KINDS.get(v.strip()) or parse_choice(PartnerKind, v.strip(), "partner kind")
        for v in values
        if v
    )
    if not kinds:
        raise InvalidInput("a partner needs a kind", hint="sales, expert, or both")
    return kinds


def parse_coverage(entries: Iterable[str], regions: Iterable[str]) -> Coverage:
    """ISO country codes (``DE``) and configured region names (``eu``). Raises: InvalidInput
    (an unknown region, a code that is no country, an empty coverage)."""
    known = tuple(regions)
    countries: set[str] = set()
    covered: set[str] = set()
    for raw in entries:
        entry = raw.strip()
        if not entry:
            continue
        if entry in known:
            covered.add(entry)
        elif len(entry) == 2 and entry.isascii() and entry.isalpha():
            countries.add(country_for(entry).alpha2)
        elif REGION_NAME.fullmatch(entry):
            raise InvalidInput(
                f"unknown region {_quoted(entry)}", hint=f"known regions: {', '.join(known)}"
            )
        else:
            raise InvalidInput(
                f"{_quoted(entry)} is neither a country code nor a region",
                hint=f"ISO 3166-1 codes such as DE, or regions: {', '.join(known)}",
            )
    if not countries and not covered:
        raise InvalidInput("a partner needs a coverage", hint="country codes and/or regions")
    return Coverage(frozenset(countries), frozenset(covered))


def parse_expertise(tags: Iterable[str]) -> tuple[str, ...]:
    """Lower-case tags (``gdpr``, ``payroll-de``), sorted, each once. Raises: InvalidInput."""
    out: set[str] = set()
    for raw in tags:
        tag = raw.strip()
        if not tag:
            continue
        if not TAG.fullmatch(tag):
            raise InvalidInput(
                f"invalid expertise tag {_quoted(tag)}",
                hint="lower-case a-z, digits and '-', at most 40 characters",
            )
        out.add(tag)
    return tuple(sorted(out))


def parse_phone(value: str | None, what: str = "the phone number") -> str | None:
    """Digits and separators, or None for blank. Raises: InvalidInput."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if not PHONE.fullmatch(text):
        raise InvalidInput(
            f"{what} {_quoted(text)} is not a phone number",
            hint="digits with spaces, '-', '.', '/', '()' and an optional leading '+'",
        )
    return text


def parse_date(value: str, what: str) -> date:
    """A ``YYYY-MM-DD`` calendar date (UTC). Raises: InvalidInput."""
    text = value.strip()
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"{what} {_quoted(text)} is not a date", hint="YYYY-MM-DD, a calendar date in UTC"
        ) from None


def parse_sha256(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    text = value.strip().lower()
    if not SHA256.fullmatch(text):
        raise InvalidInput("the document digest is not a SHA-256 (64 hex digits)")
    return text
