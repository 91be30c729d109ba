"""The incident service: personal-data breaches with their 72-hour clock (GDPR Art. 33).

:class:`IncidentService` puts together its parts, one module per idea: reading (list, show,
check: ``incident_reads``), reporting to the authority (``incident_reports``), the affected people
(``incident_scope``) and changing
the record here (open, update, timeline, close).
Results are in ``incident_results``. Only ``security`` opens and edits an incident; each
change is one audited attempt and a dated line of the incident's timeline.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from aptien_ops.domain.free_text import (
    DPO_CONTACT,
    INCIDENT_TEXT,
    INCIDENT_TITLE,
    REASON,
    TIMELINE_TEXT,
)
from aptien_ops.domain.incident_input import approx, not_after, parse_categories
from aptien_ops.domain.incidents import (
    REPORT_WITHIN,
    UNREPORTED,
    Incident,
    IncidentStatus,
    Nature,
    Risk,
    Severity,
    TimelineEntry,
    TimelineKind,
    incident_id,
    validate_incident_id,
)
from aptien_ops.domain.values import parse_choice
from aptien_ops.errors import Conflict, InvalidInput
from aptien_ops.permissions import Action
from aptien_ops.ports import CatalogTx
from aptien_ops.services.incident_reads import existing_incident
from aptien_ops.services.incident_results import IncidentDetail
from aptien_ops.services.incident_scope import IncidentScoping

__all__ = ["IncidentInput", "IncidentService", "IncidentUpdate"]


@dataclass(frozen=True)
class IncidentInput:
    """An incident as the security officer first records it; times are aware datetimes."""

    title: str
    nature: str
    aware_at: datetime
    severity: str = "medium"
    risk_to_people: str = "unknown"
    risk_rationale: str | None = None
    happened_from: datetime | None = None
    happened_to: datetime | None = None
    data_categories: tuple[str, ...] = ()
    subject_categories: tuple[str, ...] = ()
    approx_people: int | None = None
    approx_records: int | None = None
    consequences: str | None = None
    measures_taken: str | None = None
    measures_proposed: str | None = None
    dpo_contact: str | None = None


@dataclass(frozen=True)
class IncidentUpdate:
    """The fields to change (None: keep). ``status`` is ``open`` or ``assessed``: a report,
    a notice campaign and closing have their own commands."""

    title: str | None = None
    nature: str | None = None
    aware_at: datetime | None = None
    severity: str | None = None
    risk_to_people: str | None = None
    risk_rationale: str | None = None
    happened_from: datetime | None = None
    happened_to: datetime | None = None
    data_categories: tuple[str, ...] | None = None
    subject_categories: tuple[str, ...] | None = None
    approx_people: int | None = None
    approx_records: int | None = None
    consequences: str | None = None
    measures_taken: str | None = None
    measures_proposed: str | None = None
    dpo_contact: str | None = None
    status: str | None = None
    delay_reasons: str | None = None


_TEXTS = ("risk_rationale", "consequences", "measures_taken", "measures_proposed", "delay_reasons")
_MOMENTS = {
    "aware_at": "the time of awareness",
    "happened_from": "the start",
    "happened_to": "the end",
}


class IncidentService(IncidentScoping):
    """Every incident use case (see the module's docstring); built by the composition root."""

    # -- validation, before anything is touched ----------------------------------------------

    def fields(self, given: IncidentInput | IncidentUpdate) -> dict[str, object]:
        """The record fields ``given`` sets (None left out), checked. Raises: InvalidInput."""
        now = self.ctx.now()
        out: dict[str, object] = {}
        if given.title is not None:
            out["title"] = INCIDENT_TITLE.check(given.title)
        if given.nature is not None:
            out["nature"] = parse_choice(Nature, given.nature, "nature")
        if given.severity is not None:
            out["severity"] = parse_choice(Severity, given.severity, "severity")
        if given.risk_to_people is not None:
            out["risk_to_people"] = parse_choice(Risk, given.risk_to_people, "risk to people")
        for key, what in _MOMENTS.items():
            moment = getattr(given, key)
            if moment is not None:
                out[key] = not_after(moment, now, what)
        for key in ("data_categories", "subject_categories"):
            if getattr(given, key) is not None:
                out[key] = parse_categories(getattr(given, key), key.replace("_", " "))
        for key in ("approx_people", "approx_records"):
            if getattr(given, key) is not None:
                out[key] = approx(getattr(given, key), key.replace("_", " "))
        for key in _TEXTS:
            if getattr(given, key, None) is not None:
                out[key] = INCIDENT_TEXT.optional(getattr(given, key))
        if given.dpo_contact is not None:
            out["dpo_contact"] = DPO_CONTACT.optional(given.dpo_contact)
        return out

    @staticmethod
    def _coherent(incident: Incident) -> Incident:
        """Raises: InvalidInput when the period runs backwards or awareness precedes it."""
        start, end = incident.happened_from, incident.happened_to
        if start is not None and end is not None and end < start:
            raise InvalidInput("the breach ends before it starts")
        if start is not None and incident.aware_at < start:
            raise InvalidInput("Aptien cannot have become aware of the breach before it started")
        return replace(incident, deadline_at=incident.aware_at + REPORT_WITHIN)

    # -- the record ------------------------------------------------------------------------

    def open(self, given: IncidentInput) -> IncidentDetail:
        """Record a new incident (status ``open``); its clock runs from ``aware_at`` for 72
        hours. Raises: InvalidInput, Forbidden, Conflict (an unreported incident with the same
        title and time of awareness exists: a second submission; or an id taken at the same
        moment)."""
        if given.aware_at is None:
            raise InvalidInput("an incident needs the time Aptien became aware of it")
        fields = self.fields(given)
        me, now = self.ctx.identity.operator, self.ctx.now()
        base = Incident(
            "",
            "",
            Nature.CONFIDENTIALITY,
            None,
            None,
            now,
            now,
            Severity.MEDIUM,
            Risk.UNKNOWN,
            None,
            (),
            (),
            None,
            None,
            None,
            None,
            None,
            None,
            IncidentStatus.OPEN,
            None,
            me,
            now,
            me,
            now,
        )
        draft = replace(base, **fields)  # type: ignore[arg-type]
        draft = self._coherent(draft)
        params = {"nature": str(draft.nature), "severity": str(draft.severity)}

        def write(tx: CatalogTx) -> IncidentDetail:
            for twin in tx.incidents.all(statuses=UNREPORTED):
                if (twin.title, twin.aware_at) == (draft.title, draft.aware_at):
                    raise Conflict(
                        f"{twin.id} is that incident (same title and time of awareness)",
                        hint=f"aptien-ops breach show {twin.id}",
                    )
            year = draft.aware_at.year
            new = replace(draft, id=incident_id(year, tx.incidents.last_number(year) + 1))
            tx.incidents.insert(new)
            tx.incidents.add_timeline(self.entry(new.id, TimelineKind.OPENED, new.title))
            return self.detail(tx, new.id)

        with self.ctx.audited(Action.BREACH_OPEN, "incidents", params) as attempt:
            with attempt.transaction() as tx:
                detail = write(tx)
                attempt.ok(incident=detail.id)
        return detail

    def update(self, incident_id: str, change: IncidentUpdate) -> IncidentDetail:
        """Change fields of an incident; a risk assessed (other than ``unknown``) moves an open
        incident to ``assessed``; a new time of awareness moves the deadline (only while the
        clock runs). Raises: InvalidInput, NotFound, Forbidden, Conflict (closed)."""
        validate_incident_id(incident_id)
        fields = self.fields(change)
        status = (
            parse_choice(IncidentStatus, change.status, "incident status")
            if change.status is not None
            else None
        )
        if status is not None and status not in UNREPORTED:
            raise InvalidInput(
                f"an update sets the status to open or assessed, not {status}",
                hint="breach report, breach notify and breach close have their own commands",
            )
        if not fields and status is None:
            raise InvalidInput("nothing to change", hint="give at least one field to update")
        me = self.ctx.identity.operator
        changed = sorted([*fields, *(["status"] if status else [])])

        def write(tx: CatalogTx) -> IncidentDetail:
            current = existing_incident(tx, incident_id, for_update=True)
            if current.status == IncidentStatus.CLOSED:
                raise Conflict(f"incident {incident_id} is closed")
            if "aware_at" in fields and current.status not in UNREPORTED:
                raise Conflict(
                    f"incident {incident_id} is reported: its time of awareness stays",
                    hint="say what changed in the timeline and a follow-up report",
                )
            updated = replace(current, updated_at=self.ctx.now(), updated_by=me)
            updated = self._coherent(replace(updated, **fields))  # type: ignore[arg-type]
            if status is not None:
                if current.status not in UNREPORTED:
                    raise Conflict(f"incident {incident_id} is {current.status} already")
                updated = replace(updated, status=status)
            elif updated.risk_to_people != Risk.UNKNOWN and current.status == IncidentStatus.OPEN:
                updated = replace(updated, status=IncidentStatus.ASSESSED)
            tx.incidents.update(updated)
            text = "changed: " + ", ".join(k.replace("_", " ") for k in changed)
            tx.incidents.add_timeline(self.entry(incident_id, TimelineKind.UPDATED, text))
            return self.detail(tx, incident_id)

        return self.ctx.mutate(Action.BREACH_UPDATE, incident_id, {"fields": changed}, write)

    def timeline_add(
        self, incident_id: str, text: str, at: datetime | None = None
    ) -> TimelineEntry:
        """A dated line of the timeline (``at``: when it happened, default now).
        Raises: InvalidInput, NotFound, Forbidden, Conflict (closed)."""
        validate_incident_id(incident_id)
        line = TIMELINE_TEXT.check(text)
        when = not_after(at, self.ctx.now(), "the time of the entry")

        def write(tx: CatalogTx) -> TimelineEntry:
            current = existing_incident(tx, incident_id, for_update=True)
            if current.status == IncidentStatus.CLOSED:
                raise Conflict(f"incident {incident_id} is closed")
            entry = self.entry(incident_id, TimelineKind.NOTE, line, when)
            return replace(entry, id=tx.incidents.add_timeline(entry))

        return self.ctx.mutate(Action.BREACH_TIMELINE, incident_id, {}, write)

    def close_incident(self, incident_id: str, reason: str) -> IncidentDetail:
        """Close the incident (it stays, read-only). One whose risk is not ``unlikely`` is
        closed only once it was reported (Art. 33(1)). Raises: InvalidInput, NotFound,
        Forbidden, Conflict (closed already, or a report is still due)."""
        validate_incident_id(incident_id)
        why = REASON.check(
            reason, missing="closing an incident needs a reason", hint='--reason "why"'
        )
        me = self.ctx.identity.operator

        def write(tx: CatalogTx) -> IncidentDetail:
            current = existing_incident(tx, incident_id, for_update=True)
            if current.status == IncidentStatus.CLOSED:
                raise Conflict(f"incident {incident_id} is closed already")
            if current.status in UNREPORTED and current.risk_to_people != Risk.UNLIKELY:
                raise Conflict(
                    f"incident {incident_id} has not been reported to the authority",
                    hint=f"aptien-ops breach report {incident_id} --phase initial …, or assess"
                    " its risk as unlikely (breach update --risk unlikely --risk-rationale …)",
                )
            now = self.ctx.now()
            tx.incidents.set_status(incident_id, IncidentStatus.CLOSED, now, me)
            tx.incidents.add_timeline(self.entry(incident_id, TimelineKind.CLOSED, why))
            return self.detail(tx, incident_id)

        return self.ctx.mutate(Action.BREACH_CLOSE, incident_id, {"reason": why}, write)
