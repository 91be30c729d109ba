"""Operational notices: a maintenance, an outage or a change, told to the tenants it affects.

A notice has a window (``starts_at`` to ``ends_at``; an outage may be open-ended), a status,
a scope (regions, clusters, tenants or all) and dated updates saying who did what. Its id is
``NTC-<year>-NNNN``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from aptien_ops.domain.notices import NoticeContent
from aptien_ops.domain.values import iso, yearly_id
from aptien_ops.errors import InvalidInput

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


class NoticeAudience(StrEnum):
    """Who a notice tells: the tenants' representatives (the catalog's contacts), their users
    (read from the tenant databases when it is sent: four-eyes), or both."""

    REPRESENTATIVES = "representatives"
    USERS = "users"
    BOTH = "both"

    @property
    def reaches_users(self) -> bool:
        return self != NoticeAudience.REPRESENTATIVES

    @property
    def reaches_representatives(self) -> bool:
        return self != NoticeAudience.USERS


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
    EDITED = "edited"
    """Its title, body or window changed (a four-eyes approval of it is void)."""
    APPROVED = "approved"
    """A second person approved telling its users."""


#: What ``notice edit`` may change, and only while the notice is one of these.
EDITABLE = frozenset({NoticeStatus.DRAFT, NoticeStatus.SCHEDULED})


#: The channels a notice is sent on, in the order the engine runs them.
CHANNELS = ("inapp", "email")
#: The status page: every send, update, edit, resolve and cancel rewrites it, so naming it is
#: allowed and changes nothing; alone it would tell nobody directly and is refused.
WEBSITE = "website"


def to_the_minute(moment: datetime) -> datetime:
    """A window's edge taken from the clock (a blank ``from``: now; an open-ended notice
    resolved: it ends now), to the minute, as operators type and read windows: no seconds or
    microseconds in the lists, the e-mails or the status pages."""
    return moment.replace(second=0, microsecond=0)


def parse_channels(given: Sequence[str]) -> tuple[str, ...]:
    """The channels named, in the engine's order (``website`` dropped: the status page is
    written by every send). Raises: InvalidInput (an unknown channel, none, website alone)."""
    named = {c.strip() for c in given if c.strip()}
    if named == {WEBSITE}:
        raise InvalidInput(
            "--channels website alone tells nobody: the status page is rewritten by every send",
            hint="--channels email,inapp (aptien-ops notice publish rewrites the pages alone)",
        )
    unknown = sorted(named - {*CHANNELS, WEBSITE})
    if unknown or not named:
        raise InvalidInput(f"unknown channel {unknown[0][:20]!r}" if unknown else "no channel")
    return tuple(c for c in CHANNELS if c in named)


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
    audience: NoticeAudience = NoticeAudience.REPRESENTATIVES

    def digest(self) -> str:
        """SHA-256 of what a four-eyes approval of telling its users approves: the kind, the
        texts, the window, the audience and the scope as asked (never its status or times of
        change). Editing any of them voids the approval."""
        fields = [
            self.id, str(self.kind), self.title, self.body, iso(self.starts_at),
            iso(self.ends_at), str(self.audience), str(self.scope.selection),
            list(self.scope.targets),
        ]  # fmt: skip
        text = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

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
            "audience": str(self.audience),
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
    rendered: str = ""
    """Its messages as rendered when the delivery was recorded (JSON: ``"email.en"`` ->
    [subject, body], per channel and language); empty: rendered by the built-in templates."""


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
