"""Login and audit metadata readers (the ``InspectionReader`` port), one class per cluster kind.

Both select the explicit column lists of ``METADATA_COLUMNS`` and nothing else, newest first
on ``(at, id)`` with a keyset condition (never OFFSET), so every page is an index range scan.

- PostgreSQL (:mod:`.postgres`) connects as the region's inspector role, whose column-level
  grants make the server refuse every other column, whatever SQL a bug might send.
- SQLite (:mod:`.sqlite`) opens the file read-only, ``query_only``, with an authorizer that
  denies reading any column outside the allow-list and any statement but SELECT: the same
  bound, in-process.

Each reader keeps a few tenant connections open (:mod:`.sessions`; paging reuses them) and
serves one thread at a time; ``inspect user`` gives each worker thread its own reader. What
both build and map (the filters of a query, rows into events and users) is :mod:`.queries`.
psycopg is imported only when the PostgreSQL reader runs, so a SQLite console never loads it.
"""

from aptien_ops.backends.inspection_readers.postgres import PostgresInspectionReader
from aptien_ops.backends.inspection_readers.queries import conditions
from aptien_ops.backends.inspection_readers.sqlite import SqliteInspectionReader, metadata_only

__all__ = ["PostgresInspectionReader", "SqliteInspectionReader", "conditions", "metadata_only"]
