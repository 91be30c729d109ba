"""Operators (Aptien staff) and their roles."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy import exc as sa_exc

from aptien_ops.backends import catalog_schema as s
from aptien_ops.backends.sql_catalog.base import Repository
from aptien_ops.backends.sql_catalog.errors import guarded
from aptien_ops.domain import Operator
from aptien_ops.domain.versions import stale_operator
from aptien_ops.errors import Conflict, NotFound
from aptien_ops.ports import OperatorRepository


def _operator(row: Any, roles: dict[str, set[str]]) -> Operator:
    return Operator(
        row.name,
        frozenset(roles.get(row.name, ())),
        row.added_by,
        row.added_at,
        row.active,
        row.version,
        row.changed_by,
        row.changed_at,
    )


class SqlOperators(Repository):
    """Implements :class:`aptien_ops.ports.OperatorRepository`."""

    def _roles(self, name: str | None = None) -> dict[str, set[str]]:
        r = s.operator_roles.c
        stmt = select(r.operator, r.role)
        if name is not None:
            stmt = stmt.where(r.operator == name)
        roles: dict[str, set[str]] = {}
        for operator, role in self.conn.execute(stmt):
            roles.setdefault(operator, set()).add(role)
        return roles

    @guarded
    def get(self, name: str) -> Operator | None:
        row = self.conn.execute(select(s.operators).where(s.operators.c.name == name)).first()
        return _operator(row, self._roles(name)) if row is not None else None

    @guarded
    def all(self, *, for_update: bool = False) -> list[Operator]:
        stmt = select(s.operators).order_by(s.operators.c.name)
        rows = self.conn.execute(stmt.with_for_update() if for_update else stmt).all()
        roles = self._roles()  # read after the lock: what the lock's holder committed
        return [_operator(row, roles) for row in rows]

    @guarded
    def insert(self, operator: Operator) -> None:
        """Raises: Conflict if the operator exists."""
        values = {
            "name": operator.name,
            "added_by": operator.added_by,
            "added_at": operator.added_at,
            "active": operator.active,
        }
        try:
            self.conn.execute(insert(s.operators).values(values))
        except sa_exc.IntegrityError:
            raise Conflict(f"operator {operator.name!r} exists already") from None
        self._insert_roles(operator.name, operator.roles)

    @guarded
    def set_roles(self, op: Operator, roles: frozenset[str], *, by: str, at: datetime) -> Operator:
        """Replace the roles of ``op`` if its row is at ``op.version`` (``WHERE version =
        :read``, which also locks the row until commit), bumping it.
        Raises: NotFound, Stale (another version)."""
        name, o = op.name, s.operators.c
        stored = replace(op, roles=roles, version=op.version + 1, changed_by=by, changed_at=at)
        bump = (
            update(s.operators)
            .where(o.name == name, o.version == op.version)
            .values(version=stored.version, changed_by=by, changed_at=at)
        )
        if self.conn.execute(bump).rowcount == 0:
            current = self.get(name)
            if current is None:
                raise NotFound(f"operator {name!r} does not exist")
            raise stale_operator(current, op.version)
        self.conn.execute(delete(s.operator_roles).where(s.operator_roles.c.operator == name))
        self._insert_roles(name, roles)
        return stored

    def _insert_roles(self, name: str, roles: frozenset[str]) -> None:
        if roles:
            rows = [{"operator": name, "role": role} for role in sorted(roles)]
            self.conn.execute(insert(s.operator_roles), rows)


_: type[OperatorRepository] = SqlOperators
