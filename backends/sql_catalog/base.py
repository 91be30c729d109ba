"""The base of the catalog's repositories: the transaction they share."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, insert

if TYPE_CHECKING:
    from aptien_ops.backends.sql_catalog.tx import SqlCatalogTx


class Repository:
    """One group of records, seen through one transaction's connection."""

    def __init__(self, tx: SqlCatalogTx) -> None:
        self.tx = tx
        self.conn = tx.conn

    def upsert(self, table: Table) -> Any:
        """``INSERT … ON CONFLICT`` of the dialect (its module is loaded already)."""
        if self.tx.pg:
            from sqlalchemy.dialects import postgresql

            return postgresql.insert(table)
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table)

    def insert_columns(
        self,
        table: Table,
        columns: Mapping[str, Sequence[Any]],
        *,
        skip_existing: Sequence[str] = (),
    ) -> int:
        """One ``executemany`` of the rows whose values ``columns`` holds, column by column,
        through the driver: the statement compiled once, each column's values rendered by its
        type once per distinct value, without the per-row parameter processing of a Core
        ``execute``. With ``skip_existing`` (the columns of a unique index), a row whose key
        is there already is skipped (``ON CONFLICT DO NOTHING``). Returns the rows inserted."""
        if not columns or not next(iter(columns.values())):
            return 0
        dialect = self.conn.dialect
        stmt = (
            self.upsert(table).on_conflict_do_nothing(index_elements=list(skip_existing))
            if skip_existing
            else insert(table)
        )
        compiled = stmt.compile(dialect=dialect, column_keys=list(columns))
        order = list(compiled.positiontup or ()) if compiled.positional else list(columns)
        rendered = [
            _rendered(
                list(columns[key]),
                table.c[key].type.dialect_impl(dialect).bind_processor(dialect),
            )
            for key in order
        ]
        params: list[Any] = list(zip(*rendered, strict=True))
        if not compiled.positional:
            params = [dict(zip(order, values, strict=True)) for values in params]
        return int(self.conn.exec_driver_sql(compiled.string, params).rowcount)


def _rendered(values: list[Any], process: Callable[[Any], Any] | None) -> list[Any]:
    """``values`` as the driver takes them: each distinct value processed once."""
    if process is None:
        return values
    done: dict[Hashable, Any] = {value: process(value) for value in set(values)}
    return list(map(done.__getitem__, values))
