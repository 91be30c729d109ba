"""Login and audit metadata readers (the ``InspectionReader`` port), one class per cluster kind.

Both select the explicit column lists of ``METADATA_COLUMNS`` and nothing else, newest first
on ``(at, id)`` with a keyset condition (never OFFSET), so every page is an index range scan.

- PostgreSQL connects as the region's inspector role, whose column-level grants make the server
  refuse every other column, whatever SQL a bug might send.
- SQLite opens the file read-only, ``query_only``, with an authorizer that denies reading any
  column outside the allow-list and any statement but SELECT: the same bound, in-process.

Each reader keeps a few tenant connections open (paging reuses them) and serves one thread at
a time; ``inspect user`` gives each worker thread its own reader. psycopg is imported only by
the PostgreSQL reader, so a SQLite console never loads it.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from aptien_ops.backends.sqlite_tenants import SqliteTenantStore
from aptien_ops.backends.tenant_schema import utc_timestamp, validate_role_name
from aptien_ops.config import ClusterSettings
from aptien_ops.domain import AuditEvent, LoginEvent, UserRecord
from aptien_ops.errors import ConfigError, NotFound, OpsError, Unavailable
from aptien_ops.inspect_query import Query
from aptien_ops.tenant_schema import METADATA_COLUMNS

if TYPE_CHECKING:
    import psycopg

T = TypeVar("T")
#: Tenant connections a reader keeps open; ``inspect user`` walks hundreds of tenants.
KEEP_OPEN = 4
_OPS = {"=": "=", "<>": "<>", ">=": ">=", "<": "<"}
_USER_COLUMNS = ("email", "created_at", "active", "is_admin")


def conditions(query: Query) -> list[tuple[str, str, object]]:
    """``(column, operator, value)`` of the query's filters; each column is on the allow-list.

    Raises: ValueError for a column the inspector may not read (a bug, never operator input).
    """
    out: list[tuple[str, str, object]] = []
    if query.since is not None:
        out.append(("at", ">=", query.since))
    if query.until is not None:
        out.append(("at", "<", query.until))
    out += [(c, "=", v) for c, v in query.equals] + [(c, "<>", v) for c, v in query.not_equals]
    for column, _, _ in out:
        if column not in query.columns:
            raise ValueError(f"{column} is not a metadata column of {query.table}")
    return out


def _event(query: Query, row: Sequence[Any], at: datetime) -> LoginEvent | AuditEvent:
    values = dict(zip(query.columns, row, strict=True))
    values["at"] = at
    return LoginEvent(**values) if query.kind == "logins" else AuditEvent(**values)


def _user(
    found: Sequence[Any], attempt: LoginEvent | None, login: LoginEvent | None, created: datetime
) -> UserRecord:
    return UserRecord(
        email=found[0],
        created_at=created,
        active=bool(found[2]),
        is_admin=bool(found[3]),
        last_login=login.at if login else None,
        last_login_ip=login.ip if login else None,
        last_attempt=attempt.at if attempt else None,
        last_attempt_result=attempt.result if attempt else None,
    )


def _last(reader: Any, tenant: str, email: str, success: bool) -> LoginEvent | None:
    equals = (("user_email", email), ("result", "success")) if success else (("user_email", email),)
    rows = reader.logins(tenant, Query("logins", equals=equals, limit=1))
    return rows[0] if rows else None


class _Sessions:
    """Open tenant connections, least recently used closed first."""

    def __init__(self) -> None:
        self.open: OrderedDict[str, tuple[ExitStack | None, Any]] = OrderedDict()

    def get(self, tenant: str, opener: Callable[[str], tuple[ExitStack | None, Any]]) -> Any:
        if tenant in self.open:
            self.open.move_to_end(tenant)
        else:
            self.open[tenant] = opener(tenant)
            while len(self.open) > KEEP_OPEN:
                self.drop(next(iter(self.open)))
        return self.open[tenant][1]

    def drop(self, tenant: str) -> None:
        stack, conn = self.open.pop(tenant, (None, None))
        try:
            if stack is not None:
                stack.close()
            elif conn is not None:
                conn.close()
        except (OpsError, sqlite3.Error):
            pass  # closing a connection that already failed: its error was reported

    def close(self) -> None:
        for tenant in list(self.open):
            self.drop(tenant)


# ----------------------------------------------------------------------------- PostgreSQL


class PostgresInspectionReader:
    """Reads tenant metadata on one PostgreSQL cluster as the region's inspector role."""

    kind = "postgresql"

    def __init__(self, cluster: ClusterSettings, role: str) -> None:
        """Raises: InvalidInput (URL or role name)."""
        from aptien_ops.backends.postgres_tenants import PostgresTenantStore

        self._cluster = cluster
        self._store = PostgresTenantStore(cluster)
        self._role = validate_role_name(role)
        self._sessions = _Sessions()
        self._lock = threading.RLock()

    def _password(self) -> str:
        password = self._cluster.inspector_password.read()
        if not password:
            raise ConfigError(
                f"cluster {self._cluster.name!r} has no inspector password; inspection connects as {self._role}",
                hint="set inspector_password_file or inspector_password_env for the cluster in ops.toml",
            )
        return password

    def _open(self, tenant: str) -> tuple[ExitStack, psycopg.Connection]:
        stack = ExitStack()
        try:
            conn = stack.enter_context(
                self._store.connect_as_inspector(tenant, self._role, self._password())
            )
            conn.execute("SET statement_timeout TO '60s'")
        except BaseException:
            stack.close()
            raise
        return stack, conn

    def session(self, tenant: str) -> psycopg.Connection:
        """The connection this reader reads ``tenant`` with (as the inspector role).

        Raises: InvalidInput, NotFound, Forbidden, Unavailable, ConfigError.
        """
        with self._lock:
            conn: psycopg.Connection = self._sessions.get(tenant, self._open)
            return conn

    def _run(self, tenant: str, what: str, work: Callable[[psycopg.Connection], T]) -> T:
        import psycopg

        from aptien_ops.backends.pg_common import translate_pg_error

        retried = False
        with self._lock:
            while True:
                conn = self.session(tenant)
                try:
                    return work(conn)
                except psycopg.Error as exc:
                    self._sessions.drop(tenant)
                    # A kept session dies with a server restart or an idle timeout: retry once.
                    if isinstance(exc, psycopg.OperationalError) and conn.broken and not retried:
                        retried = True
                        continue
                    raise translate_pg_error(
                        exc, f"cluster {self._cluster.name!r}: {what}"
                    ) from None

    def select(self, query: Query) -> tuple[Any, list[object]]:
        """The statement and parameters of one page of ``query``."""
        from psycopg import sql

        where: list[sql.Composable] = []
        params: list[object] = []
        for column, op, value in conditions(query):
            where.append(sql.SQL("{} {} %s").format(sql.Identifier(column), sql.SQL(_OPS[op])))
            params.append(value)
        if query.after is not None:
            where.append(sql.SQL("(at, id) < (%s, %s)"))
            params += [query.after.at, query.after.id]
        statement = sql.SQL("SELECT {} FROM {} {} ORDER BY at DESC, id DESC LIMIT %s").format(
            sql.SQL(", ").join(map(sql.Identifier, query.columns)),
            sql.Identifier("public", query.table),
            sql.SQL("WHERE ") + sql.SQL(" AND ").join(where) if where else sql.SQL(""),
        )
        return statement, [*params, query.limit]

    def _page(self, tenant: str, query: Query) -> list[Any]:
        statement, params = self.select(query)
        rows = self._run(
            tenant,
            f"read {query.kind} of tenant {tenant}",
            lambda conn: conn.execute(statement, params).fetchall(),
        )
        at = query.columns.index("at")
        return [_event(query, row, row[at]) for row in rows]

    def logins(self, tenant: str, query: Query) -> list[LoginEvent]:
        """One page of login events (see the port). Raises as the port says."""
        return self._page(tenant, query)

    def audit(self, tenant: str, query: Query) -> list[AuditEvent]:
        """One page of change-audit metadata (see the port). Raises as the port says."""
        return self._page(tenant, query)

    def find_user(self, tenant: str, email: str) -> UserRecord | None:
        """The user with exactly ``email`` and their last login, or None."""
        from psycopg import sql

        statement = sql.SQL("SELECT {} FROM {} WHERE email = %s").format(
            sql.SQL(", ").join(map(sql.Identifier, _USER_COLUMNS)),
            sql.Identifier("public", "users"),
        )
        found = self._run(
            tenant,
            f"look up a user of tenant {tenant}",
            lambda conn: conn.execute(statement, (email,)).fetchone(),
        )
        if found is None:
            return None
        return _user(
            found, _last(self, tenant, email, False), _last(self, tenant, email, True), found[1]
        )

    def ips_seen_before(self, tenant: str, ips: Sequence[str], before: datetime) -> set[str]:
        """Those of ``ips`` with a login before ``before`` (one probe of the ip index each)."""
        if not ips:
            return set()
        statement = (
            "SELECT u.ip FROM unnest(%s::text[]) AS u(ip) WHERE EXISTS"
            " (SELECT 1 FROM public.login_events e WHERE e.ip = u.ip AND e.at < %s)"
        )
        rows = self._run(
            tenant,
            f"look up addresses of tenant {tenant}",
            lambda conn: conn.execute(statement, (list(ips), before)).fetchall(),
        )
        return {row[0] for row in rows}

    def explain(self, tenant: str, query: Query) -> str:
        """``EXPLAIN (ANALYZE, BUFFERS)`` of exactly the statement a page of ``query`` runs."""
        from psycopg import sql

        statement, params = self.select(query)
        rows = self._run(
            tenant,
            "explain",
            lambda conn: conn.execute(
                sql.SQL("EXPLAIN (ANALYZE, BUFFERS) ") + statement, params
            ).fetchall(),
        )
        return "\n".join(row[0] for row in rows)

    def close(self) -> None:
        with self._lock:
            self._sessions.close()
            self._store.close()


