"""Metadata the console may read from a tenant: logins, change audit, users. Never a payload."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aptien_ops.domain.values import iso


@dataclass(frozen=True)
class LoginEvent:
    id: int
    at: datetime
    user_email: str
    ip: str
    user_agent: str
    result: str
    method: str

    def as_json(self) -> dict[str, object]:
        return {**self.__dict__, "at": iso(self.at)}


@dataclass(frozen=True)
class AuditEvent:
    """Change-audit metadata. There is deliberately no payload field."""

    id: int
    at: datetime
    actor: str
    action: str
    datasheet: str
    record_id: str
    key_id: str
    payload_size: int

    def as_json(self) -> dict[str, object]:
        return {**self.__dict__, "at": iso(self.at)}


@dataclass(frozen=True)
class UserRecord:
    """A user of one tenant, found by exact e-mail, with their last login and last attempt."""

    email: str
    created_at: datetime
    active: bool
    is_admin: bool
    last_login: datetime | None
    last_login_ip: str | None
    last_attempt: datetime | None
    last_attempt_result: str | None
