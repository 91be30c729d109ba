"""How the partner screens print a partner: its state at a glance (eligible, expiring in N
days, review overdue, lapsed, suspended, ended), coloured as every state is (green well,
yellow soon, red needs an operator, dim over), and the sections of its detail.

Partner text (legal names, contacts, reasons, notes) is data: through ``shown``/``plain`` only.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date

from rich.text import Text

from aptien_ops.domain.partners import Partner, Review
from aptien_ops.screens.formatting import day, minute, plural
from aptien_ops.services.partner_results import (
    AgreementRow,
    AssignmentRow,
    PartnerRow,
    PartnerSummary,
    ShareRow,
)
from aptien_ops.terminal_text import shown

#: A partner's state at a glance, by what the rules found.
GLANCE_STYLES = {
    "eligible": "green",
    "expiring": "yellow",
    "review": "yellow",
    "lapsed": "bold red",
    "suspended": "red",
    "ended": "dim",
}


def glance(
    status: str,
    eligible: bool,
    until: date | None,
    today: date,
    *,
    expiring: bool,
    review_overdue: bool,
) -> Text:
    """``eligible``, ``expires in 12 days``, ``review overdue``, ``lapsed``, ``suspended`` or
    ``ended``: what an operator must know first about a partner today. ``until``: the last
    day of its agreement in force; ``expiring``: that day is within the expiring window."""
    if status == "ended":
        return Text("ended", style=GLANCE_STYLES["ended"])
    if status == "suspended":
        return Text("suspended", style=GLANCE_STYLES["suspended"])
    if not eligible:
        return Text("lapsed", style=GLANCE_STYLES["lapsed"])
    if expiring and until is not None:
        left = (until - today).days
        words = "expires today" if left == 0 else f"expires in {plural(left, 'day')}"
        return Text(words, style=GLANCE_STYLES["expiring"])
    if review_overdue:
        return Text("review overdue", style=GLANCE_STYLES["review"])
    return Text("eligible", style=GLANCE_STYLES["eligible"])


def until_text(until: date | None, eligible: bool) -> str:
    """The last day its agreements are in force; ``open-ended`` for an eligible partner
    without one; ``—`` when none is in force."""
    if until is not None:
        return until.isoformat()
    return "open-ended" if eligible else "—"


def coverage_text(entries: Sequence[str]) -> str:
    """``eu DK FI``: regions first, then countries (as the register orders them)."""
    return " ".join(entries) or "nowhere"


def kind_text(kinds: Collection[str]) -> str:
    """``sales``, ``expert`` or ``both``."""
    return "both" if len(kinds) > 1 else "".join(str(k) for k in kinds) or "—"


def _title(name: str, state: Text, legal_name: str, kinds: Collection[str]) -> Text:
    """``nordic-sales  eligible — Nordic Sales AB``, then its kind on the next line."""
    text = Text(shown(name), style="bold")
    text.append("  ")
    text.append_text(state)
    text.append(f" — {shown(legal_name)}\n{kind_text(kinds)}")
    return text


def row_summary(row: PartnerRow, state: Text) -> Text:
    """The list's lines about the highlighted partner: legal name, state and why, review."""
    text = _title(row.name, state, row.legal_name, row.kinds)
    text.append(f" · covers {shown(coverage_text(row.coverage))}")
    if row.ineligible_reason:
        text.append(f"\nnot eligible: {shown(row.ineligible_reason)}", style="red")
    text.append(f"\nreview due {row.review_due.isoformat()} · {row.open_assignments} assigned")
    if row.lapsed_assignments:
        text.append(f" · {row.lapsed_assignments} lapsed", style="bold red")
    return text


def heading(partner: Partner, state: Text) -> Text:
    """``nordic-sales  eligible — Nordic Sales AB``, then kind, coverage, expertise, contact."""
    text = _title(partner.name, state, partner.legal_name, partner.kinds)
    text.append(f" · covers {shown(coverage_text(partner.coverage.entries))}")
    if partner.expertise:
        text.append(f" · expertise {shown(', '.join(partner.expertise))}")
    contact = shown(partner.contact_name or "—")
    if partner.contact_email:
        contact += f" <{shown(partner.contact_email)}>"
    if partner.contact_phone:
        contact += f" {shown(partner.contact_phone)}"
    text.append(f"\ncontact {contact} · review due {partner.review_due.isoformat()}")
    if partner.status_reason:
        text.append(f"\n{partner.status}: {shown(partner.status_reason)}", style="yellow")
    return text


