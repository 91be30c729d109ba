"""The breach-notice outbox: campaigns, one row per incident, channel and recipient, and
Art. 34(3) exemptions (``tx.breach_outbox``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, literal, null, select, update

from aptien_ops.backends import catalog_incidents
from aptien_ops.backends import catalog_outbox as s
from aptien_ops.backends.sql_catalog.base import Repository
from aptien_ops.backends.sql_catalog.errors import guarded
from aptien_ops.domain.billing_notices import content_from_json
from aptien_ops.domain.incidents import Exemption
from aptien_ops.domain.notices import (
    Campaign,
    ChannelCounts,
    OutboxRow,
    PendingMessage,
)
from aptien_ops.ports.outbox import BreachOutbox

_O = s.breach_outbox.c
_C = s.breach_campaigns.c
_E = s.breach_exemptions.c
_S = catalog_incidents.incident_scope.c
#: Rows marked per statement (well under every driver's parameter limit).
_MARK_BATCH = 500
_AT = bindparam("at", type_=_O.last_attempt_at.type)
# Built once: a campaign marks each e-mail on its own, and building the statement cost more
# than running it.
_MARK_SENT = (
    update(s.breach_outbox)
    .where(_O.id.in_(bindparam("ids", expanding=True)), _O.state == "pending")
    .values(state="sent", attempts=_O.attempts + 1, reason=None, last_attempt_at=_AT)
)
_MARK_ATTEMPT = (
    update(s.breach_outbox)
    .where(_O.id == bindparam("row_id"), _O.state == "pending")
    .values(
        state=bindparam("state"),
        attempts=_O.attempts + 1,
        reason=bindparam("why"),
        last_attempt_at=_AT,
    )
)

# Built once: an in-app campaign reads its pending rows 1,000 at a time.
_PENDING_MESSAGES = (
    select(_O.id, _O.tenant, _O.user_ref, _O.language, _O.attempts)
    .where(
        _O.incident_id == bindparam("incident"),
        _O.channel == "inapp",
        _O.state == "pending",
        _O.id > bindparam("after"),
    )
    .order_by(_O.id)
    .limit(bindparam("limit"))
)


#: The columns of an OutboxRow, in its fields' order (a row read is ``OutboxRow(*r)``).
_ROW_COLUMNS = (
    _O.id,
    _O.campaign_id,
    _O.incident_id,
    _O.channel,
    _O.recipient,
    _O.region,
    _O.tenant,
    _O.user_ref,
    _O.email,
    _O.language,
    _O.state,
    _O.attempts,
    _O.reason,
    _O.last_attempt_at,
)


#: The columns an enqueued row sets, in the order of enqueue_scope's SELECT.
_ENQUEUED = (
    "campaign_id",
    "incident_id",
    "channel",
    "recipient",
    "idempotency_key",
    "region",
    "tenant",
    "user_ref",
    "email",
    "language",
    "state",
    "attempts",
)


class SqlBreachOutbox(Repository):
    """Implements :class:`aptien_ops.ports.outbox.BreachOutbox`."""

    @guarded
    def add_campaign(self, campaign: Campaign) -> int:
        values = {
            "incident_id": campaign.incident_id,
            "channels": ",".join(campaign.channels),
            "content": json.dumps(campaign.content.__dict__, sort_keys=True),
            "texts_sha256": campaign.texts_sha256,
            "recipients_sha256": campaign.recipients_sha256,
            "requested_by": campaign.requested_by,
            "approved_by": campaign.approved_by,
            "created_at": campaign.created_at,
        }
        result = self.conn.execute(insert(s.breach_campaigns).values(values))
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    @guarded
    def campaign(self, incident_id: str) -> Campaign | None:
        row = self.conn.execute(
            select(s.breach_campaigns)
            .where(_C.incident_id == incident_id)
            .order_by(_C.id.desc())
            .limit(1)
        ).first()
        if row is None:
            return None
        return Campaign(
            row.id,
            row.incident_id,
            tuple(row.channels.split(",")),
            content_from_json(json.loads(row.content)),
            row.texts_sha256,
            row.recipients_sha256,
            row.requested_by,
            row.approved_by,
            row.created_at,
        )

    @guarded
    def enqueue(self, rows: Sequence[OutboxRow]) -> int:
        # Column by column, and the rows already there skipped by their unique idempotency
        # key: no row-by-row dicts and no lookup first (a campaign fills 100,000s of rows).
        n = len(rows)
        columns: dict[str, list[Any]] = {
            "campaign_id": [r.campaign_id for r in rows],
            "incident_id": [r.incident_id for r in rows],
            "channel": [r.channel for r in rows],
            "recipient": [r.recipient for r in rows],
            "idempotency_key": [r.idempotency_key for r in rows],
            "region": [r.region for r in rows],
            "tenant": [r.tenant for r in rows],
            "user_ref": [r.user_ref for r in rows],
            "email": [r.email for r in rows],
            "language": [r.language for r in rows],
            "state": ["pending"] * n,
            "attempts": [0] * n,
        }
        return self.insert_columns(s.breach_outbox, columns, skip_existing=["idempotency_key"])

    @guarded
    def enqueue_scope(self, campaign_id: int, incident_id: str, channel: str) -> int:
        # One INSERT … SELECT from the snapshot: the rows never pass through Python.
        if channel not in ("inapp", "email"):
            raise ValueError(f"not a channel with one row per person: {channel!r}")
        who = _S.tenant + literal("/") + _S.user_ref
        source = (
            select(
                literal(campaign_id),
                literal(incident_id),
                literal(channel),
                who,
                literal(f"{incident_id}:{channel}:") + who,
                _S.region,
                _S.tenant,
                _S.user_ref,
                _S.email if channel == "email" else null(),
                _S.language,
                literal("pending"),
                literal(0),
            )
            .where(_S.incident_id == incident_id)
            .order_by(_S.tenant, _S.user_ref)
        )
        stmt = (
            self.upsert(s.breach_outbox)
            .from_select(_ENQUEUED, source)
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
        )
        # SQLAlchemy reports an INSERT's rowcount only when asked to keep it.
        added = self.conn.execute(stmt, execution_options={"preserve_rowcount": True})
        return int(added.rowcount)

    @guarded
    def pending(
        self, incident_id: str, channel: str, *, after: int = 0, limit: int = 1000
    ) -> list[OutboxRow]:
        stmt = (
            select(*_ROW_COLUMNS)
            .where(
                _O.incident_id == incident_id,
                _O.channel == channel,
                _O.state == "pending",
                _O.id > after,
            )
            .order_by(_O.id)
            .limit(limit)
        )
        return [OutboxRow(*r) for r in self.conn.execute(stmt)]

    @guarded
    def pending_messages(
        self, incident_id: str, *, after: int = 0, limit: int = 1000
    ) -> list[PendingMessage]:
        found = self.conn.execute(
            _PENDING_MESSAGES, {"incident": incident_id, "after": after, "limit": limit}
        )
        return [PendingMessage._make(r) for r in found.all()]

    @guarded
    def mark_sent(self, ids: Sequence[int], at: datetime) -> None:
        for start in range(0, len(ids), _MARK_BATCH):
            chunk = list(ids[start : start + _MARK_BATCH])
            self.conn.execute(_MARK_SENT, {"ids": chunk, "at": at})

    @guarded
    def mark_attempt(self, row_id: int, at: datetime, reason: str, *, failed: bool) -> None:
        state = "failed" if failed else "pending"
        self.conn.execute(
            _MARK_ATTEMPT, {"row_id": row_id, "state": state, "why": reason, "at": at}
        )

    @guarded
    def counts(self, incident_id: str) -> list[ChannelCounts]:
        stmt = (
            select(_O.channel, _O.state, func.count())
            .where(_O.incident_id == incident_id)
            .group_by(_O.channel, _O.state)
        )
        found: dict[str, dict[str, int]] = {}
        for channel, state, n in self.conn.execute(stmt):
            found.setdefault(channel, {})[state] = int(n)
        return [ChannelCounts(channel, **found[channel]) for channel in sorted(found)]

    @guarded
    def failed(self, incident_id: str, *, limit: int = 1000) -> list[OutboxRow]:
        stmt = (
            select(*_ROW_COLUMNS)
            .where(_O.incident_id == incident_id, _O.state == "failed")
            .order_by(_O.channel, _O.id)
            .limit(limit)
        )
        return [OutboxRow(*r) for r in self.conn.execute(stmt)]

    @guarded
    def add_exemption(self, incident_id: str, exemption: Exemption) -> None:
        self.conn.execute(
            insert(s.breach_exemptions).values(
                incident_id=incident_id,
                ground=exemption.ground,
                rationale=exemption.rationale,
                recorded_by=exemption.recorded_by,
                recorded_at=exemption.recorded_at,
            )
        )

    @guarded
    def exemptions(self, incident_id: str) -> list[Exemption]:
        stmt = select(s.breach_exemptions).where(_E.incident_id == incident_id).order_by(_E.id)
        return [
            Exemption(r.ground, r.rationale, r.recorded_by, r.recorded_at)
            for r in self.conn.execute(stmt)
        ]


_: type[BreachOutbox] = SqlBreachOutbox
