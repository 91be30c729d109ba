"""Incidents to test against: the partner tests' world (consoles as the sandbox's demo
operators sharing one manual clock, from ``START``), where sam (security) opens and edits
incidents and ada (admin) and vic (viewer) look."""

from __future__ import annotations

from datetime import datetime, timedelta

from partner_world import START, PartnerWorld

from aptien_ops.composition import Console
from aptien_ops.services.incident_results import IncidentDetail
from aptien_ops.services.incidents import IncidentInput

__all__ = ["START", "IncidentWorld"]


class IncidentWorld(PartnerWorld):
    def later(self, **delta: float) -> datetime:
        """Move the clock on by ``delta`` (``hours=71``); returns the new time."""
        self.now += timedelta(**delta)
        return self.now

    @property
    def sam(self) -> Console:
        return self.as_("sam")

    def incident(
        self,
        title: str = "Backup bucket readable",
        aware_at: datetime | None = None,
        **more: object,
    ) -> IncidentDetail:
        given = IncidentInput(title, "confidentiality", aware_at or self.now, **more)  # type: ignore[arg-type]
        return self.sam.incidents.open(given)
