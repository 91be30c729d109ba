"""The SQLite inspection reader: opens each tenant file read-only, ``query_only``, with
:func:`metadata_only` as its authorizer, so SQLite itself refuses to read any column outside
``METADATA_COLUMNS`` and any statement but SELECT.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from aptien_ops.backends.inspection_readers.queries import (
    LANGUAGE_STATEMENT,
    OPS,
    USER_COLUMNS,
    conditions,
    event,
    last_login,
    user_record,
    users_statement,
)
from aptien_ops.backends.inspection_readers.sessions import Sessions
from aptien_ops.backends.sqlite_tenants import SqliteTenantStore
from aptien_ops.backends.tenant_schema import utc_timestamp
from aptien_ops.config import ClusterSettings
from aptien_ops.domain import AuditEvent, LoginEvent, UserRecord
from aptien_ops.errors import NotFound, Unavailable
from aptien_ops.inspect_query import Query
from aptien_ops.ports import InspectionReader
from aptien_ops.tenant_schema import METADATA_COLUMNS


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def metadata_only(
    action: int, arg1: str | None, arg2: str | None, _db: str | None, _source: str | None
) -> int:
    """SQLite authorizer: SELECT of allow-listed columns only; everything else is denied."""
    if action == sqlite3.SQLITE_READ:
        return (
            sqlite3.SQLITE_OK
            if arg2 in METADATA_COLUMNS.get(arg1 or "", ())
            else sqlite3.SQLITE_DENY
        )
    if action in (sqlite3.SQLITE_SELECT, sqlite3.SQLITE_FUNCTION):
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


class SqliteInspectionReader:
    """Reads tenant metadata from a directory of SQLite files, read-only, allow-listed columns."""

    kind = "sqlite"

    def __init__(self, cluster: ClusterSettings, role: str | None = None) -> None:
        """``role`` is accepted for the port's sake: a SQLite file has no roles.

        Raises: InvalidInput.
        """
        self._store = SqliteTenantStore(cluster)
        self._cluster = cluster.name
        self._sessions = Sessions()
        self._lock = threading.RLock()

    def _open(self, tenant: str) -> tuple[None, sqlite3.Connection]:
        path = self._store.path(tenant)
        if not self._store.exists(tenant):
            raise NotFound(
                f"tenant database {path.name} does not exist on cluster {self._cluster!r}"
            )
        try:
            conn = sqlite3.connect(
                f"{path.as_uri()}?mode=ro",
                uri=True,
                timeout=10,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.execute("PRAGMA query_only = ON")
        except sqlite3.Error as exc:
            raise Unavailable(f"cluster {self._cluster!r}: open {path.name}: {exc}") from None
        conn.set_authorizer(metadata_only)
        return None, conn

    def session(self, tenant: str) -> sqlite3.Connection:
        """The connection this reader reads ``tenant`` with.

        Raises: InvalidInput, NotFound, Unavailable.
        """
        with self._lock:
            conn: sqlite3.Connection = self._sessions.get(tenant, self._open)
            return conn

    def _run(self, tenant: str, statement: str, params: Sequence[object]) -> list[Any]:
        with self._lock:
            conn = self.session(tenant)
            try:
                return conn.execute(statement, params).fetchall()
            except sqlite3.Error as exc:
                self._sessions.drop(tenant)
                raise Unavailable(
                    f"cluster {self._cluster!r}: read tenant {tenant}: {exc}"
                ) from None

    @staticmethod
    def select(query: Query) -> tuple[str, list[object]]:
        """The statement and parameters of one page of ``query``."""
        where, params = [], []
        for column, op, value in conditions(query):
            where.append(f"{_quote(column)} {OPS[op]} ?")
            params.append(utc_timestamp(value) if isinstance(value, datetime) else value)
        if query.after is not None:
            where.append("(at, id) < (?, ?)")
            params += [utc_timestamp(query.after.at), query.after.id]
        columns = ", ".join(map(_quote, query.columns))
        clause = f"WHERE {' AND '.join(where)} " if where else ""
        # Only allow-listed, quoted column names are interpolated; every value is bound.
        statement = (
            f"SELECT {columns} FROM {_quote(query.table)} {clause}"  # noqa: S608
            "ORDER BY at DESC, id DESC LIMIT ?"
        )
        return statement, [*params, query.limit]

    def _page(self, tenant: str, query: Query) -> list[Any]:
        statement, params = self.select(query)
        at = query.columns.index("at")
        return [
            event(query, row, datetime.fromisoformat(row[at]))
            for row in self._run(tenant, statement, params)
        ]

    def logins(self, tenant: str, query: Query) -> list[LoginEvent]:
        """One page of login events (see the port). Raises: InvalidInput, NotFound, Unavailable."""
        return self._page(tenant, query)

    def audit(self, tenant: str, query: Query) -> list[AuditEvent]:
        """One page of change-audit metadata. Raises: InvalidInput, NotFound, Unavailable."""
        return self._page(tenant, query)

    def find_user(self, tenant: str, email: str) -> UserRecord | None:
        """The user with exactly ``email`` and their last login, or None."""
        columns = ", ".join(map(_quote, USER_COLUMNS))
        statement = f"SELECT {columns} FROM users WHERE email = ?"  # noqa: S608 - constant columns
        rows = self._run(tenant, statement, (email,))
        if not rows:
            return None
        found = rows[0]
        return user_record(
            found,
            last_login(self, tenant, email, False),
            last_login(self, tenant, email, True),
            datetime.fromisoformat(found[1]),
        )

    def ips_seen_before(self, tenant: str, ips: Sequence[str], before: datetime) -> set[str]:
        """Those of ``ips`` with a login before ``before`` (one probe of the ip index each)."""
        probe = "SELECT 1 FROM login_events WHERE ip = ? AND at < ? LIMIT 1"
        stamp = utc_timestamp(before)
        return {ip for ip in ips if self._run(tenant, probe, (ip, stamp))}

    def users(
        self,
        tenant: str,
        *,
        created_by: datetime | None = None,
        logged_in: tuple[datetime, datetime] | None = None,
    ) -> list[tuple[str, str]]:
        """See the port. Raises: InvalidInput, NotFound, Unavailable."""
        statement = users_statement(
            "?", "", created_by=created_by is not None, logged_in=bool(logged_in)
        )
        params = [utc_timestamp(created_by)] if created_by is not None else []
        params += [utc_timestamp(t) for t in logged_in or ()]
        return [(str(row[0]), row[1]) for row in self._run(tenant, statement, params)]

    def language(self, tenant: str) -> str | None:
        """See the port. Raises: InvalidInput, NotFound, Unavailable."""
        rows = self._run(tenant, LANGUAGE_STATEMENT.format(schema=""), ())
        return str(rows[0][0]) if rows else None

    def close(self) -> None:
        with self._lock:
            self._sessions.close()


_: type[InspectionReader] = SqliteInspectionReader
