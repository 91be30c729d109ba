"""What both inspection readers share: the filters of a query, checked against the allow-list,
and the mapping of selected rows into login events, audit events and user records."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from aptien_ops.domain import AuditEvent, LoginEvent, UserRecord
from aptien_ops.inspect_query import Query

#: The comparison operators a filter may use, each as SQL spells it.
OPS = {"=": "=", "<>": "<>", ">=": ">=", "<": "<"}
#: The columns of ``users`` a user lookup selects, in the order :func:`user_record` reads them.
USER_COLUMNS = ("email", "created_at", "active", "is_admin")


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


def event(query: Query, row: Sequence[Any], at: datetime) -> LoginEvent | AuditEvent:
    """The event a row of ``query`` describes, ``at`` as the reader's driver gave it back."""
    values = dict(zip(query.columns, row, strict=True))
    values["at"] = at
    return LoginEvent(**values) if query.kind == "logins" else AuditEvent(**values)


def user_record(
    found: Sequence[Any], attempt: LoginEvent | None, login: LoginEvent | None, created: datetime
) -> UserRecord:
    """The user of a ``USER_COLUMNS`` row, with their last attempt and last successful login."""
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


def last_login(reader: Any, tenant: str, email: str, success: bool) -> LoginEvent | None:
    """The user's newest login event (``success``: newest successful one), read by ``reader``.

    Raises as ``reader.logins``.
    """
    equals = (("user_email", email), ("result", "success")) if success else (("user_email", email),)
    rows = reader.logins(tenant, Query("logins", equals=equals, limit=1))
    return rows[0] if rows else None


def users_statement(mark: str, schema: str, *, created_by: bool, logged_in: bool) -> str:
    """``SELECT id, email FROM users`` of an incident's scope, by id: with ``created_by``, those
    created by a time (one ``mark`` placeholder); with ``logged_in``, those with a successful
    login in ``[from, to)`` (two more). ``schema`` prefixes the tables (``public.`` on
    PostgreSQL, whose inspector has no search path). Metadata columns only; values are bound."""
    where = []
    if created_by:
        where.append(f"u.created_at <= {mark}")
    if logged_in:
        where.append(
            f"EXISTS (SELECT 1 FROM {schema}login_events e WHERE e.user_email = u.email"  # noqa: S608
            f" AND e.result = 'success' AND e.at >= {mark} AND e.at < {mark})"
        )
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    return f"SELECT u.id, u.email FROM {schema}users u{clause} ORDER BY u.id"  # noqa: S608


#: The tenant's language as the platform records it, if it does (``{schema}`` as above).
LANGUAGE_STATEMENT = "SELECT value FROM {schema}tenant_meta WHERE key = 'language'"