def agreements_text(rows: Sequence[AgreementRow], today: date) -> Text:
    """Newest first: reference, the days in force, and whether it is in force today."""
    text = Text()
    for row in sorted(rows, key=lambda r: r.agreement.effective_from, reverse=True):
        a = row.agreement
        if text:
            text.append("\n")
        end = a.expires_on.isoformat() if a.expires_on else "open-ended"
        text.append(shown(a.reference), style="bold")
        text.append(f"  {a.effective_from.isoformat()} → {end}")
        if row.in_force:
            text.append("  in force", style="green")
        elif a.status == "ended":
            text.append("  ended", style="dim")
        elif a.effective_from > today:
            text.append("  not yet in force", style="yellow")
        else:
            text.append("  expired", style="red")
        detail = f"\n  signed {a.signed_on.isoformat()}"
        if a.document_sha256:
            detail += f" · sha256 {a.document_sha256[:12]}…"
        if a.ended_by:
            detail += f" · ended by {shown(a.ended_by)}: {shown(a.end_reason or '')}"
        text.append(detail, style="dim")
    return text or Text("no agreement recorded", style="dim")


def reviews_text(reviews: Sequence[Review]) -> Text:
    """Newest first: the day, the outcome, when the next is due, the notes."""
    text = Text()
    styles = {"pass": "green", "conditions": "yellow", "fail": "red"}
    for r in sorted(reviews, key=lambda r: r.reviewed_on, reverse=True):
        if text:
            text.append("\n")
        text.append(f"{r.reviewed_on.isoformat()} ")
        text.append(str(r.outcome), style=styles.get(str(r.outcome), ""))
        text.append(f" · next due {r.next_due.isoformat()} · by {shown(r.reviewed_by)}")
        if r.notes:
            text.append(f"\n  {shown(r.notes)}", style="dim")
    return text or Text("no review recorded", style="dim")


def assignments_text(rows: Sequence[AssignmentRow]) -> Text:
    """Open assignments first (a lapsed one in red, with why), then ended ones, dim."""
    text = Text()
    order = {"lapsed": 0, "active": 1, "ended": 2}
    for row in sorted(rows, key=lambda r: (order[r.state], r.assignment.tenant, r.assignment.id)):
        a = row.assignment
        if text:
            text.append("\n")
        text.append(shown(a.tenant), style="dim" if row.state == "ended" else "bold")
        text.append(f" as {a.role} · since {day(a.assigned_at)} by {shown(a.assigned_by)}")
        if row.state == "ended":
            text.append(
                f"\n  ended {day(a.ended_at)} by {shown(a.ended_by or '')}:"
                f" {shown(a.end_reason or '')}",
                style="dim",
            )
        elif row.state == "lapsed":
            text.append(f"\n  lapsed: {shown(row.lapse_reason or '')}", style="bold red")
        else:
            text.append(f"\n  {shown(a.reason)}", style="dim")
    return text or Text("not assigned to any tenant", style="dim")


def shares_text(shares: Sequence[ShareRow]) -> Text:
    """Newest first: when, which tenant's card, who shared it and why."""
    text = Text()
    for s in shares:
        if text:
            text.append("\n")
        text.append(f"{minute(s.shared_at)} ")
        text.append(shown(s.tenant), style="bold")
        text.append(f" by {shown(s.shared_by)}: {shown(s.reason)}", style="dim")
    return text or Text("no contact card shared", style="dim")


def partners_text(summary: PartnerSummary, within_days: int) -> Text:
    """The dashboard's partners card: ``partner check``'s counts, the breaches (lapsed
    assignments, reviews overdue: exit 7) apart from the warning (agreements expiring, still
    in force), then the register in one line."""
    if not summary.partners:
        return Text("No partner in the register yet (aptien-ops partner add or import).")
    text = Text()
    if summary.out_of_policy:
        text.append("✗ out of policy: ", style="bold red")
        breaches = (
            (summary.lapsed, plural(summary.lapsed, "lapsed assignment")),
            (summary.overdue, f"{plural(summary.overdue, 'review')} overdue"),
        )
        text.append_text(
            Text(" · ").join(Text(w, style="bold red" if n else "dim") for n, w in breaches)
        )
    else:
        text.append("✓ every partner and assignment is within policy", style="green")
    if summary.warning:
        text.append("\n! warning: ", style="yellow")
        text.append(f"{summary.expiring} expiring within {plural(within_days, 'day')}", "yellow")
        text.append(" (still in force; renew them)", style="dim")
    text.append(
        f"\n{plural(summary.partners, 'partner')}, {summary.eligible} eligible today (UTC),"
        f" {plural(summary.open_assignments, 'open assignment')}"
        " · press 0",
        style="dim",
    )
    return text
