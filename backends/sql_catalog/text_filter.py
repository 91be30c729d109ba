"""The ``grep`` of the catalog's lists: rows whose shown columns hold a text, found in SQL.

One rule for every list (the ops log, approvals, backups), on SQLite and PostgreSQL alike: a
row matches when any of its columns, as the list shows it, holds the text as a substring,
case-insensitively. The text is a literal: ``%``, ``_`` and ``\\`` in it are escaped, never
wildcards.

Case is folded by the database's ``lower()`` on both sides of ``LIKE``, so a row and the text
are always folded alike. ASCII letters match in any case everywhere; other letters (``Ä``,
``É``) in any case on a PostgreSQL catalog whose ``LC_CTYPE`` knows them (a UTF-8 locale),
and as typed on SQLite or a ``C``-locale cluster. Times match as the lists show them, to the
minute in UTC (``2026-01-31 23:59``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import String, cast, func, literal, or_
from sqlalchemy.sql.elements import ColumnElement

#: The escape character of the patterns built here.
ESCAPE = "\\"


def like_pattern(text: str) -> str:
    """``%text%`` with the text's own LIKE metacharacters (``%``, ``_``, ``\\``) escaped."""
    escaped = text.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")
    return f"%{escaped}%"


def number_text(column: ColumnElement[Any]) -> ColumnElement[str]:
    """An integer column as the digits a list shows."""
    return cast(column, String)


def minute_text(column: ColumnElement[Any], *, pg: bool) -> ColumnElement[str]:
    """A ``UtcDateTime`` column as ``YYYY-MM-DD HH:MM`` (UTC): timestamptz on PostgreSQL,
    fixed-width ISO text (``…T…Z``) on SQLite."""
    if pg:
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD HH24:MI")
    return iso_minute_text(column)


def iso_minute_text(column: ColumnElement[Any]) -> ColumnElement[str]:
    """An ISO-8601 UTC text column (``2026-01-31T23:59:…``) as ``2026-01-31 23:59``."""
    return func.replace(func.substr(column, 1, 16), "T", " ")


def grep_clause(columns: Sequence[ColumnElement[Any]], text: str) -> ColumnElement[bool]:
    """Rows one of whose ``columns`` (as text) holds ``text``, case folded alike on both
    sides. A NULL column holds nothing."""
    pattern = func.lower(literal(like_pattern(text), String))
    return or_(*(func.lower(column).like(pattern, escape=ESCAPE) for column in columns))
