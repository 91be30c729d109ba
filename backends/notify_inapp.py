"""In-app messages: one row per affected user in the tenant's own ``user_messages`` table.

The table comes with tenant schema version 3 (``fleet migrate`` rolls it out). Each message
carries a ``dedupe_key`` unique per incident and user, and the insert skips a key already
there, so writing the same campaign twice leaves one message per user. The rows go to the
driver's ``executemany`` in the caller's transaction (``TenantStore.connect``), on SQLite and
PostgreSQL alike; the dialect is told by the connection, so a SQLite run never loads psycopg.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from aptien_ops.backends.tenant_schema import utc_timestamp
from aptien_ops.domain.notices import InAppMessage, notice_kind
from aptien_ops.errors import Conflict, IntegrityFailure, OpsError, Unavailable
from aptien_ops.ports import DbConnection
from aptien_ops.ports.notifications import InAppWriter

#: The platform's message kind: ``breach-notice``, or ``billing-notice`` for a billing one.
KIND = "{}-notice"

# Spelled out: only these two constant statements ever run.
_SQLITE = (
    "INSERT INTO user_messages (created_at, user_id, kind, subject, body, dedupe_key)"
    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING"
)
_POSTGRESQL = (
    "INSERT INTO public.user_messages (created_at, user_id, kind, subject, body, dedupe_key)"
    " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (dedupe_key) DO NOTHING"
)


class TenantMessages:
    """Writes in-app messages on a connection from ``TenantStore.connect``."""

    def write(self, conn: DbConnection, messages: Sequence[InAppMessage], now: datetime) -> int:
        """Returns how many messages were new. Raises: Conflict, IntegrityFailure, Unavailable."""
        if not messages:
            return 0
        if isinstance(conn, sqlite3.Connection):
            stamp: object = utc_timestamp(now)
            statement = _SQLITE
        else:
            stamp, statement = now, _POSTGRESQL
        rows = [
            (
                stamp,
                int(m.user_ref),
                KIND.format(notice_kind(m.dedupe_key)),
                m.subject,
                m.body,
                m.dedupe_key,
            )
            for m in messages
        ]
        try:
            cur = conn.cursor()  # type: ignore[attr-defined]
            try:
                cur.executemany(statement, rows)
                return int(cur.rowcount)
            finally:
                cur.close()
        except Exception as exc:
            if isinstance(exc, sqlite3.Error) or type(exc).__module__.startswith("psycopg"):
                raise _translate(exc) from None
            raise


def _translate(exc: Exception) -> OpsError:
    text = " ".join(str(exc).split())[:300]
    name = type(exc).__name__
    if "user_messages" in text and ("no such table" in text or "does not exist" in text):
        return IntegrityFailure(
            "the tenant database has no in-app message table (tenant schema older than 3);"
            " run aptien-ops fleet migrate"
        )
    if "FOREIGN KEY" in text or "foreign key" in text:
        return IntegrityFailure(f"an in-app message names a user the tenant does not have: {text}")
    if isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text):
        return Conflict(f"tenant database busy: {text}")
    if name in ("LockNotAvailable", "SerializationFailure", "DeadlockDetected"):
        return Conflict(f"tenant database busy: {text}")
    return Unavailable(f"in-app messages: {text}")


_: type[InAppWriter] = TenantMessages
