"""Reading tenants' login and audit metadata, never a payload column."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from aptien_ops.domain import AuditEvent, LoginEvent, UserRecord
from aptien_ops.inspect_query import Query


class InspectionReader(Protocol):
    """Reads login and audit metadata of one tenant database, never a payload column.

    PostgreSQL: connects as the region's inspector role (the server refuses payload reads).
    SQLite: selects the explicit column lists of ``aptien_ops.tenant_schema.METADATA_COLUMNS``.
    """

    def logins(self, tenant: str, query: Query) -> list[LoginEvent]:
        """One page of ``query`` (an ``aptien_ops.inspect_query.Query`` of kind ``logins``):
        ``query.limit`` rows newest first on ``(at, id)``, strictly below ``query.after``.

        Raises: InvalidInput (tenant name), NotFound (no such database), Forbidden (the
        server refused the inspector), Unavailable, ConfigError (no inspector password).
        """
        ...

    def audit(self, tenant: str, query: Query) -> list[AuditEvent]:
        """As :meth:`logins`, for a query of kind ``audit``."""
        ...

    def find_user(self, tenant: str, email: str) -> UserRecord | None:
        """The user with exactly ``email`` (``email``, ``created_at``, ``active``, ``is_admin``,
        ``last_login``, ``last_login_ip``, ``last_attempt``, ``last_attempt_result``), or None.
        Raises as :meth:`logins`."""
        ...

    def ips_seen_before(self, tenant: str, ips: Sequence[str], before: datetime) -> set[str]:
        """Those of ``ips`` with a login event earlier than ``before``. Raises as :meth:`logins`."""
        ...

    def users(
        self,
        tenant: str,
        *,
        created_by: datetime | None = None,
        logged_in: tuple[datetime, datetime] | None = None,
    ) -> list[tuple[str, str]]:
        """``(id, email)`` of the tenant's users, by id (the id as text): only those created
        by ``created_by``, and only those with a successful login in ``[from, to)`` of
        ``logged_in``, if given. Raises as :meth:`logins`."""
        ...

    def language(self, tenant: str) -> str | None:
        """The tenant's language (``tenant_meta`` key ``language``), or None. Raises as
        :meth:`logins`."""
        ...

    def close(self) -> None: ...
