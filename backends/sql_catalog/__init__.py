"""The catalog (control-plane database) on SQLite or PostgreSQL, through SQLAlchemy Core.

Implements :class:`aptien_ops.ports.Catalog`: ``engine`` holds the engine, the schema check
and the transactions; each record group has a module of its own (``tenants``, ``history``,
``secrets``, ``operators``, ``approvals``, ``opslog``, ``backups``) with one repository class,
and ``tx`` puts them together on one connection. Driver and SQLAlchemy exceptions are
translated at this package's edge (``errors``); none ever reaches a caller.
"""

from aptien_ops.backends.sql_catalog.engine import SqlCatalog
from aptien_ops.backends.sql_catalog.errors import translate_error

__all__ = ["SqlCatalog", "translate_error"]
