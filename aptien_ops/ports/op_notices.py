"""Operational notices in the catalog: ``tx.op_notices`` (the notice, its dated steps and the
tenants its scope resolved to).

Like every catalog repository, each method may raise ``Unavailable`` and ``Conflict``
(a concurrent operator); none raises a driver exception. Times are aware UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from aptien_ops.domain.op_notices import (
    Notice,
    NoticeStatus,
    NoticeStep,
    Scope,
    ScopedTenant,
)
from aptien_ops.domain.tenants import TenantState


class NoticeRepository(Protocol):
    """One row per notice (finished ones stay), its steps and its stored scope."""

    def get(self, notice_id: str, *, for_update: bool = False) -> Notice | None:
        """The notice, or None; ``for_update`` locks its row until commit."""
        ...

    def all(self, *, statuses: Iterable[NoticeStatus] | None = None) -> list[Notice]:
        """Notices (of ``statuses``, if given), latest start first, then by id."""
        ...

    def last_number(self, year: int) -> int:
        """The highest number of an ``NTC-<year>-NNNN`` id (0: none yet)."""
        ...

    def insert(self, notice: Notice, scope: Iterable[ScopedTenant]) -> None:
        """Store the notice and its resolved scope. Raises: Conflict if the id is taken."""
        ...

    def set_status(
        self,
        notice_id: str,
        status: NoticeStatus,
        at: datetime,
        by: str,
        *,
        ends_at: datetime | None = None,
    ) -> None:
        """Set the status (and the window's end, if given). Raises: NotFound."""
        ...

    def edit(self, notice: Notice) -> None:
        """Store its title, body, window and who changed it when (``updated_by``,
        ``updated_at``); nothing else of the row. Raises: NotFound."""
        ...

    def steps(self, notice_id: str) -> list[NoticeStep]:
        """Its steps, oldest first."""
        ...

    def add_step(self, step: NoticeStep) -> int:
        """Store it (its ``id`` is ignored); returns the new id."""
        ...

    def resolve(self, scope: Scope) -> list[ScopedTenant]:
        """The active and suspended tenants ``scope`` names now, by name: one query."""
        ...

    def scope_counts(self, notice_ids: Iterable[str]) -> dict[str, dict[str, int]]:
        """Each notice's stored scope counted per region (where its tenants lived when it was
        stored), by notice id then region: one query per 500 notices."""
        ...

    def scope(self, notice_id: str) -> list[tuple[ScopedTenant, ScopedTenant, TenantState]]:
        """Each tenant of the stored scope (where it lived then), where it lives now and its
        state now; by tenant. A tenant the catalog no longer holds is left out."""
        ...
