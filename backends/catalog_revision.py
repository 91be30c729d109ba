"""The catalog schema revision this code writes and expects, in a module free of SQLAlchemy.

``catalog_schema`` re-exports it; the light read path (``catalog_glance``) compares it with
``alembic_version`` without paying for SQLAlchemy's import. A new migration bumps it here.
"""

from __future__ import annotations

#: The Alembic revision this code writes and expects. A test asserts it is the script head.
SCHEMA_HEAD = "0004"
