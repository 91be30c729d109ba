"""Checking the cells of a ``partner import`` file: column by column, or row by row to say
where the file is wrong.

Every column is checked as a whole with the rules that check one partner (a cell that repeats
down a column, such as kinds, coverage or a date, is checked once), and the checked columns
become the catalog's rows without a record per row. When any cell is refused the rows are
walked again in the file's order, each cell in the columns' order, so that the first refused
cell is the one named (line and column), whatever the column checks met first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import NamedTuple, TypeVar

from aptien_ops.domain.free_text import CONTACT_NAME, LEGAL_NAME
from aptien_ops.domain.partner_batch import NewAgreements, NewPartners
from aptien_ops.domain.partner_input import (
    parse_coverage,
    parse_date,
    parse_expertise,
    parse_kinds,
    parse_phone,
)
from aptien_ops.domain.partners import PARTNER_NAME, PartnerKind, validate_partner_name
from aptien_ops.domain.values import plain_email
from aptien_ops.errors import InvalidInput
from aptien_ops.partner_files import BadLine, ImportFile
from aptien_ops.services.partner_changes import partner_email

T = TypeVar("T")

_DATES = ("signed_on", "effective_from", "expires_on")
_REFERENCE_MAX = 80


class Register(NamedTuple):
    """A checked import file: its partners and their agreements; ``lines[i]`` is where the
    ``i``-th partner is."""

    partners: NewPartners
    agreements: NewAgreements
    lines: Sequence[int]


class Rules(NamedTuple):
    """What a file is checked against, and what its new rows get."""

    regions: tuple[str, ...]
    review_due: date
    at: datetime
    by: str


def checked_register(file: ImportFile, rules: Rules) -> Register:
    """The file's partners and agreements. Raises: InvalidInput (BadLine: the first refused
    cell, naming its line and column)."""
    try:
        return _by_column(file, rules)
    except InvalidInput as refused:
        _first_refused(file, rules)
        raise refused from None  # the walk always finds it; never weaker if it did not


def _by_column(file: ImportFile, rules: Rules) -> Register:
    c = file.columns
    names = c["name"]
    if not all(map(PARTNER_NAME.fullmatch, names)) or len(set(names)) != len(names):
        raise InvalidInput("a name is refused or repeated")
    partners = NewPartners(
        names,
        LEGAL_NAME.check_each(c["legal_name"]),
        _each(c["kinds"], _kinds),
        _each(c["expertise"], _expertise),
        _each(c["coverage"], lambda v: parse_coverage(split(v), rules.regions)),
        CONTACT_NAME.optional_each(c["contact_name"]),
        [v if plain_email(v) else partner_email(v) for v in c["contact_email"]],
        _each(c["contact_phone"], parse_phone),
        rules.review_due,
        rules.at,
        rules.by,
    )
    return Register(partners, _agreements(file, rules), file.lines)


def _agreements(file: ImportFile, rules: Rules) -> NewAgreements:
    c = file.columns
    references, names = c["agreement_reference"], c["name"]
    signed, first, last = (c[column] for column in _DATES)
    rows = [i for i, reference in enumerate(references) if reference]
    if len(rows) != len(references):  # a row without a reference has no dates either
        unsigned = zip(references, signed, first, last, strict=True)
        if any(s or f or e for r, s, f, e in unsigned if not r):
            raise InvalidInput("a date without an agreement reference")
        references, names = [references[i] for i in rows], [names[i] for i in rows]
        signed, first, last = ([column[i] for i in rows] for column in (signed, first, last))
    if max(map(len, references), default=0) > _REFERENCE_MAX or "" in signed or "" in first:
        raise InvalidInput("an agreement reference or date is refused")
    days = {text: parse_date(text, "the date") for text in {*signed, *first, *last} - {""}}
    starts = list(map(days.__getitem__, first))
    ends = [days[text] if text else None for text in last]
    if any(end is not None and end < start for start, end in zip(starts, ends, strict=True)):
        raise InvalidInput("an agreement expires before it takes effect")
    return NewAgreements(
        names, references, list(map(days.__getitem__, signed)), starts, ends, rules.at, rules.by
    )


def _first_refused(file: ImportFile, rules: Rules) -> None:
    """Raise BadLine for the first refused cell of the file: rows in order, each row's cells
    in the columns' order (the agreement's last)."""
    seen: dict[str, int] = {}
    for row, line in enumerate(file.lines):
        cells = {column: cells[row] for column, cells in file.columns.items()}
        name = _cell(line, "name", cells, validate_partner_name)
        if name in seen:
            raise BadLine(line, f"partner {name!r} is on line {seen[name]} already", "name")
        seen[name] = line
        _cell(line, "legal_name", cells, LEGAL_NAME.check)
        _cell(line, "kinds", cells, _kinds)
        _cell(line, "expertise", cells, _expertise)
        _cell(line, "coverage", cells, lambda v: parse_coverage(split(v), rules.regions))
        _cell(line, "contact_name", cells, CONTACT_NAME.optional)
        _cell(line, "contact_email", cells, partner_email)
        _cell(line, "contact_phone", cells, parse_phone)
        _agreement_refused(line, cells)


def _cell(line: int, column: str, cells: dict[str, str], check: Callable[[str], T]) -> T:
    try:
        return check(cells[column])
    except InvalidInput as bad:
        raise BadLine(line, bad.message, column, bad.hint) from None


def _agreement_refused(line: int, cells: dict[str, str]) -> None:
    if not cells["agreement_reference"]:
        dated = [column for column in _DATES if cells[column]]
        if dated:
            raise BadLine(line, "a date without an agreement reference", dated[0])
        return
    days: list[date | None] = []
    for column in _DATES:
        text = cells[column]
        if not text and column != "expires_on":
            raise BadLine(line, "the agreement needs this date", column)
        try:
            days.append(parse_date(text, "the date") if text else None)
        except InvalidInput as bad:
            raise BadLine(line, bad.message, column, bad.hint) from None
    _, start, end = days
    if start is not None and end is not None and end < start:
        raise BadLine(line, "the agreement expires before it takes effect", "expires_on")
    if len(cells["agreement_reference"]) > _REFERENCE_MAX:
        raise BadLine(line, f"at most {_REFERENCE_MAX} characters", "agreement_reference")


def _each(cells: Sequence[str], check: Callable[[str], T]) -> list[T]:
    """``check`` of each cell; a cell that repeats is checked once (and its value shared)."""
    done = {text: check(text) for text in set(cells)}
    return list(map(done.__getitem__, cells))


def split(cell: str) -> tuple[str, ...]:
    """The values of a list cell: separated by commas, semicolons or spaces."""
    return tuple(v for v in cell.replace(";", " ").replace(",", " ").split() if v)


def _kinds(cell: str) -> frozenset[PartnerKind]:
    return parse_kinds(split(cell))


def _expertise(cell: str) -> tuple[str, ...]:
    return parse_expertise(split(cell))
