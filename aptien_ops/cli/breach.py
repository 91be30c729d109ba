"""``breach`` commands: personal-data breaches with their 72-hour clock (GDPR Art. 33):
open, show, list, update, timeline add, close and check."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from aptien_ops.cli.output import echo, fields, table
from aptien_ops.cli.params import TextLimit, reason_option
from aptien_ops.cli.state import CliState, pass_state
from aptien_ops.domain.free_text import (
    DPO_CONTACT,
    INCIDENT_TEXT,
    INCIDENT_TITLE,
    REPORT_REFERENCE,
    FreeText,
)
from aptien_ops.domain.incident_input import MAX_APPROX
from aptien_ops.wording import plural

if TYPE_CHECKING:
    from aptien_ops.services.incident_results import IncidentDetail, IncidentRow

F = TypeVar("F", bound=Callable[..., Any])

TIMES = (
    "Times are ISO 8601 with their offset (2026-12-04T09:30+01:00 or …Z); the console stores"
    " and prints them in UTC."
)


@click.group(epilog=TIMES)
def breach() -> None:
    """Personal-data breaches: the incident, its 72-hour clock to the supervisory authority
    (GDPR Art. 33), its timeline. Opening and editing need the security role; security and
    admins see incidents.

    \b
    Examples:
      aptien-ops breach open --title "Backup bucket readable" --nature confidentiality \\
          --aware-at 2026-12-04T09:30+01:00 --severity high
      aptien-ops breach list                 (every open incident and its time left)
      aptien-ops breach update INC-2026-0001 --risk high --risk-rationale "e-mails exposed"
      aptien-ops breach timeline add INC-2026-0001 "bucket closed" --at 2026-12-04T10:05Z
      aptien-ops breach check                (exit 7 when an incident is overdue: cron)
    """


def a_moment(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """An ISO 8601 option with its offset, as an aware UTC datetime."""
    from aptien_ops.domain.incident_input import parse_moment

    return parse_moment(value, param.opts[0]) if value is not None else None


def listed(value: str | None) -> tuple[str, ...] | None:
    return (value,) if value is not None else None


def _text(name: str, kind: FreeText, what: str) -> Callable[[F], F]:
    return click.option(name, callback=TextLimit(kind), help=f"{what}, {kind.help}.")


def record_options(fn: Any) -> Any:
    """The options ``open`` and ``update`` share."""
    people = click.IntRange(0, MAX_APPROX)
    for option in reversed(
        [
            _text("--title", INCIDENT_TITLE, "What happened, in a line"),
            click.option("--nature", help="confidentiality, integrity or availability."),
            click.option("--aware-at", callback=a_moment, help="When Aptien became aware."),
            click.option("--happened-from", callback=a_moment, help="When the breach started."),
            click.option("--happened-to", callback=a_moment, help="When it ended."),
            click.option("--severity", help="low, medium, high or critical."),
            click.option("--risk", "risk_to_people", help="unknown, unlikely, risk or high."),
            _text("--risk-rationale", INCIDENT_TEXT, "Why that risk"),
            click.option("--data-categories", help="Categories of data, comma-separated."),
            click.option("--subject-categories", help="Categories of people, comma-separated."),
            click.option("--people", "approx_people", type=people, help="About how many people."),
            click.option(
                "--records", "approx_records", type=people, help="About how many records."
            ),
            _text("--consequences", INCIDENT_TEXT, "Its likely consequences"),
            _text("--measures-taken", INCIDENT_TEXT, "What was done"),
            _text("--measures-proposed", INCIDENT_TEXT, "What is proposed"),
            _text("--dpo-contact", DPO_CONTACT, "How the DPO is reached"),
        ]
    ):
        fn = option(fn)
    return fn


def _given(given: dict[str, Any]) -> dict[str, Any]:
    given = dict(given)
    for key in ("data_categories", "subject_categories"):
        given[key] = listed(given.get(key))
    return given


def clock_text(row: IncidentRow | IncidentDetail) -> str:
    """The clock as ``breach list`` prints it: flagged under 24 hours, OVERDUE past 72."""
    from aptien_ops.services.incident_results import clock_words

    return clock_words(row.countdown)


def _detail(state: CliState, detail: IncidentDetail) -> None:
    data = detail.as_json()
    if state.json:
        state.out(data)
        return
    nested = ("timeline", "reports", "scope", "clock")
    text = fields(
        {**{k: v for k, v in data.items() if k not in nested}, "clock": clock_text(detail)}
    )
    text += "\n\nTIMELINE\n" + table(
        [e.as_json() for e in detail.timeline], ("at", "operator", "kind", "text")
    )
    if detail.reports:
        text += "\n\nREPORTS\n" + table(
            [r.as_json() for r in detail.reports],
            ("phase", "format", "recorded_at", "recorded_by", "reference", "sha256"),
        )
    if detail.scope is not None:
        per_region = ", ".join(f"{r}: {n:,}" for r, n in detail.scope.regions.items())
        text += f"\n\nSCOPE  {plural(detail.scope.header.people, 'person', 'people')}"
        text += f" in {plural(detail.scope.header.tenants, 'tenant')} ({per_region or '-'})"
    echo(text)


@breach.command("open")
@record_options
@pass_state
def breach_open(state: CliState, /, **given: Any) -> None:
    """Record a new incident; its 72-hour clock runs from --aware-at. Needs --title, --nature
    and --aware-at."""
    from aptien_ops.errors import InvalidInput
    from aptien_ops.services.incidents import IncidentInput

    for required in ("title", "nature", "aware_at"):
        if given.get(required) is None:
            raise InvalidInput(f"breach open needs --{required.replace('_', '-')}")
    values = {k: v for k, v in _given(given).items() if v is not None}
    detail = state.console().incidents.open(IncidentInput(**values))
    if state.json:
        state.out(detail.as_json())
    else:
        state.out(None, f"opened {detail.id}: deadline {detail.incident.as_json()['deadline_at']}")


@breach.command("show")
@click.argument("incident_id", metavar="ID")
@pass_state
def breach_show(state: CliState, incident_id: str) -> None:
    """One incident: its record, clock, timeline, reports and scope counts."""
    _detail(state, state.console().incidents.show(incident_id))


@breach.command("list")
@click.option("--status", help="open, assessed, reported, notifying or closed.")
@click.option("--all", "everything", is_flag=True, help="Closed incidents too.")
@pass_state
def breach_list(state: CliState, status: str | None, everything: bool) -> None:
    """Incidents not closed, newest first, with the time left of each running clock: under
    24 hours it is flagged, past 72 hours without a report it is OVERDUE."""
    rows = state.console().incidents.list(status=status, everything=everything)
    shown = [{**r.as_json(), "clock": clock_text(r)} for r in rows]
    columns = ("id", "status", "severity", "risk_to_people", "aware_at", "clock", "title")
    headers = ("id", "status", "severity", "risk", "aware_at", "clock", "title")
    text = table(shown, columns, headers=headers)
    state.out([r.as_json() for r in rows], text + f"\n{plural(len(rows), 'incident')}")


@breach.command("update")
@click.argument("incident_id", metavar="ID")
@record_options
@click.option("--status", help="open or assessed.")
@_text("--delay-reasons", INCIDENT_TEXT, "Why the report comes after 72 hours")
@pass_state
def breach_update(state: CliState, /, incident_id: str, **given: Any) -> None:
    """Change fields of an incident; assessing the risk moves it from open to assessed."""
    from aptien_ops.services.incidents import IncidentUpdate

    detail = state.console().incidents.update(incident_id, IncidentUpdate(**_given(given)))
    if state.json:
        state.out(detail.as_json())
    else:
        state.out(None, f"updated {detail.id}: {detail.incident.status}; {clock_text(detail)}")


@breach.group("timeline")
def timeline() -> None:
    """An incident's timeline of dated entries."""


