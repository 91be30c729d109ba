"""Operational notices: a maintenance, an outage or a change, told to the tenants it affects.

A notice has a window (``starts_at`` to ``ends_at``; an outage may be open-ended), a status,
a scope (regions, clusters, tenants or all) and dated updates saying who did what. Its id is
``NTC-<year>-NNNN``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from aptien_ops.domain.notices import NoticeContent
from aptien_ops.domain.values import iso, yearly_id

NOTICE_ID = re.compile(r"^NTC-(\d{4})-(\d{4,6})$")


class NoticeKind(StrEnum):
    MAINTENANCE = "maintenance"
    OUTAGE = "outage"
    CHANGE = "change"


class NoticeStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in-progress"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"


#: A notice in one of these is over: nothing is sent of it any more.
FINISHED = frozenset({NoticeStatus.RESOLVED, NoticeStatus.CANCELLED})


class Selection(StrEnum):
    """How a scope names its tenants."""

    REGIONS = "regions"
    CLUSTERS = "clusters"
    TENANTS = "tenants"
    ALL = "all"


class StepKind(StrEnum):
    """What a dated step of a notice was."""

    DRAFTED = "drafted"
    SENT = "sent"
    UPDATE = "update"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"


def validate_notice_id(value: str) -> str:
    """Raises: InvalidInput (quoting at most 30 characters of ``value``)."""
    return yearly_id(value, NOTICE_ID, "notice", "NTC-2026-0001")


def notice_id(year: int, number: int) -> str:
    return f"NTC-{year:04d}-{number:04d}"


@dataclass(frozen=True)
class Scope:
    """A scope as asked: ``clusters`` and the cluster names (``all``: none)."""

    selection: Selection
    targets: tuple[str, ...]

    def as_json(self) -> dict[str, object]:
        return {"selection": str(self.selection), "targets": list(self.targets)}

    def words(self) -> str:
        """``clusters eu-fra-1, eu-fra-2`` or ``all tenants``."""
        if self.selection == Selection.ALL:
            return "all tenants"
        return f"{self.selection} {', '.join(self.targets)}"


@dataclass(frozen=True)
class Notice:
    """One operational notice as the catalog keeps it."""

    id: str
    kind: NoticeKind
    title: str
    body: str
    starts_at: datetime
    ends_at: datetime | None
    status: NoticeStatus
    scope: Scope
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "kind": str(self.kind),
            "title": self.title,
            "body": self.body,
            "starts_at": iso(self.starts_at),
            "ends_at": iso(self.ends_at),
            "status": str(self.status),
            "scope": self.scope.as_json(),
            "created_by": self.created_by,
            "created_at": iso(self.created_at),
            "updated_by": self.updated_by,
            "updated_at": iso(self.updated_at),
        }


@dataclass(frozen=True)
class NoticeStep:
    """A dated step of a notice: who did what, and the status it left the notice in."""

    id: int
    notice_id: str
    at: datetime
    operator: str
    kind: StepKind
    status: NoticeStatus
    text: str | None

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "at": iso(self.at),
            "operator": self.operator,
            "kind": str(self.kind),
            "status": str(self.status),
            "text": self.text,
        }


@dataclass(frozen=True)
class ScopedTenant:
    """A tenant of a notice's scope, where it lived when the scope was resolved."""

    tenant: str
    region: str
    cluster: str | None

    def as_json(self) -> dict[str, object]:
        return {"tenant": self.tenant, "region": self.region, "cluster": self.cluster}


#: A notice's outbox subjects start so (``NOT-`` and 16 hex digits fit the outbox's subject
#: column beside the incidents' ids and billing's ``BIL-…`` keys).
SUBJECT_PREFIX = "NOT-"


def subject_key(notice_id: str, step_id: int) -> str:
    """The outbox subject of one delivery of a notice (its first send, or an update)."""
    digest = hashlib.sha256(f"{notice_id}\0{step_id}".encode()).hexdigest()
    return SUBJECT_PREFIX + digest[:16]


@dataclass(frozen=True)
class OpNoticeContent(NoticeContent):
    """What a delivery of an operational notice tells: it travels the notices' outbox as a
    breach notice does. Of the inherited fields, ``incident_id`` holds the subject key and
    ``title`` the notice's title (the rest are empty); :mod:`aptien_ops.op_notice_texts`
    reads the fields below."""

    notice_id: str
    notice_kind: str
    status: str
    starts_at: str
    ends_at: str
    """ISO-8601 UTC, or empty: open-ended."""
    body: str
    update_text: str
    """The update's text; empty for the first send."""


@dataclass(frozen=True)
class StatusEntry:
    """A notice as a region's status page shows it: its record and its dated updates (what
    was told, never who did it)."""

    notice: Notice
    updates: tuple[NoticeStep, ...]

    def as_json(self) -> dict[str, object]:
        n = self.notice
        return {
            "id": n.id,
            "kind": str(n.kind),
            "status": str(n.status),
            "title": n.title,
            "body": n.body,
            "starts_at": iso(n.starts_at),
            "ends_at": iso(n.ends_at),
            "updated_at": iso(n.updated_at),
            "updates": [
                {"at": iso(s.at), "status": str(s.status), "text": s.text} for s in self.updates
            ],
        }
