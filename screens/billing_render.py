"""How the screens show billing: a tenant's licence (the Tenants list's column, its detail's
section) and the dashboard's card. Pure functions of what the billing service returned: the
service decides who sees what (the licence state, or everything kept), these only draw it.

A licence's group reads in words as well as in colour: each state is written out with a mark
of its group (✓ good, ! non-payment, ✗ expired, … pending, · none).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from aptien_ops.domain.billing import (
    LicenceGroup,
    LicenceState,
    TenantBilling,
    licence_group,
)
from aptien_ops.domain.billing_notices import format_amount
from aptien_ops.screens.formatting import day, plain, plural
from aptien_ops.services.billing_results import BillingSection, BillingSummary, NotConnected

#: Mark and style of each licence group: red needs an operator, dim is over.
GROUP_MARKS = {
    LicenceGroup.GOOD: ("✓", "green"),
    LicenceGroup.NON_PAYMENT: ("!", "bold red"),
    LicenceGroup.EXPIRED: ("✗", "dim"),
    LicenceGroup.PENDING: ("…", "yellow"),
    LicenceGroup.NONE: ("·", "dim"),
}
#: What ``b`` on the Tenants screen cycles through: every licence, then each group.
BILLING_FILTERS: tuple[LicenceGroup | None, ...] = (
    None,
    LicenceGroup.NON_PAYMENT,
    LicenceGroup.EXPIRED,
    LicenceGroup.PENDING,
    LicenceGroup.GOOD,
    LicenceGroup.NONE,
)


def licence_cell(state: LicenceState) -> str:
    """``! past_due``: the state, after its group's mark."""
    return f"{GROUP_MARKS[licence_group(state)][0]} {state}"


def licence_style(state: LicenceState) -> str:
    return GROUP_MARKS[licence_group(state)][1]


def licence_text(state: LicenceState) -> Text:
    """The licence and its group in words: ``! past_due (non-payment)``."""
    group = licence_group(state)
    text = Text(licence_cell(state), style=licence_style(state))
    if group != LicenceGroup.NONE:
        text.append(f" ({group})", style="dim")
    return text


def not_connected_text(why: NotConnected) -> Text:
    """``not connected`` and how to connect it: a state, not an error."""
    text = Text(f"billing {why.message}", style="bold")
    text.append(f" — {why.hint}", style="dim")
    return text


def card_text(summary: BillingSummary | NotConnected, regions: Sequence[str] | None) -> Text:
    """The dashboard's card: past due, unpaid and ending soon among ``regions``' linked tenants
    (None: all)."""
    if isinstance(summary, NotConnected):
        return not_connected_text(summary)
    counts = summary.of(regions)
    if not counts.linked:
        return Text("No tenant is linked to Stripe yet (aptien-ops billing link).", style="dim")
    text = Text()
    parts = (
        (counts.past_due, "past due", "bold yellow"),
        (counts.unpaid, "unpaid", "bold red"),
        (counts.ending, f"ending within {summary.within_days} days, not renewing", "yellow"),
    )
    for n, (number, words, style) in enumerate(parts):
        if n:
            text.append(" · ")
        text.append(f"{number} {words}", style=style if number else "dim")
    text.append(f"\nof {plural(counts.linked, 'linked tenant')}")
    if counts.past_due or counts.unpaid:
        text.append(" (press 2, then b: non-payment)", style="dim")
    else:
        text.append(": every one paid up", style="green")
    return text


def section_text(section: BillingSection) -> Text:
    """A tenant's billing, as much of it as the service returned (the licence state only for
    an operator without the billing role): the licence on one line, then, in full, the Stripe
    ids and the latest invoice."""
    status = section.status
    text = Text("licence ", style="bold")
    text.append_text(licence_text(status.licence))
    end, b = status.period_end, status.billing
    if b is None:
        text.append(" · not linked to a Stripe customer", style="dim")
    elif end is not None:
        renews = not b.cancel_at_period_end
        text.append(f" · period ends {day(end)}")
        text.append(
            " · renews" if renews else " · does not renew", style="" if renews else "yellow"
        )
    if section.not_connected is not None:
        text.append(f" · billing {section.not_connected.message}", style="yellow")
    if status.full and b is not None:
        text.append_text(_kept(b))
    return text


def _kept(b: TenantBilling) -> Text:
    """Everything else the catalog keeps (the billing role and admins)."""
    text = Text("\ncustomer ")
    text.append_text(plain(b.customer_id))
    text.append(" · subscription ")
    text.append_text(plain(b.subscription_id or "—"))
    text.append("\ninvoice ")
    if b.invoice_number is None and b.invoice_status is None:
        text.append("none yet", style="dim")
    else:
        text.append_text(plain(b.invoice_number or "—"))
        text.append(f" · {format_amount(b.invoice_amount, b.invoice_currency) or '—'}")
        text.append(" · ")
        text.append_text(plain(b.invoice_status or "—"))
        if b.invoice_due is not None:
            text.append(f" · due {day(b.invoice_due)}")
    if b.updated_at is not None:
        text.append(f" · as of {day(b.updated_at)}", style="dim")
    return text
