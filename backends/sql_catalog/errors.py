"""Driver and SQLAlchemy exceptions, translated into the console's errors at the adapter's edge."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

from sqlalchemy import exc as sa_exc

from aptien_ops.errors import (
    ConfigError,
    Conflict,
    Forbidden,
    IntegrityFailure,
    InternalError,
    OpsError,
    Unavailable,
)

if TYPE_CHECKING:
    from aptien_ops.backends.sql_catalog.base import Repository

RACE = "lost a race with another operator; run the command again"
#: How long a catalog transaction waits for a lock another process holds (SQLite's
#: ``busy_timeout``, PostgreSQL's ``lock_timeout`` on write transactions) before the command
#: ends as ``Unavailable`` (exit 6, "busy") rather than waiting on: docs/production.md.
CATALOG_LOCK_WAIT_S = 5.0
#: SQLSTATE of a lock wait that ran out (``lock_timeout``, ``NOWAIT``).
LOCK_NOT_AVAILABLE = "55P03"
INSUFFICIENT_PRIVILEGE = "42501"
#: Tables whose rows the catalog refuses to change or remove (``0004_append_only_opslog``).
APPEND_ONLY = frozenset({"opslog", "opslog_head"})
# SQLite messages that mean a bug (or a foreign file), not an unreachable catalog.
_SQLITE_BUGS = (
    "no such table",
    "no such column",
    "syntax error",
    "has no column",
    "already exists",
)

P = ParamSpec("P")
R = TypeVar("R")
Repo = TypeVar("Repo", bound="Repository")


def short_reason(exc: BaseException) -> str:
    """The first line of what the driver said (or the exception's type)."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0].strip() if text else type(exc).__name__


def sqlstate(exc: sa_exc.SQLAlchemyError) -> str:
    """The SQLSTATE the driver reported ("" for SQLite and for failed connections)."""
    return getattr(getattr(exc, "orig", None), "sqlstate", None) or ""


def _refusal(exc: sa_exc.DBAPIError, reason: str) -> OpsError:
    """What an insufficient-privilege refusal means to the operator.

    The ops log's trigger names its table (``RAISE … USING TABLE``): an attempt to rewrite
    the log is an integrity failure. Anything else is the catalog role lacking a grant.
    """
    table = getattr(getattr(exc.orig, "diag", None), "table_name", None)
    if table in APPEND_ONLY:
        return IntegrityFailure(f"the catalog refused to change its ops log: {reason}")
    return Forbidden(
        f"the catalog role may not do this: {reason}",
        hint="the catalog's owner grants the runtime role its privileges when it upgrades the"
        " schema (docs/production.md, Catalog roles)",
    )


def busy(where: str) -> Unavailable:
    """The catalog stayed locked by another process for longer than the console waits."""
    return Unavailable(
        f"the catalog at {where} is busy: another process has held its lock for over"
        f" {CATALOG_LOCK_WAIT_S:g} s",
        hint="nothing was recorded; run the command again in a moment",
    )


def _is_busy(exc: sa_exc.DBAPIError, state: str, lowered: str) -> bool:
    """A lock wait that ran out: SQLite's busy/locked after ``busy_timeout``, PostgreSQL's
    ``lock_timeout``. Not a race: nothing conflicted, the catalog was just not free."""
    sqlite = exc.orig is not None and type(exc.orig).__module__.startswith("sqlite3")
    return state == LOCK_NOT_AVAILABLE or (
        sqlite and ("database is locked" in lowered or "table is locked" in lowered)
    )


def translate_error(exc: sa_exc.SQLAlchemyError, where: str, secret: str | None = None) -> OpsError:
    """The console error for a SQLAlchemy/driver exception; ``where`` is the display URL."""
    reason = short_reason(exc)
    if secret:
        reason = reason.replace(secret, "***")
    if isinstance(exc, sa_exc.DBAPIError):
        state = sqlstate(exc)
        lowered = reason.lower()
        if _is_busy(exc, state, lowered):
            return busy(where)
        if state in ("40001", "40P01"):
            return Conflict(RACE)
        if state == INSUFFICIENT_PRIVILEGE:
            return _refusal(exc, reason)
        if isinstance(exc, sa_exc.IntegrityError) or state.startswith("23"):
            return Conflict(f"the catalog refused a conflicting change: {reason}")
        if exc.connection_invalidated or state.startswith(("08", "53", "57P", "58")):
            return Unavailable(f"cannot reach the catalog at {where}: {reason}")
        sqlite = exc.orig is not None and type(exc.orig).__module__.startswith("sqlite3")
        if sqlite and not any(bug in lowered for bug in _SQLITE_BUGS):
            return Unavailable(f"cannot reach the catalog at {where}: {reason}")
        # psycopg reports a failed connection as OperationalError without an SQLSTATE.
        operational = isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError)
        if not sqlite and not state and operational:
            return Unavailable(f"cannot reach the catalog at {where}: {reason}")
        return InternalError(f"catalog error: {reason}")
    if isinstance(exc, sa_exc.TimeoutError):
        return Unavailable(f"cannot reach the catalog at {where}: {reason}")
    if isinstance(exc, sa_exc.ArgumentError):
        return ConfigError(f"catalog.url: {reason}")
    return InternalError(f"catalog error: {reason}")


def guarded(method: Callable[Concatenate[Repo, P], R]) -> Callable[Concatenate[Repo, P], R]:
    """Translate SQLAlchemy/driver errors of a repository method into console errors."""

    @wraps(method)
    def wrapper(repo: Repo, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(repo, *args, **kwargs)
        except sa_exc.SQLAlchemyError as exc:
            raise repo.tx.error(exc) from None

    return wrapper
