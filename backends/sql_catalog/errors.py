"""Driver and SQLAlchemy exceptions, translated into the console's errors at the adapter's edge."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

from sqlalchemy import exc as sa_exc

from aptien_ops.errors import ConfigError, Conflict, InternalError, OpsError, Unavailable

if TYPE_CHECKING:
    from aptien_ops.backends.sql_catalog.base import Repository

RACE = "lost a race with another operator; run the command again"
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


def translate_error(exc: sa_exc.SQLAlchemyError, where: str, secret: str | None = None) -> OpsError:
    """The console error for a SQLAlchemy/driver exception; ``where`` is the display URL."""
    reason = short_reason(exc)
    if secret:
        reason = reason.replace(secret, "***")
    if isinstance(exc, sa_exc.DBAPIError):
        state = getattr(exc.orig, "sqlstate", None) or ""
        lowered = reason.lower()
        if state in ("40001", "40P01", "55P03") or "locked" in lowered:
            return Conflict(RACE)
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
