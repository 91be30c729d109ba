"""How the incident screens print an incident: its 72-hour clock (highlighted under 24 hours,
OVERDUE in red past 72 without a report, stopped once reported), its status, and the sections
of its detail (the record, the timeline, the scope counts, the reports, the deliveries).

Titles, timeline lines and every other field an operator typed are data: through
``shown``/``plain`` only, never parsed as markup.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from rich.text import Text

from aptien_ops.domain.incidents import Countdown, IncidentReport, TimelineEntry, duration
from aptien_ops.domain.notices import ChannelCounts
from aptien_ops.screens.formatting import minute, plural
from aptien_ops.services.incident_results import IncidentDetail, ScopeCounts, clock_words
from aptien_ops.services.notice_results import Deliveries
from aptien_ops.terminal_text import shown

#: An incident's status: red while its clock runs unreported, yellow while people are being
#: told, green once reported, dim when closed.
STATUS_STYLES = {
    "open": "bold red",
    "assessed": "yellow",
    "reported": "green",
    "notifying": "cyan",
    "closed": "dim",
}
SEVERITY_STYLES = {"low": "dim", "medium": "", "high": "yellow", "critical": "bold red"}


def clock_cell(c: Countdown) -> Text:
    """The clock as a cell: ``OVERDUE by 3h 12m`` (bold white on red), ``23h 10m left (under
    24h)`` (bold yellow), ``41h 07m left``, ``■ reported in time`` (stopped, dim)."""
    words = clock_words(c)
    if c.overdue:
        return Text(words, style="bold white on red")
    if c.urgent:
        return Text(words, style="bold yellow")
    if c.running:
        return Text(words)
    if c.stopped_at is not None:
        return Text(f"■ {words}", style="yellow" if c.late else "dim green")
    return Text("■ stopped", style="dim")


def list_clock_cell(c: Countdown) -> Text:
    """The clock as the list's cell, at most 17 cells so that the title keeps the room at 80
    columns: ``OVERDUE by 3h 12m``, ``23h 10m left <24h``, ``41h 07m left``, ``■ in time``,
    ``■ 2h 05m late`` (styled as :func:`clock_cell`; the summary under the list words it
    whole)."""
    if c.urgent:
        return Text(f"{duration(c.left)} left <24h", style="bold yellow")
    if c.running or c.stopped_at is None:
        return clock_cell(c)
    if c.late:
        return Text(f"■ {duration(-c.left)} late", style="yellow")
    return Text("■ in time", style="dim green")


def status_cell(status: str) -> Text:
    return Text(status, style=STATUS_STYLES.get(status, ""))


def severity_cell(severity: str) -> Text:
    return Text(severity, style=SEVERITY_STYLES.get(severity, ""))


def _field(out: Text, name: str, value: object) -> None:
    out.append(f"\n{name:<20}" if out else f"{name:<20}", style="bold")
    out.append(shown(value) if value not in (None, "", ()) else "-")


def heading_text(detail: IncidentDetail) -> Text:
    """``INC-2025-0004  Title`` and ``reported · medium · deadline … · ■ reported in time``."""
    i = detail.incident
    out = Text()
    out.append(i.id, style="bold")
    out.append("  ")
    out.append(shown(i.title))
    out.append("\n")
    out.append_text(status_cell(str(i.status)))
    out.append(" · ")
    out.append_text(severity_cell(str(i.severity)))
    out.append(f" · deadline {minute(i.deadline_at)} UTC · ")
    out.append_text(clock_cell(detail.countdown))
    return out


def record_text(detail: IncidentDetail) -> Text:
    """The record's fields, one per line (``-`` where nothing is known yet)."""
    i = detail.incident
    out = Text()
    for name, value in (
        ("nature", str(i.nature)),
        ("aware at", f"{minute(i.aware_at)} UTC"),
        ("happened", _period(detail)),
        ("risk to people", str(i.risk_to_people)),
        ("risk rationale", i.risk_rationale),
        ("data categories", ", ".join(i.data_categories)),
        ("subject categories", ", ".join(i.subject_categories)),
        ("approx. people", _number(i.approx_people)),
        ("approx. records", _number(i.approx_records)),
        ("consequences", i.consequences),
        ("measures taken", i.measures_taken),
        ("measures proposed", i.measures_proposed),
        ("DPO contact", i.dpo_contact),
        ("delay reasons", i.delay_reasons),
        ("opened by", f"{i.created_by} at {minute(i.created_at)} UTC"),
    ):
        _field(out, name, value)
    return out