@timeline.command("add")
@click.argument("incident_id", metavar="ID")
@click.argument("text")
@click.option("--at", callback=a_moment, help="When it happened (default: now).")
@pass_state
def timeline_add(state: CliState, incident_id: str, text: str, at: datetime | None) -> None:
    """Add a dated entry to the timeline (TEXT at most 2,000 characters)."""
    entry = state.console().incidents.timeline_add(incident_id, text, at)
    state.out(entry.as_json(), f"{incident_id}: entry added at {entry.as_json()['at']}")


@breach.command("close")
@click.argument("incident_id", metavar="ID")
@reason_option("Why it is closed", kept="the timeline and the ops log")
@pass_state
def breach_close(state: CliState, incident_id: str, reason: str) -> None:
    """Close an incident; one whose risk is not 'unlikely' must be reported first."""
    detail = state.console().incidents.close_incident(incident_id, reason)
    state.out(detail.as_json(), f"closed {detail.id}")


@breach.command("report")
@click.argument("incident_id", metavar="ID")
@click.option("--phase", required=True, help="initial, follow-up or final.")
@click.option("--format", "fmt", required=True, help="md, html or json.")
@click.option(
    "--output", required=True, type=click.Path(path_type=Path), help="A new file to write."
)
@_text("--reference", REPORT_REFERENCE, "The authority's case reference")
@_text("--delay-reasons", INCIDENT_TEXT, "Why the report comes after 72 hours (Art. 33(1))")
@pass_state
def breach_report(
    state: CliState,
    incident_id: str,
    phase: str,
    fmt: str,
    output: Path,
    reference: str | None,
    delay_reasons: str | None,
) -> None:
    """Write the report to the supervisory authority (Art. 33(3) a-d: nature, categories and
    numbers, DPO contact, consequences, measures, timeline, earlier phases) and record it with
    its SHA-256. The first report stops the clock; after 72 hours it needs --delay-reasons."""
    done = state.console().incidents.report(
        incident_id, phase, fmt, output, reference=reference, delay_reasons=delay_reasons
    )
    late = " (late)" if done.late else ""
    state.out(
        done.as_json(),
        f"{incident_id}: {done.report.phase} report{late} written to {done.path}\n"
        f"sha256 {done.report.sha256}",
    )


