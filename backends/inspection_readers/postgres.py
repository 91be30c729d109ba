"""The PostgreSQL inspection reader: reads as the region's inspector role, whose column-level
grants make the server itself refuse every column outside ``METADATA_COLUMNS``.

psycopg is imported only when the reader runs, so a SQLite console never loads it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

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
from aptien_ops.backends.tenant_schema import validate_role_name
from aptien_ops.config import ClusterSettings
from aptien_ops.domain import AuditEvent, LoginEvent, UserRecord
from aptien_ops.errors import ConfigError
from aptien_ops.inspect_query import Query
from aptien_ops.ports import InspectionReader

if TYPE_CHECKING:
    import psycopg

T = TypeVar("T")


class PostgresInspectionReader:
    """Reads tenant metadata on one PostgreSQL cluster as the region's inspector role."""

    kind = "postgresql"

    def __init__(self, cluster: ClusterSettings, role: str) -> None:
        """Raises: InvalidInput (URL or role name)."""
        from aptien_ops.backends.postgres_tenants import PostgresTenantStore

        self._cluster = cluster
        self._store = PostgresTenantStore(cluster)
        self._role = validate_role_name(role)
        self._sessions = Sessions()
        self._lock = threading.RLock()

    def _password(self) -> str:
        password = self._cluster.inspector_password.read()
        if not password:
            raise ConfigError(
                f"cluster {self._cluster.name!r} has no inspector password;"
                f" inspection connects as {self._role}",
                hint="set inspector_password_file or inspector_password_env"
                " for the cluster in ops.toml",
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
            where.append(sql.SQL("{} {} %s").format(sql.Identifier(column), sql.SQL(OPS[op])))
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
        return [event(query, row, row[at]) for row in rows]

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
            sql.SQL(", ").join(map(sql.Identifier, USER_COLUMNS)),
            sql.Identifier("public", "users"),
        )
        found = self._run(
            tenant,
            f"look up a user of tenant {tenant}",
            lambda conn: conn.execute(statement, (email,)).fetchone(),
        )
        if found is None:
            return None
        return user_record(
            found,
            last_login(self, tenant, email, False),
            last_login(self, tenant, email, True),
            found[1],
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

    def users(
        self,
        tenant: str,
        *,
        created_by: datetime | None = None,
        logged_in: tuple[datetime, datetime] | None = None,
    ) -> list[tuple[str, str]]:
        """See the port. Raises as the port says."""
        statement = users_statement(
            "%s", "public.", created_by=created_by is not None, logged_in=bool(logged_in)
        )
        params: list[object] = [created_by] if created_by is not None else []
        params += list(logged_in or ())
        rows = self._run(
            tenant,
            f"read the users of tenant {tenant}",
            lambda conn: conn.execute(statement, params).fetchall(),
        )
        return [(str(row[0]), row[1]) for row in rows]

    def language(self, tenant: str) -> str | None:
        """See the port. Raises as the port says."""
        row = self._run(
            tenant,
            f"read the language of tenant {tenant}",
            lambda conn: conn.execute(LANGUAGE_STATEMENT.format(schema="public.")).fetchone(),
        )
        return str(row[0]) if row is not None else None

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


_: type[InspectionReader] = PostgresInspectionReader
