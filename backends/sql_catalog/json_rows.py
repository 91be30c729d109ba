"""JSON written by the catalog database: a list's rows as one JSON array text, in the keys and
the text of the records' ``as_json()``, without making a Python object per row (the hot path
of ``tenant list --json`` and ``billing status --json``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, Text, case, func, literal, select, type_coerce
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement

_PG_ISO = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'
_PG_ISO_WHOLE = 'YYYY-MM-DD"T"HH24:MI:SS"Z"'


def iso_text(col: Any, *, pg: bool) -> ColumnElement[Any]:
    """``col`` (a ``UtcDateTime``) as the text ``domain.iso()`` would print, computed by the
    database."""
    if pg:
        # One to_char per value, its pattern chosen by whether there is a fraction:
        # iso() drops a zero fraction (three to_char calls per value cost ~10% of the list).
        whole = func.date_trunc("second", col) == col
        pattern = case((whole, _PG_ISO_WHOLE), else_=_PG_ISO)
        return func.to_char(func.timezone("UTC", col), pattern, type_=Text).label(col.name)
    text = type_coerce(col, Text)
    # Stored fixed-width "….ffffffZ"; iso() drops a zero fraction.
    whole_text = func.substr(text, 1, 19, type_=Text).concat("Z")
    fraction = func.substr(text, 21, 6, type_=Text)
    return case((fraction == "000000", whole_text), else_=text).label(col.name)


def json_bool(value: ColumnElement[Any], *, pg: bool) -> ColumnElement[Any]:
    """A boolean expression as a JSON ``true``/``false`` inside :func:`json_object`."""
    if pg:
        return value
    return func.json(case((value, "true"), else_="false"))


def json_object(pairs: Sequence[tuple[str, Any]], *, pg: bool) -> ColumnElement[Any]:
    """One JSON object of ``pairs`` (key, expression) in their order; an expression may be
    another :func:`json_object`."""
    args: list[Any] = []
    for key, value in pairs:
        args += [literal(key), value]
    if pg:
        return func.json_build_object(*args, type_=Text)
    return func.json_object(*args, type_=Text)


def array_text(conn: Connection, objects: Select[Any], *, pg: bool) -> str:
    """The one-column ``objects`` (each row's JSON object, in the order it sorts them) as one
    JSON array text, ASCII only (as ``emit_json`` writes it).

    SQLite concatenates them with one ``group_concat`` (in the order of the sorted subquery,
    which it never flattens into an aggregate); PostgreSQL's rows are joined here.
    """
    if pg:
        result = conn.execute(objects)
        try:
            text = ",".join(row[0] for row in result.cursor.fetchall())
        finally:
            result.close()
    else:
        rows = objects.subquery()
        column = rows.c[0]
        text = conn.execute(select(func.group_concat(column, ","))).scalar() or ""
    if not text.isascii():
        return json.dumps(json.loads(f"[{text}]"), ensure_ascii=True)
    return f"[{text}]"
