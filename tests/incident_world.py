"""Incidents to test against: the partner tests' world (consoles as the sandbox's demo
operators sharing one manual clock, from ``START``), where sam (security) opens and edits
incidents and ada (admin) and vic (viewer) look."""

from __future__ import annotations

from datetime import datetime, timedelta

from partner_world import START, PartnerWorld

from aptien_ops.composition import Console
from aptien_ops.domain.incidents import Recipient, ScopeHeader, ScopeTenant
from aptien_ops.domain.notices import Recipient as NoticeRecipient
from aptien_ops.domain.notices import recipients_digest
from aptien_ops.services.incident_results import IncidentDetail
from aptien_ops.services.incidents import IncidentInput

__all__ = ["START", "IncidentWorld", "plant_scope"]


def plant_scope(console: Console, incident_id: str, at: datetime) -> list[Recipient]:
    """Three people in two tenants (acme-gmbh in eu, globex in us) written as the incident's
    scope straight into the catalog, as ``breach scope`` would have stored them at ``at``
    (no tenant database needed); returns them."""
    people = [
        Recipient(incident_id, "acme-gmbh", "eu", "1", "ann@acme.example", "de"),
        Recipient(incident_id, "acme-gmbh", "eu", "2", "bob@acme.example", None),
        Recipient(incident_id, "globex", "us", "5", "cy@globex.example", "en"),
    ]
    digest = recipients_digest(
        [NoticeRecipient(r.tenant, r.region, r.user_ref, r.email, r.language) for r in people]
    )
    header = ScopeHeader(incident_id, "all", (), None, None, False, 2, 3, digest, "sam", at)
    tenants = [ScopeTenant("acme-gmbh", "eu", 2), ScopeTenant("globex", "us", 1)]
    with console.ctx.catalog.transaction() as tx:
        tx.incident_scope.replace(header, tenants, people)
    return people


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
