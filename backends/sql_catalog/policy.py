"""The catalog's own facts (its mode) and the security policy a production catalog holds."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exc as sa_exc
from sqlalchemy import insert, select

from aptien_ops.backends import catalog_schema as s
from aptien_ops.backends.sql_catalog.base import Repository
from aptien_ops.backends.sql_catalog.errors import guarded
from aptien_ops.errors import Conflict
from aptien_ops.ports import PolicyRepository

_MODE = "mode"


class SqlPolicy(Repository):
    """Implements :class:`aptien_ops.ports.PolicyRepository`."""

    @guarded
    def mode(self) -> str | None:
        stmt = select(s.catalog_meta.c.value).where(s.catalog_meta.c.key == _MODE)
        value: str | None = self.conn.execute(stmt).scalar()
        return value

    @guarded
    def record_mode(self, mode: str) -> None:
        try:
            self.conn.execute(insert(s.catalog_meta).values(key=_MODE, value=mode))
        except sa_exc.IntegrityError:
            raise Conflict("the catalog's mode is recorded already") from None

    @guarded
    def values(self) -> dict[str, str]:
        rows = self.conn.execute(select(s.policy.c.key, s.policy.c.value))
        return {key: value for key, value in rows}

    @guarded
    def put(self, key: str, value: str, by: str, at: datetime, approval_id: int | None) -> None:
        row = {"value": value, "set_by": by, "set_at": at, "approval_id": approval_id}
        stmt = self.upsert(s.policy).values(key=key, **row)
        self.conn.execute(stmt.on_conflict_do_update(index_elements=["key"], set_=row))


_: type[PolicyRepository] = SqlPolicy
