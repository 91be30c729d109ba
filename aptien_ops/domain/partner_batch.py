"""Partners and agreements added at once (``partner import``), column by column.

An import of thousands of rows never builds a record per row: its checked cells go to the
catalog as columns (row ``i`` of every column is the ``i``-th partner or agreement), with the
values every row shares (status, who, when) given once. A :class:`~.partners.Partner` is built
only for a row compared with one already in the register.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from datetime import date, datetime
from typing import Any, TypeVar

from aptien_ops.domain.partners import Coverage, Partner, PartnerKind, PartnerStatus


@dataclass(frozen=True)
class NewPartners:
    """Partners to add, each active, created (and last changed) ``at`` by ``by``, with its
    first review due on ``review_due``."""

    names: Sequence[str]
    legal_names: Sequence[str]
    kinds: Sequence[frozenset[PartnerKind]]
    expertise: Sequence[tuple[str, ...]]
    coverage: Sequence[Coverage]
    contact_names: Sequence[str | None]
    contact_emails: Sequence[str | None]
    contact_phones: Sequence[str | None]
    review_due: date
    at: datetime
    by: str

    def __len__(self) -> int:
        return len(self.names)

    def partner(self, row: int) -> Partner:
        """The partner of ``row`` as a record."""
        return Partner(
            self.names[row],
            self.legal_names[row],
            self.kinds[row],
            self.expertise[row],
            self.coverage[row],
            self.contact_names[row],
            self.contact_emails[row],
            self.contact_phones[row],
            PartnerStatus.ACTIVE,
            None,
            self.review_due,
            self.at,
            self.by,
            self.at,
            self.by,
        )

    def take(self, rows: Sequence[int]) -> NewPartners:
        """Only ``rows`` (indices), in this order."""
        return _take(self, rows)


@dataclass(frozen=True)
class NewAgreements:
    """Agreements to record, each active, without a document digest, recorded ``at`` by
    ``by``; in force from ``effective_from`` to ``expires_on`` (None: no end), UTC days."""

    partners: Sequence[str]
    references: Sequence[str]
    signed_on: Sequence[date]
    effective_from: Sequence[date]
    expires_on: Sequence[date | None]
    at: datetime
    by: str

    def __len__(self) -> int:
        return len(self.partners)

    def take(self, rows: Sequence[int]) -> NewAgreements:
        """Only ``rows`` (indices), in this order."""
        return _take(self, rows)


B = TypeVar("B", NewPartners, NewAgreements)
#: What every row of a batch shares: not a column.
_SHARED = frozenset({"review_due", "at", "by"})


def _take(batch: B, rows: Sequence[int]) -> B:
    columns: dict[str, Any] = {
        f.name: [getattr(batch, f.name)[i] for i in rows]
        for f in fields(batch)
        if f.name not in _SHARED
    }
    return replace(batch, **columns)
