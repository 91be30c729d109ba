"""Incidents: the report to the supervisory authority (GDPR Art. 33(3) a–d), in phases.

One part of :class:`aptien_ops.services.incidents.IncidentService`. A report is rendered
from the incident as the catalog holds it (``aptien_ops.incident_report``), written to its
file whole or not at all, and recorded with the file's SHA-256 in the same transaction; the
first one stops the 72-hour clock and moves the incident to ``reported``. A first report
after the deadline must carry the reasons for the delay (Art. 33(1)).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from aptien_ops.domain.free_text import INCIDENT_TEXT, REPORT_REFERENCE
from aptien_ops.domain.incidents import (
    UNREPORTED,
    Exemption,
    IncidentReport,
    IncidentStatus,
    Phase,
    ReportFormat,
    TimelineKind,
    duration,
    validate_incident_id,
)
from aptien_ops.domain.values import iso, parse_choice
from aptien_ops.errors import Conflict, InvalidInput
from aptien_ops.incident_report import check_output, publish, render, sha256, staged
from aptien_ops.permissions import Action
from aptien_ops.ports import CatalogTx
from aptien_ops.services.incident_reads import IncidentReads, existing_incident
from aptien_ops.services.incident_results import IncidentDetail


@dataclass(frozen=True)
class ReportResult:
    """A report written and recorded."""

    incident_id: str
    report: IncidentReport
    path: Path
    late: bool
    """The incident was first reported after its 72 hours."""

    def as_json(self) -> dict[str, object]:
        return {
            "incident": self.incident_id,
            **self.report.as_json(),
            "path": str(self.path),
            "late": self.late,
        }


def content(
    detail: IncidentDetail,
    this: IncidentReport,
    late: bool,
    exemptions: tuple[Exemption, ...],
) -> dict[str, object]:
    """What the report ``this`` says; ``detail.reports`` are the earlier ones."""
    scope = detail.scope.as_json() if detail.scope is not None else None
    if scope is not None:
        scope.pop("per_tenant")  # the authority hears numbers per region, not client names
    return {
        **{k: v for k, v in detail.incident.as_json().items() if k != "status"},
        "phase": str(this.phase),
        "reference": this.reference,
        "generated_at": iso(this.recorded_at),
        "generated_by": this.recorded_by,
        "late": late,
        "scope": scope,
        "exemptions": [e.as_json() for e in exemptions],
        "timeline": [e.as_json() for e in detail.timeline],
        "earlier": [r.as_json() for r in detail.reports],
    }


class IncidentReporting(IncidentReads):
    def exemptions(self, tx: CatalogTx, incident_id: str) -> tuple[Exemption, ...]:
        """The Art. 34(3) exemptions recorded for the incident, for its reports to list.

        Recorded with the notices (``breach exempt``)."""
        return tuple(tx.breach_outbox.exemptions(incident_id))

    def report(
        self,
        incident_id: str,
        phase: str,
        fmt: str,
        output: Path,
        *,
        reference: str | None = None,
        delay_reasons: str | None = None,
    ) -> ReportResult:
        """Render the ``phase`` report in ``fmt`` to ``output`` (a new file) and record it.

        ``initial`` comes first and once; ``follow-up`` as often as needed; ``final`` last.
        Raises: InvalidInput (phase, format, output, texts; a late first report without delay
        reasons), NotFound, Forbidden, Conflict (closed, phase out of order, the file exists),
        Unavailable (the file could not be written: nothing is recorded)."""
        validate_incident_id(incident_id)
        wanted = parse_choice(Phase, phase, "report phase")
        form = parse_choice(ReportFormat, fmt, "report format")
        ref = REPORT_REFERENCE.optional(reference)
        reasons = INCIDENT_TEXT.optional(delay_reasons)
        me = self.ctx.identity.operator
        params = {"phase": str(wanted), "format": str(form), "output": str(output)}
        with self.ctx.audited(Action.BREACH_REPORT, incident_id, params) as attempt:
            target = check_output(output)  # authorised first: the operator's file is looked at
            with attempt.transaction() as tx:
                current = existing_incident(tx, incident_id, for_update=True)
                earlier = tx.incidents.reports(incident_id)
                _in_order(current.status, wanted, [r.phase for r in earlier], incident_id)
                now = self.ctx.now()
                late = not earlier and now > current.deadline_at
                reasons = reasons or current.delay_reasons
                if late and reasons is None:
                    raise InvalidInput(
                        f"{incident_id} is reported {duration(now - current.deadline_at)} after"
                        " its 72 hours: the report must give the reasons for the delay",
                        hint='--delay-reasons "…" (GDPR Art. 33(1))',
                    )
                status = IncidentStatus.REPORTED if current.status in UNREPORTED else current.status
                tx.incidents.update(
                    replace(
                        current,
                        status=status,
                        delay_reasons=reasons,
                        updated_at=now,
                        updated_by=me,
                    )
                )
                text = f"{wanted} report ({form}) to the authority" + (
                    f", ref. {ref}" if ref else ""
                )
                tx.incidents.add_timeline(self.entry(incident_id, TimelineKind.REPORTED, text))
                detail = self.detail(tx, incident_id)
                draft = IncidentReport(0, incident_id, wanted, form, "", me, now, ref)
                stopped = earlier[0].recorded_at if earlier else now
                late = stopped > current.deadline_at
                said = content(detail, draft, late, self.exemptions(tx, incident_id))
                data = render(str(form), said)
                recorded = replace(draft, sha256=sha256(data))
                recorded = replace(recorded, id=tx.incidents.add_report(recorded))
                publish(staged(target, data), target)
                attempt.ok(sha256=recorded.sha256)
        return ReportResult(incident_id, recorded, target, late)


def _in_order(status: IncidentStatus, wanted: Phase, done: list[Phase], incident_id: str) -> None:
    """Raises: Conflict when the incident is closed or ``wanted`` comes out of order."""
    if status == IncidentStatus.CLOSED:
        raise Conflict(f"incident {incident_id} is closed")
    if Phase.FINAL in done:
        raise Conflict(f"incident {incident_id} has its final report already")
    if wanted == Phase.INITIAL and Phase.INITIAL in done:
        raise Conflict(
            f"incident {incident_id} has its initial report already",
            hint="--phase follow-up adds to it",
        )
    if wanted != Phase.INITIAL and Phase.INITIAL not in done:
        raise Conflict(
            f"incident {incident_id} has no initial report yet", hint="--phase initial comes first"
        )
