"""The breach-notice outbox in the catalog: ``tx.breach_outbox``.

One row per incident, channel and recipient (its idempotency key), moving pending → sent or
failed; the campaigns that filled it, bound to their texts and recipients; and Art. 34(3)
exemptions. Like every catalog repository, each method may raise ``Unavailable`` and
``Conflict``; none raises a driver exception.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from aptien_ops.domain.incidents import Exemption
from aptien_ops.domain.notices import Campaign, ChannelCounts, OutboxRow, PendingMessage


class BreachOutbox(Protocol):
    def add_campaign(self, campaign: Campaign) -> int:
        """Store it (its ``id`` is ignored); returns the new id."""
        ...

    def campaign(self, incident_id: str) -> Campaign | None:
        """The incident's newest campaign, or None."""
        ...

    def enqueue(self, rows: Sequence[OutboxRow]) -> int:
        """Add the rows whose idempotency key is new (their ``id`` is ignored); a key already
        there keeps its row and state. Returns how many were added."""
        ...

    def enqueue_scope(self, campaign_id: int, incident_id: str, channel: str) -> int:
        """:meth:`enqueue` the rows of a channel with one row per person (``inapp``,
        ``email``) for the incident's recipient snapshot (its ``incident_scope``), inside the
        catalog: in snapshot order, as ``notify_fill.outbox_rows`` makes them. Returns how
        many were added."""
        ...

    def pending(
        self, incident_id: str, channel: str, *, after: int = 0, limit: int = 1000
    ) -> list[OutboxRow]:
        """Up to ``limit`` pending rows of the channel with an id above ``after``, by id."""
        ...

    def pending_messages(
        self, incident_id: str, *, after: int = 0, limit: int = 1000
    ) -> list[PendingMessage]:
        """As :meth:`pending` for the in-app channel, with only what a message needs."""
        ...

    def mark_sent(self, ids: Sequence[int], at: datetime) -> None:
        """The rows went out (their attempt counted)."""
        ...

    def mark_attempt(self, row_id: int, at: datetime, reason: str, *, failed: bool) -> None:
        """An attempt that did not deliver: counted with its reason; ``failed`` ends the row."""
        ...

    def counts(self, incident_id: str) -> list[ChannelCounts]:
        """Per channel with any row: how many are sent, pending, failed (by channel)."""
        ...

    def failed(self, incident_id: str, *, limit: int = 1000) -> list[OutboxRow]:
        """The failed rows, by channel then id."""
        ...

    def add_exemption(self, incident_id: str, exemption: Exemption) -> None: ...

    def exemptions(self, incident_id: str) -> list[Exemption]:
        """Oldest first."""
        ...
