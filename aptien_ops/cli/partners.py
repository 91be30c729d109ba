"""``partner`` commands: the register (list, show, add, update, end, agreements, reviews) and
``check``. Assignments and shares are in ``partner_links``, publish and import in
``partner_files``; all hang on the one ``partner`` group."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import click

from aptien_ops.cli.output import echo, fields, table
from aptien_ops.cli.params import TextLimit
from aptien_ops.cli.state import CliState, pass_state
from aptien_ops.domain.free_text import (
    CONTACT_NAME,
    LEGAL_NAME,
    REASON,
    REVIEW_NOTES,
)
from aptien_ops.wording import plural

if TYPE_CHECKING:
    from aptien_ops.domain.partner_rules import CheckReport

DATES = "Dates are calendar dates in UTC (YYYY-MM-DD)."


@click.group(epilog=DATES)
def partner() -> None:
    """Business partners: the official register, agreements, reviews, assignment to tenants
    and audited sharing of a client's contact card. Changes need the partner-manager role.

    \b
    Examples:
      aptien-ops partner list --region eu --expiring-within 30
      aptien-ops partner add nordic-sales --legal-name "Nordic Sales AB" --kind sales \\
          --coverage SE,NO,DK
      aptien-ops partner agreement add nordic-sales PA-2027-01 --signed-on 2027-01-10 \\
          --effective-from 2027-02-01 --expires-on 2028-01-31 --document signed.pdf
      aptien-ops partner assign nordic-sales acme-gmbh --as sales --reason "new client"
      aptien-ops partner check          (exit 7 when anything is out of policy)
    """


def a_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    """A ``YYYY-MM-DD`` option, read as a UTC calendar date."""
    from aptien_ops.domain.partner_input import parse_date

    return parse_date(value, _param.name or "the date") if value is not None else None


def listed(value: str | None) -> tuple[str, ...] | None:
    """``DE,AT eu`` → ``("DE", "AT", "eu")``; None stays None."""
    if value is None:
        return None
    return tuple(v for v in value.replace(";", ",").replace(" ", ",").split(",") if v)


def record_options(fn: Any) -> Any:
    """The options ``add`` and ``update`` share."""
    for option in reversed(
        [
            click.option(
                "--legal-name", callback=TextLimit(LEGAL_NAME), help=f"{LEGAL_NAME.help}."
            ),
            click.option("--kind", "kinds", help="sales, expert, or sales,expert."),
            click.option(
                "--coverage",
                help="Where it acts: ISO country codes and/or regions, comma-separated (DE,AT,eu).",
            ),
            click.option("--expertise", help="Tags, comma-separated (gdpr,payroll-de)."),
            click.option(
                "--contact-name",
                callback=TextLimit(CONTACT_NAME),
                help=f"The partner's contact person, {CONTACT_NAME.help}.",
            ),
            click.option("--contact-email", help="The partner's contact e-mail."),
            click.option("--contact-phone", help="The partner's contact phone."),
        ]
    ):
        fn = option(fn)
    return fn


@partner.command("list")
@click.option("--region", help="Only partners whose coverage reaches this region.")
@click.option("--country", help="Only partners covering this country (ISO code).")
@click.option("--status", help="active, suspended or ended.")
@click.option(
    "--expiring-within",
    type=click.IntRange(0, 3650),
    metavar="DAYS",
    help="Only partners whose agreements run out within DAYS days (UTC).",
)
@pass_state
def partner_list(
    state: CliState,
    region: str | None,
    country: str | None,
    status: str | None,
    expiring_within: int | None,
) -> None:
    """Partners by name, with their eligibility today (UTC) and their assignments."""
    rows = state.console().partners.list(
        region=region, country=country, status=status, expiring_within=expiring_within
    )
    data = [r.as_json() for r in rows]
    shown = [
        {
            **d,
            "kind": r.kind_text,
            "eligible": "yes" if r.eligible else f"no: {r.ineligible_reason}",
            "until": f"{r.in_force_until}" + (" (expiring)" if r.expiring else "")
            if r.in_force_until
            else None,
            "assigned": f"{r.open_assignments}"
            + (f" ({r.lapsed_assignments} lapsed)" if r.lapsed_assignments else ""),
        }
        for d, r in zip(data, rows, strict=True)
    ]
    columns = ("name", "kind", "coverage", "status", "eligible", "until", "review_due", "assigned")
    state.out(data, table(shown, columns) + f"\n{plural(len(rows), 'partner')}")


@partner.command("show")
@click.argument("name")
@pass_state
def partner_show(state: CliState, name: str) -> None:
    """One partner: its record, eligibility today, agreements, reviews, assignments, shares."""
    detail = state.console().partners.show(name)
    data = detail.as_json()
    if state.json:
        state.out(data)
        return
    nested = ("agreements", "reviews", "assignments", "shares")
    text = fields({k: v for k, v in data.items() if k not in nested})
    agreements = [a.as_json() for a in detail.agreements]
    text += "\n\nAGREEMENTS\n" + table(
        agreements,
        ("reference", "signed_on", "effective_from", "expires_on", "status", "in_force"),
    )
    text += "\n\nREVIEWS\n" + table(
        [r.as_json() for r in detail.reviews],
        ("reviewed_on", "outcome", "next_due", "reviewed_by", "notes"),
    )
    text += "\n\nASSIGNMENTS\n" + table(
        [a.as_json() for a in detail.assignments],
        ("tenant", "role", "state", "assigned_at", "assigned_by", "ended_at", "lapse_reason"),
    )
    text += "\n\nSHARES\n" + table(
        [s.as_json() for s in detail.shares], ("shared_at", "tenant", "shared_by", "reason")
    )
    state.out(data, text)


@partner.command("add")
@click.argument("name")
@record_options
@pass_state
def partner_add(state: CliState, /, name: str, **given: str | None) -> None:
    """Register partner NAME (active; eligible once an agreement is in force). --legal-name,
    --kind and --coverage are required."""
    from aptien_ops.services.partners import PartnerInput

    added = state.console().partners.add(
        PartnerInput(
            name,
            given["legal_name"] or "",
            listed(given["kinds"]) or (),
            listed(given["coverage"]) or (),
            listed(given["expertise"]) or (),
            given["contact_name"],
            given["contact_email"],
            given["contact_phone"],
        )
    )
    state.out(added.as_json(), f"added partner {added.name}; an agreement makes it eligible")


@partner.command("update")
@click.argument("name")
@record_options
@click.option("--status", help="active or suspended (ending is partner end).")
@click.option(
    "--reason", callback=TextLimit(REASON), help=f"Why (needed to suspend), {REASON.help}."
)
@pass_state
def partner_update(state: CliState, /, name: str, **given: str | None) -> None:
    """Change fields of partner NAME; a coverage or kind that no longer fits a tenant makes
    its assignments lapse (partner check lists them)."""
    from aptien_ops.services.partners import PartnerUpdate

    change = PartnerUpdate(
        legal_name=given["legal_name"],
        kinds=listed(given["kinds"]),
        coverage=listed(given["coverage"]),
        expertise=listed(given["expertise"]),
        contact_name=given["contact_name"],
        contact_email=given["contact_email"],
        contact_phone=given["contact_phone"],
        status=given["status"],
        reason=given["reason"],
    )
    updated = state.console().partners.update(name, change)
    state.out(updated.as_json(), f"updated partner {updated.name}")


@partner.command("end")
@click.argument("name")
@click.option("--reason", required=True, callback=TextLimit(REASON), help=f"Why, {REASON.help}.")
@pass_state
def partner_end(state: CliState, name: str, reason: str) -> None:
    """End the partnership: NAME leaves the official list and its open assignments end (the
    history is kept)."""
    ended = state.console().partners.end(name, reason)
    state.out(ended.as_json(), f"ended partner {ended.name}")


@partner.group("agreement", epilog=DATES)
def agreement() -> None:
    """A partner's signed agreements: in force from --effective-from to --expires-on, both
    days included (UTC)."""


@agreement.command("add")
@click.argument("name")
@click.argument("reference")
@click.option("--signed-on", required=True, callback=a_date, help="YYYY-MM-DD (UTC).")
@click.option("--effective-from", required=True, callback=a_date, help="First day in force.")
@click.option("--expires-on", callback=a_date, help="Last day in force (none: open-ended).")
@click.option(
    "--document",
    metavar="FILE",
    help="The signed document: its SHA-256 is recorded, the file itself is not stored"
    " (read only once you are authorised).",
)
@pass_state
def agreement_add(
    state: CliState,
    name: str,
    reference: str,
    signed_on: date,
    effective_from: date,
    expires_on: date | None,
    document: str | None,
) -> None:
    """Record agreement REFERENCE of partner NAME."""
    added = state.console().partners.agreement_add(
        name,
        reference,
        signed_on=signed_on,
        effective_from=effective_from,
        expires_on=expires_on,
        document=document,
    )
    state.out(added.as_json(), f"recorded agreement {added.reference} of {added.partner}")


@agreement.command("end")
@click.argument("name")
@click.argument("reference")
@click.option("--reason", required=True, callback=TextLimit(REASON), help=f"Why, {REASON.help}.")
@pass_state
def agreement_end(state: CliState, name: str, reference: str, reason: str) -> None:
    """End agreement REFERENCE of partner NAME now; its assignments lapse unless another
    agreement is in force."""
    ended = state.console().partners.agreement_end(name, reference, reason)
    state.out(ended.as_json(), f"ended agreement {ended.reference} of {ended.partner}")


@partner.command("review", epilog=DATES)
@click.argument("name")
@click.option("--outcome", required=True, help="pass, conditions or fail (fail suspends).")
@click.option("--notes", callback=TextLimit(REVIEW_NOTES), help=f"Findings, {REVIEW_NOTES.help}.")
@click.option("--on", "reviewed_on", callback=a_date, help="The review's date (default today).")
@click.option("--next-due", callback=a_date, help="Next review (default: [partners] interval).")
@pass_state
def partner_review(
    state: CliState,
    name: str,
    outcome: str,
    notes: str | None,
    reviewed_on: date | None,
    next_due: date | None,
) -> None:
    """Record a review of partner NAME."""
    review = state.console().partners.review(
        name, outcome, notes=notes, reviewed_on=reviewed_on, next_due=next_due
    )
    state.out(review.as_json(), f"review of {name}: {review.outcome}; next due {review.next_due}")


@partner.command("check")
@click.option(
    "--within",
    type=click.IntRange(0, 3650),
    metavar="DAYS",
    help="Agreements running out within DAYS days (default: [partners] expiring_within_days).",
)
@pass_state
def partner_check(state: CliState, within: int | None) -> None:
    """Lapsed assignments and reviews overdue (out of policy), and agreements running out
    within DAYS days (a warning), as of today (UTC). Exit 7 when anything is out of policy
    (for cron); expiring agreements alone exit 0."""
    from aptien_ops.errors import IntegrityFailure

    report = state.console().partners.check(within)
    if state.json:
        state.out(report.as_json())
    else:
        _print_report(state, report)
    if report.out_of_policy:
        raise IntegrityFailure(
            f"partners out of policy: {plural(len(report.lapsed), 'lapsed assignment')},"
            f" {plural(len(report.overdue), 'review')} overdue",
            hint="see the lists above; aptien-ops partner show NAME",
        )


def _print_report(state: CliState, report: CheckReport) -> None:
    sections = (
        (
            "OUT OF POLICY: LAPSED ASSIGNMENTS",
            report.lapsed,
            ("tenant", "partner", "role", "rule", "reason"),
        ),
        (
            "OUT OF POLICY: REVIEWS OVERDUE",
            report.overdue,
            ("partner", "review_due", "days_overdue", "past_grace"),
        ),
        (
            "WARNING: AGREEMENTS EXPIRING (still in force)",
            report.expiring,
            ("partner", "reference", "expires_on", "days_left"),
        ),
    )
    for title, found, columns in sections:
        if found:
            echo(f"{title}\n" + table([x.as_json() for x in found], columns))
    if report.out_of_policy:
        return
    held = f"all in policy: {plural(report.open_assignments, 'open assignment')} hold"
    if report.warnings:
        held += (
            f"; {plural(report.warnings, 'agreement')} expiring within"
            f" {plural(report.within_days, 'day')} (warning)"
        )
    state.info(held)
