"""Filling the notices' outbox: one row per campaign, channel and recipient (its idempotency
key), added once whatever fills it again (:mod:`notify_engine` delivers what is pending)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from aptien_ops.domain.notices import OutboxRow, Recipient
from aptien_ops.notice_texts import notice_languages
from aptien_ops.ports import Catalog


def outbox_rows(
    campaign_id: int, incident_id: str, channels: Iterable[str], recipients: Iterable[Recipient]
) -> Iterator[OutboxRow]:
    """The outbox rows of a campaign, channel by channel, recipients in snapshot order."""
    people = list(recipients)
    for channel in channels:
        if channel == "website":
            # One row per region; its ``language`` holds the languages of the region's
            # affected people (``de,en``): the notice gets a page in each.
            for region in sorted({r.region for r in people}):
                spoken = ",".join(notice_languages(r for r in people if r.region == region))
                yield OutboxRow(
                    0, campaign_id, incident_id, channel, region, region, None, None, None, spoken
                )
            continue
        for r in people:
            yield OutboxRow(
                0,
                campaign_id,
                incident_id,
                channel,
                r.key,
                r.region,
                r.tenant,
                r.user_ref,
                r.email if channel == "email" else None,
                r.language,
            )


def fill(catalog: Catalog, rows: Iterable[OutboxRow], *, batch: int = 5000) -> int:
    """Add the rows not in the outbox yet, a batch per transaction; returns how many."""
    added, chunk = 0, []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= batch:
            with catalog.transaction() as tx:
                added += tx.breach_outbox.enqueue(chunk)
            chunk = []
    if chunk:
        with catalog.transaction() as tx:
            added += tx.breach_outbox.enqueue(chunk)
    return added


def fill_from_scope(
    catalog: Catalog, campaign_id: int, incident_id: str, channels: Iterable[str]
) -> int:
    """Add the campaign's rows not in the outbox yet from the incident's recipient snapshot,
    a channel per transaction (the rows :func:`outbox_rows` makes of it); returns how many.
    A person's rows are copied inside the catalog; the website's, one per region, are made
    here from the snapshot's regions and languages."""
    added = 0
    for channel in channels:
        with catalog.transaction() as tx:
            if channel != "website":
                added += tx.breach_outbox.enqueue_scope(campaign_id, incident_id, channel)
                continue
            regions = [
                Recipient("", region, "", "", language)
                for region, language in tx.incident_scope.languages(incident_id)
            ]
            rows = outbox_rows(campaign_id, incident_id, (channel,), regions)
            added += tx.breach_outbox.enqueue(list(rows))
    return added
