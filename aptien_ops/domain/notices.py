"""Breach notices to affected users: who receives one, what each channel delivers, and how a
delivery fails.

A :class:`Recipient` is one row of an incident's recipient snapshot (the scope). The texts of
a campaign are :class:`NoticeContent` (what the incident record says, per Art. 34(2)): the same
for every recipient; nothing of a tenant's data or of another tenant goes into a notice.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import NamedTuple

from aptien_ops.domain.values import iso

#: The channels a campaign may use, in the order a campaign runs them.
CHANNELS = ("website", "inapp", "email")
#: Languages with their own notice templates; any other language gets English.
LANGUAGES = ("en", "de")


@dataclass(frozen=True)
class Recipient:
    """One affected user of one tenant (a row of the incident's recipient snapshot)."""

    tenant: str
    region: str
    user_ref: str
    """The user's id in the tenant database (``users.id``), as text."""
    email: str
    language: str | None = None

    @property
    def key(self) -> str:
        """Identifies the recipient within an incident: tenant and user, never the address."""
        return f"{self.tenant}/{self.user_ref}"

    def notice_language(self) -> str:
        lang = (self.language or "en").split("-")[0].lower()
        return lang if lang in LANGUAGES else "en"


@dataclass(frozen=True)
class NoticeContent:
    """What every affected user is told (GDPR Art. 34(2) with Art. 33(3) b–d)."""

    incident_id: str
    title: str
    nature: str
    """What happened, in plain language."""
    consequences: str
    measures: str
    dpo_contact: str
    published_at: str
    """ISO-8601 UTC: when the campaign was requested (the website shows it)."""

    def digest(self) -> str:
        """sha256 of the texts (the publication time aside); an approval is bound to it."""
        fields = {k: v for k, v in asdict(self).items() if k != "published_at"}
        text = json.dumps(fields, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()


#: ``json.dumps(…, ensure_ascii=False)`` without building an encoder per call.
_JSON = json.JSONEncoder(ensure_ascii=False).encode


def recipients_digest(recipients: list[Recipient]) -> str:
    """sha256 over the snapshot in its stable order; an approval is bound to it."""
    h = hashlib.sha256()
    for r in recipients:
        h.update(_JSON([r.tenant, r.region, r.user_ref, r.email, r.language or ""]).encode())
        h.update(b"\n")
    return h.hexdigest()


def message_id(incident_id: str, recipient: Recipient, domain: str) -> str:
    """The e-mail's Message-ID: the same for an incident and a recipient on every attempt and
    every rerun, so a server or mailbox that has it already can drop the copy."""
    token = hashlib.sha256(f"{incident_id}\0{recipient.key}".encode()).hexdigest()[:32]
    return f"<{notice_kind(incident_id)}.{token}@{domain}>"


def notice_kind(subject: str) -> str:
    """``breach``, ``billing`` or ``operational``: what a campaign's subject (an incident id,
    a billing notice's ``BIL-…`` key, an operational notice's ``NOT-…`` key) is about; the
    in-app message's kind and the Message-ID say it."""
    if subject.startswith("NOT-"):
        return "operational"
    return "billing" if subject.startswith("BIL-") else "breach"


@dataclass(frozen=True)
class Mail:
    """One e-mail to one recipient, rendered."""

    to: str
    sender: str
    subject: str
    body: str
    message_id: str
    language: str


class InAppMessage(NamedTuple):
    """One in-app message to one user of one tenant (a tuple: a campaign makes one per
    affected user, 100,000s at a time)."""

    tenant: str
    user_ref: str
    subject: str
    body: str
    dedupe_key: str
    """Unique per incident and user: writing the same message twice leaves one row."""


@dataclass(frozen=True)
class WebsiteNotice:
    """The public notice of one region: the HTML page and the JSON feed entry."""

    region: str
    content: NoticeContent
    languages: tuple[str, ...]


class DeliveryFailed(Exception):
    """A channel could not deliver one notice. ``permanent``: never retry (5xx, an invalid
    address); otherwise the server asked to try later (4xx, a dropped connection)."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        self.reason = " ".join(reason.split())[:300]
        self.permanent = permanent
        super().__init__(self.reason)


#: An outbox row's states: pending until its channel took it; failed for good after a
#: permanent refusal or the last allowed attempt.
OUTBOX_STATES = ("pending", "sent", "failed")


class PendingMessage(NamedTuple):
    """A pending in-app outbox row, as much of it as its message needs (a tuple: read
    1,000s at a time; see :class:`OutboxRow` for the whole row)."""

    id: int
    tenant: str
    user_ref: str
    language: str | None
    attempts: int

    @property
    def recipient(self) -> str:
        """The outbox row's recipient key (as :attr:`Recipient.key`)."""
        return f"{self.tenant}/{self.user_ref}"


@dataclass(frozen=True)
class OutboxRow:
    """One notice to one recipient (or, for the website, one region) on one channel."""

    id: int
    campaign_id: int
    incident_id: str
    channel: str
    recipient: str
    """The recipient's key (``tenant/user_ref``; the region for the website)."""
    region: str
    tenant: str | None
    user_ref: str | None
    email: str | None
    language: str | None
    state: str = "pending"
    attempts: int = 0
    reason: str | None = None
    last_attempt_at: datetime | None = None

    @property
    def idempotency_key(self) -> str:
        return outbox_key(self.incident_id, self.channel, self.recipient)

    def as_recipient(self) -> Recipient:
        return Recipient(
            self.tenant or "", self.region, self.user_ref or "", self.email or "", self.language
        )

    def as_json(self) -> dict[str, object]:
        return {
            "channel": self.channel,
            "recipient": self.recipient,
            "state": self.state,
            "attempts": self.attempts,
            "reason": self.reason,
            "last_attempt_at": iso(self.last_attempt_at),
        }


def outbox_key(incident_id: str, channel: str, recipient: str) -> str:
    """The idempotency key: one row per incident, channel and recipient, ever."""
    return f"{incident_id}:{channel}:{recipient}"


@dataclass(frozen=True)
class Campaign:
    """A notice campaign: its channels and the texts and recipients it is bound to."""

    id: int
    incident_id: str
    channels: tuple[str, ...]
    content: NoticeContent
    texts_sha256: str
    recipients_sha256: str
    requested_by: str
    approved_by: str | None
    created_at: datetime


@dataclass(frozen=True)
class ChannelCounts:
    channel: str
    sent: int = 0
    pending: int = 0
    failed: int = 0

    def as_json(self) -> dict[str, object]:
        return {"sent": self.sent, "pending": self.pending, "failed": self.failed}