# ----------------------------------------------------------------------------- SQLite


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
        """``role`` is accepted for the port's sake: a SQLite file has no roles. Raises: InvalidInput."""
        self._store = SqliteTenantStore(cluster)
        self._cluster = cluster.name
        self._sessions = _Sessions()
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
        """The connection this reader reads ``tenant`` with. Raises: InvalidInput, NotFound, Unavailable."""
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
            where.append(f"{_quote(column)} {_OPS[op]} ?")
            params.append(utc_timestamp(value) if isinstance(value, datetime) else value)
        if query.after is not None:
            where.append("(at, id) < (?, ?)")
            params += [utc_timestamp(query.after.at), query.after.id]
        columns = ", ".join(map(_quote, query.columns))
        clause = f"WHERE {' AND '.join(where)} " if where else ""
        # Only allow-listed, quoted column names are interpolated; every value is bound.
        statement = (
            f"SELECT {columns} FROM {_quote(query.table)} {clause}ORDER BY at DESC, id DESC LIMIT ?"  # noqa: S608
        )
        return statement, [*params, query.limit]

    def _page(self, tenant: str, query: Query) -> list[Any]:
        statement, params = self.select(query)
        at = query.columns.index("at")
        return [
            _event(query, row, datetime.fromisoformat(row[at]))
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
        columns = ", ".join(map(_quote, _USER_COLUMNS))
        rows = self._run(tenant, f"SELECT {columns} FROM users WHERE email = ?", (email,))  # noqa: S608 - constant columns
        if not rows:
            return None
        found = rows[0]
        return _user(
            found,
            _last(self, tenant, email, False),
            _last(self, tenant, email, True),
            datetime.fromisoformat(found[1]),
        )

    def ips_seen_before(self, tenant: str, ips: Sequence[str], before: datetime) -> set[str]:
        """Those of ``ips`` with a login before ``before`` (one probe of the ip index each)."""
        probe = "SELECT 1 FROM login_events WHERE ip = ? AND at < ? LIMIT 1"
        stamp = utc_timestamp(before)
        return {ip for ip in ips if self._run(tenant, probe, (ip, stamp))}

    def close(self) -> None:
        with self._lock:
            self._sessions.close()
