"""Incidents: the scope, the affected people of the chosen tenants, stored as a snapshot.

One part of :class:`aptien_ops.services.incidents.IncidentService`. The people are read from
each tenant database's user and login metadata through the inspection readers (never a
payload column), tenant by tenant with progress, and stored with the incident in one
transaction, so that the notices go to exactly that list (``tx.incident_scope``). Reading
people's addresses is personal data: ``breach.scope`` (security) is logged with its counts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from aptien_ops.config import region_or_fail
from aptien_ops.domain import Tenant, TenantState, validate_tenant_name
from aptien_ops.domain.incident_input import not_after
from aptien_ops.domain.incidents import (
    IncidentStatus,
    Recipient,
    ScopeHeader,
    ScopeTenant,
    TimelineKind,
    validate_incident_id,
)
from aptien_ops.errors import Conflict, InvalidInput, NotFound
from aptien_ops.permissions import Action
from aptien_ops.services.incident_reads import existing_incident
from aptien_ops.services.incident_reports import IncidentReporting
from aptien_ops.services.incident_results import ScopeCounts
from aptien_ops.wording import plural

if TYPE_CHECKING:
    from aptien_ops.services.inspection import InspectionService

#: Tenants whose database holds people (as inspection reads them).
HAS_PEOPLE = (TenantState.ACTIVE, TenantState.SUSPENDED, TenantState.CANCELLED)
#: ``progress(done, total, tenant)`` after each tenant read.
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class ScopeRequest:
    """Which tenants: ``tenants`` named, a ``region``, or ``everything``; with a ``window``,
    people whose account existed by its end, or (``logged_in``) who logged in during it."""

    tenants: tuple[str, ...] = ()
    region: str | None = None
    everything: bool = False
    window: tuple[datetime, datetime] | None = None
    logged_in: bool = False

    @property
    def selection(self) -> str:
        return "tenants" if self.tenants else "region" if self.region else "all"


def tenant_people(
    inspection: InspectionService,
    tenant: Tenant,
    key: str,
    *,
    created_by: datetime | None = None,
    logged_in: tuple[datetime, datetime] | None = None,
) -> list[Recipient]:
    """The users of the tenant's database (their ids and e-mail addresses, never a payload),
    read the way inspection reads, as recipients of ``key`` in the tenant's language: the
    breach scope's people, and an operational notice's users. Raises: Unavailable, NotFound
    (the database), InvalidInput."""
    reader = inspection.reader_of(tenant)
    users = reader.users(tenant.name, created_by=created_by, logged_in=logged_in)
    language = reader.language(tenant.name)
    return [
        Recipient(key, tenant.name, tenant.region, ref, email, language) for ref, email in users
    ]


def digest(recipients: Iterable[Recipient]) -> str:
    """SHA-256 of the recipients in their stable order: what a notice approval binds to."""
    h = hashlib.sha256()
    for r in recipients:
        h.update(f"{r.tenant}\t{r.user_ref}\t{r.email}\t{r.language or ''}\n".encode())
    return h.hexdigest()


class IncidentScoping(IncidentReporting):
    def _checked(self, request: ScopeRequest) -> None:
        """Raises: InvalidInput (not exactly one selection, names, region, window)."""
        chosen = [bool(request.tenants), request.region is not None, request.everything]
        if sum(chosen) != 1:
            raise InvalidInput("name the scope once: --tenants T…, --region R or --all")
        for name in request.tenants:
            validate_tenant_name(name)
        if request.region is not None:
            region_or_fail(self.ctx.settings, request.region)
        if request.window is not None:
            not_after(request.window[0], self.ctx.now(), "--window FROM")
        if request.logged_in and request.window is None:
            raise InvalidInput("--logged-in-during-window needs --window FROM..TO")

    def _tenants(self, request: ScopeRequest) -> list[Tenant]:
        """The tenants to read, by region and name. Raises: NotFound, Conflict (a named
        tenant without a database)."""
        with self.ctx.catalog.read() as tx:
            if request.tenants:
                found = []
                for name in dict.fromkeys(request.tenants):
                    tenant = tx.tenants.get(name)
                    if tenant is None:
                        raise NotFound(f"no tenant named {name}", hint="aptien-ops tenant list")
                    if tenant.state not in HAS_PEOPLE or not tenant.cluster:
                        raise Conflict(f"tenant {name} is {tenant.state}: it has no people to read")
                    found.append(tenant)
            else:
                every = tx.tenants.all(region=request.region)
                found = [t for t in every if t.state in HAS_PEOPLE and t.cluster]
        return sorted(found, key=lambda t: (t.region, t.name))

    def _people(self, incident_id: str, tenant: Tenant, request: ScopeRequest) -> list[Recipient]:
        window = request.window
        return tenant_people(
            self.inspection(),
            tenant,
            incident_id,
            created_by=window[1] if window else None,
            logged_in=window if request.logged_in else None,
        )

    def scope(
        self, incident_id: str, request: ScopeRequest, progress: Progress | None = None
    ) -> ScopeCounts:
        """Read the affected people of the chosen tenants and store them as the incident's
        snapshot (replacing an earlier one); returns the counts per tenant and region.

        Raises: InvalidInput, NotFound, Forbidden, Conflict (closed, notices under way, a
        tenant without a database), Unavailable (a tenant database: nothing is stored)."""
        validate_incident_id(incident_id)
        self._checked(request)
        w = request.window
        params: dict[str, object] = {
            "selection": request.selection,
            "targets": list(request.tenants) or ([request.region] if request.region else []),
            "window": [t.isoformat() for t in w] if w else None,
            "logged_in_during_window": request.logged_in,
        }
        with self.ctx.audited(Action.BREACH_SCOPE, incident_id, params) as attempt:
            with self.ctx.catalog.read() as tx:
                _scopable(existing_incident(tx, incident_id).status, incident_id)
            tenants = self._tenants(request)
            people: list[Recipient] = []
            counts: list[ScopeTenant] = []
            for done, tenant in enumerate(tenants, 1):
                found = self._people(incident_id, tenant, request)
                people += found
                counts.append(ScopeTenant(tenant.name, tenant.region, len(found)))
                if progress is not None:
                    progress(done, len(tenants), tenant.name)
            people.sort(key=lambda r: (r.tenant, r.user_ref))
            header = ScopeHeader(
                incident_id,
                request.selection,
                tuple(request.tenants) or ((request.region,) if request.region else ()),
                w[0] if w else None,
                w[1] if w else None,
                request.logged_in,
                len(tenants),
                len(people),
                digest(people),
                self.ctx.identity.operator,
                self.ctx.now(),
            )
            result = ScopeCounts(header, tuple(counts))
            with attempt.transaction() as tx:
                _scopable(existing_incident(tx, incident_id, for_update=True).status, incident_id)
                tx.incident_scope.replace(header, counts, people)
                per_region = ", ".join(f"{r}: {n:,}" for r, n in result.regions.items())
                text = (
                    f"scope: {plural(len(people), 'person', 'people')} in"
                    f" {plural(len(tenants), 'tenant')} ({per_region or 'none'})"
                )
                tx.incidents.add_timeline(self.entry(incident_id, TimelineKind.SCOPED, text))
                attempt.ok(tenants=len(tenants), people=len(people), sha256=header.sha256)
        return result


def _scopable(status: IncidentStatus, incident_id: str) -> None:
    """Raises: Conflict once the incident is closed or its notices are under way (their
    recipients are this snapshot)."""
    if status in (IncidentStatus.CLOSED, IncidentStatus.NOTIFYING):
        raise Conflict(
            f"incident {incident_id} is {status}: its scope stays as it is",
            hint=f"aptien-ops breach show {incident_id}",
        )