def _period(detail: IncidentDetail) -> str:
    i = detail.incident
    if i.happened_from is None and i.happened_to is None:
        return ""
    return f"{minute(i.happened_from) or '?'} – {minute(i.happened_to) or '?'} UTC"


def _number(value: int | None) -> str:
    return "" if value is None else f"~{value:,}"


def timeline_text(entries: Sequence[TimelineEntry]) -> Text:
    """``2025-03-14 09:26  sam  note  called the host`` per entry, oldest first."""
    if not entries:
        return Text("No entries yet.", style="dim")
    out = Text()
    for n, e in enumerate(entries):
        out.append("\n" if n else "")
        out.append(f"{minute(e.at)}  ", style="dim")
        out.append(shown(e.operator))
        out.append(f"  {e.kind}  ", style="bold" if str(e.kind) != "note" else "")
        out.append(shown(e.text))
    return out


def scope_text(scope: ScopeCounts | None) -> Text:
    """Tenants and people per region of the recorded scope (never a person)."""
    if scope is None:
        return Text("No scope recorded yet (s reads it; breach scope ID …).", style="dim")
    h = scope.header
    out = Text(
        f"{plural(h.people, 'person', 'people')} in {plural(h.tenants, 'tenant')}"
        f" · taken by {shown(h.taken_by)} at {minute(h.taken_at)} UTC"
    )
    tenants: dict[str, int] = defaultdict(int)
    for t in scope.tenants:
        tenants[t.region] += 1
    for region, people in scope.regions.items():
        out.append(
            f"\n  {shown(region):<8} {plural(tenants[region], 'tenant'):>12}"
            f" {plural(people, 'person', 'people'):>14}"
        )
    return out


def reports_text(reports: Sequence[IncidentReport]) -> Text:
    """Each report phase recorded: phase, format, when and by whom, its reference."""
    if not reports:
        return Text("No report recorded yet (f files one; breach report ID …).", style="dim")
    out = Text()
    for n, r in enumerate(reports):
        out.append("\n" if n else "")
        out.append(f"{r.phase:<10}", style="bold")
        out.append(f" {r.format:<5} {minute(r.recorded_at)} UTC by {shown(r.recorded_by)}")
        if r.reference:
            out.append(f" · ref {shown(r.reference)}")
    return out


def deliveries_text(deliveries: Deliveries | None) -> Text:
    """Per channel: sent, pending, failed (failed in red); the exemptions recorded."""
    if deliveries is None:
        return Text("loading…", style="dim")
    out = Text()
    if not deliveries.channels:
        out.append("No notices yet (n; breach notify ID …).", style="dim")
    for n, c in enumerate(deliveries.channels):
        out.append("\n" if n else "")
        out.append_text(channel_line(c))
    for e in deliveries.exemptions:
        out.append(f"\nexempt ({shown(e.ground)}): {shown(e.rationale)}", style="yellow")
    return out


def channel_line(c: ChannelCounts) -> Text:
    total = c.sent + c.pending + c.failed
    out = Text(f"{shown(c.channel):<8} {c.sent:>6,} sent", style="")
    out.append(f"  {c.pending:>6,} pending", style="yellow" if c.pending else "")
    out.append(f"  {c.failed:>6,} failed", style="bold red" if c.failed else "")
    out.append(f"  of {total:,}", style="dim")
    return out


#: Cells of a channel's progress bar while notices are being sent.
BAR = 20


def sending_text(progress: Mapping[str, tuple[int, int]]) -> Text:
    """The notices being sent, a line per channel as it reports: a bar, ``1,234 of 20,000``."""
    out = Text("Sending notices", style="bold")
    out.append(" · the page stays until they are out; q asks first", style="dim")
    if not progress:
        out.append("\n  starting…", style="dim")
    for channel, (done, total) in progress.items():
        filled = BAR * done // total if total else BAR
        out.append(f"\n  {shown(channel):<8} ")
        out.append("█" * filled, style="green")
        out.append("░" * (BAR - filled), style="dim")
        out.append(f" {done:,} of {total:,}")
        if done >= total:
            out.append(" ✓", style="green")
    return out
