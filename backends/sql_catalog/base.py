"""The base of the catalog's repositories: the transaction they share."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Table

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