@breach.command("scope")
@click.argument("incident_id", metavar="ID")
@click.option("--tenants", help="The affected tenants, comma-separated.")
@click.option("--region", help="Every tenant of this region.")
@click.option("--all", "everything", is_flag=True, help="Every tenant.")
@click.option("--window", metavar="FROM..TO", help="Only people whose account existed by TO.")
@click.option(
    "--logged-in-during-window",
    "logged_in",
    is_flag=True,
    help="Only people who logged in (successfully) between FROM and TO.",
)
@pass_state
def breach_scope(
    state: CliState,
    incident_id: str,
    tenants: str | None,
    region: str | None,
    everything: bool,
    window: str | None,
    logged_in: bool,
) -> None:
    """Read the affected people (user ids and e-mail addresses from each tenant database's
    user and login metadata, never a payload) and store them with the incident as the
    snapshot its notices go to; prints the counts per tenant and region."""
    from aptien_ops.cli.progress import Bar
    from aptien_ops.domain.incident_input import parse_window
    from aptien_ops.services.incident_scope import ScopeRequest

    request = ScopeRequest(
        tuple(t for t in (tenants or "").replace(" ", ",").split(",") if t),
        region,
        everything,
        parse_window(window) if window is not None else None,
        logged_in,
    )
    bar = Bar("scope", enabled=not state.json)
    counts = state.console().incidents.scope(incident_id, request, bar)
    h = counts.header
    per_region = ", ".join(f"{r}: {n:,}" for r, n in counts.regions.items()) or "-"
    text = table([t.as_json() for t in counts.tenants], ("region", "tenant", "people"))
    text += f"\n{plural(h.people, 'person', 'people')} in {plural(h.tenants, 'tenant')}"
    state.out(counts.as_json(), f"{text} ({per_region}); snapshot sha256 {h.sha256}")


@breach.command("check")
@pass_state
def breach_check(state: CliState) -> None:
    """Every incident whose clock runs, soonest deadline first. Exit 7 when one is overdue
    (past 72 hours without a report), for cron."""
    from aptien_ops.errors import IntegrityFailure

    report = state.console().incidents.check()
    if state.json:
        state.out(report.as_json())
    elif report.running:
        shown = [{**r.as_json(), "clock": clock_text(r)} for r in report.running]
        echo(table(shown, ("id", "status", "aware_at", "clock", "title")))
    else:
        state.info("no incident's clock is running")
    if report.overdue:
        raise IntegrityFailure(
            f"{plural(len(report.overdue), 'incident')} past 72 hours without a report:"
            f" {', '.join(r.id for r in report.overdue)}",
            hint="aptien-ops breach report ID --phase initial … with --delay-reasons",
        )
