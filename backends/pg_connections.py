"""Connections to one PostgreSQL cluster: a kept admin connection, and tenant database sessions.

The admin connection is opened on first use, kept, and used by one thread at a time (the TUI
runs adapters from worker threads); a server restart or an idle timeout that kills it costs
one retry on a fresh one. Sessions are opened per use, as the admin or as a given role, and
every driver error leaves here as the console's own (``translate_pg_error``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from psycopg.conninfo import make_conninfo

from aptien_ops.backends.pg_common import conninfo_params, translate_pg_error
from aptien_ops.config import ClusterSettings
from aptien_ops.errors import Forbidden, NotFound

T = TypeVar("T")


class ClusterConnections:
    """Opens and keeps the connections of one cluster."""

    def __init__(self, cluster: ClusterSettings) -> None:
        """Raises: InvalidInput if the URL is not a PostgreSQL URL or holds a password."""
        self.cluster = cluster.name
        self._settings = cluster
        self._params = conninfo_params(cluster.url)
        self._params.setdefault("connect_timeout", "10")
        self._params.setdefault("application_name", "aptien-ops")
        self._admin: psycopg.Connection | None = None
        # The TUI runs adapters from worker threads; one admin connection is used at a time.
        self._lock = threading.RLock()

    def _admin_password(self) -> str | None:
        return self._settings.password.read()

    def open(
        self,
        dbname: str | None = None,
        *,
        user: str | None = None,
        password: str | None = None,
        autocommit: bool = False,
    ) -> psycopg.Connection:
        """A new connection (as the admin unless ``user`` is given). Raises: psycopg.Error,
        ConfigError (unreadable admin password)."""
        params = dict(self._params)
        if dbname is not None:
            params["dbname"] = dbname
        if user is not None:
            params["user"] = user
        else:
            password = self._admin_password()
        # The password travels as its own keyword, never inside a string we could log.
        extra: dict[str, Any] = {"password": password} if password else {}
        return psycopg.connect(make_conninfo(**params), autocommit=autocommit, **extra)

    def with_admin(
        self, what: str, work: Callable[[psycopg.Connection], T], secrets: tuple[str, ...] = ()
    ) -> T:
        """Run ``work`` (idempotent) on the admin connection, translating driver errors.

        Raises: what ``work`` raises; Unavailable, Forbidden, Conflict, NotFound for a
        driver error (see ``translate_pg_error``), with ``secrets`` scrubbed from its text.
        """
        with self._lock:
            try:
                return self._run_as_admin(work)
            except psycopg.Error as exc:
                if self._admin is not None and self._admin.broken:
                    self._discard_admin()
                raise translate_pg_error(
                    exc, f"cluster {self.cluster!r}: {what}", secrets
                ) from None

    def _run_as_admin(self, work: Callable[[psycopg.Connection], T]) -> T:
        cached = self._admin
        if cached is not None and not cached.closed:
            try:
                return work(cached)
            except psycopg.OperationalError:
                # A server restart or an idle timeout kills the cached session: retry once
                # on a fresh one; any other failure is the caller's to see.
                if not cached.broken:
                    raise
                self._discard_admin()
        self._admin = self.open(autocommit=True)
        return work(self._admin)

    def _discard_admin(self) -> None:
        if self._admin is not None:
            self._admin.close()
        self._admin = None

    def database_exists(self, dbname: str) -> bool:
        """Raises: Unavailable."""
        row = self.with_admin(
            f"look up {dbname}",
            lambda conn: conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)
            ).fetchone(),
        )
        return row is not None

    @contextmanager
    def session(
        self,
        dbname: str,
        *,
        user: str | None,
        password: str | None,
        autocommit: bool = False,
    ) -> Iterator[psycopg.Connection]:
        """``dbname`` as ``user`` (None: the admin); commits on success, else rolls back.

        Raises: NotFound if there is no such database, Forbidden if the server refuses
        ``user``, Unavailable.
        """
        what = f"cluster {self.cluster!r}: connect to {dbname}"
        try:
            conn = self.open(dbname, user=user, password=password, autocommit=autocommit)
        except psycopg.OperationalError as exc:
            # libpq reports a failed connection without an SQLSTATE; ask the cluster why.
            if not self.database_exists(dbname):
                raise NotFound(
                    f"tenant database {dbname} does not exist on cluster {self.cluster!r}"
                ) from None
            if user is not None:
                raise Forbidden(f"{what} as {user}: refused by the server") from None
            raise translate_pg_error(exc, what, (password,)) from None
        try:
            with conn:
                yield conn
        except psycopg.Error as exc:
            raise translate_pg_error(exc, what, (password,)) from None

    def close(self) -> None:
        """Close the admin connection; it is reopened if used again."""
        with self._lock:
            self._discard_admin()
