"""One breach notice for the notice tests (the texts, the clock, an e-mail of it) and its
campaign in a catalog: what the channel, outbox, TLS and kill tests all send."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from aptien_ops.domain.notices import (
    Campaign,
    Mail,
    NoticeContent,
    Recipient,
    message_id,
    recipients_digest,
)
from aptien_ops.notice_texts import render, texts_digest
from aptien_ops.ports import Catalog
from aptien_ops.services.notify_fill import fill, outbox_rows

CONTENT = NoticeContent(
    incident_id="INC-2026-0001",
    title="Backup disk stolen",
    nature="A backup disk was stolen from a courier.",
    consequences="Your name and e-mail address may be known to others.",
    measures="We reported the theft. Beware of phishing.",
    dpo_contact="dpo@aptien.example",
    published_at="2026-03-02T09:30:00Z",
)
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SENDER = "privacy@aptien.example"


def mail(to: str, n: int = 0) -> Mail:
    """The notice to ``to`` (user ``n`` of acme-gmbh), in English."""
    r = Recipient("acme-gmbh", "eu", str(n), to)
    subject, body = render(CONTENT, r)
    return Mail(to, SENDER, subject, body, message_id(CONTENT.incident_id, r, "x.example"), "en")


def start_campaign(
    catalog: Catalog,
    channels: tuple[str, ...],
    people: Sequence[Recipient],
    content: NoticeContent = CONTENT,
) -> Campaign:
    """The incident's campaign (added on the first call, approved by ada), with the outbox
    filled for ``people``; a second call adds only the rows not there yet."""
    with catalog.transaction() as tx:
        campaign = tx.breach_outbox.campaign(content.incident_id)
        if campaign is None:
            campaign = Campaign(
                0,
                content.incident_id,
                channels,
                content,
                texts_digest(content),
                recipients_digest(list(people)),
                "sam",
                "ada",
                NOW,
            )
            campaign = replace(campaign, id=tx.breach_outbox.add_campaign(campaign))
    fill(catalog, outbox_rows(campaign.id, content.incident_id, campaign.channels, people))
    return campaign
