"""``billing`` commands: ``link``, ``unlink`` and ``status``. Syncing with Stripe and its
webhooks hang on the same group from their own modules."""

from __future__ import annotations

from typing import Any

import click

from aptien_ops.cli.output import emit_json_text, table
from aptien_ops.cli.state import CliState, pass_state
from aptien_ops.domain import validate_tenant_name
from aptien_ops.domain.billing_notices import format_amount
from aptien_ops.errors import InvalidInput
from aptien_ops.wording import plural

STATES = (
    "active, trialing, past_due, unpaid, canceled, incomplete, incomplete_expired, paused,"
    " none; or a group: good, non-payment (past_due, unpaid), expired (canceled,"
    " incomplete_expired, paused), pending"
)
STATE_COLUMNS = ("tenant", "licence", "group", "period_end", "renews")
FULL_COLUMNS = (*STATE_COLUMNS, "customer", "invoice", "amount", "invoice_status", "due")


@click.group()
def billing() -> None:
    """Billing through Stripe: which Stripe customer pays for a tenant, and its licence and
    payment status. The catalog keeps the Stripe ids, the subscription's status and period,
    and the latest invoice's number, amount, status and due date; never a card or an address
    (docs/billing.md). The billing role links and sees everything kept; every other role sees
    the licence state only.

    \b
    Examples:
      aptien-ops billing link acme-gmbh --customer cus_PbQ2x7LkW1
      aptien-ops billing status --state non-payment
      aptien-ops billing status acme-gmbh --json
      aptien-ops billing unlink acme-gmbh --yes
    """


@billing.command("link")
@click.argument("tenant")
@click.option(
    "--customer",
    "customer_id",
    default=None,
    metavar="cus_…",
    help="The Stripe customer that pays for TENANT (from the Stripe dashboard).",
)
@click.option(
    "--create",
    is_flag=True,
    help="Create the customer in Stripe instead: the tenant's company (else its name), its"
    " representative's e-mail, and metadata tenant=TENANT.",
)
@pass_state
def billing_link(state: CliState, tenant: str, customer_id: str | None, create: bool) -> None:
    """Link TENANT to its Stripe customer (--customer), once Stripe says the customer exists,
    or to one created for it (--create). A customer pays for one tenant (linked to another:
    exit 5); billing not connected: exit 6."""
    if (customer_id is None) != create:
        raise InvalidInput(
            "give --customer cus_… or --create (one of the two)",
            hint="aptien-ops billing link --help",
        )
    service = state.console().billing
    link = service.link_new(tenant) if create else service.link(tenant, customer_id or "")
    made = " (created in Stripe)" if create else ""
    state.out(link.as_json(), f"linked {tenant} to {link.customer_id}{made}")


@billing.command("unlink")
@click.argument("tenant")
@pass_state
def billing_unlink(state: CliState, tenant: str) -> None:
    """Forget TENANT's link to Stripe and the billing facts kept of it (Stripe keeps the
    customer). Asks first, unless --yes."""
    validate_tenant_name(tenant)  # before the question quotes it
    state.confirm(f"unlink tenant {tenant} from its Stripe customer? Its billing status is lost")
    link = state.console().billing.unlink(tenant)
    state.out(link.as_json(), f"unlinked {tenant} from {link.customer_id}")


@billing.command("status")
@click.argument("tenant", required=False)
@click.option("--state", "licence", metavar="STATE", help=f"Only this licence state: {STATES}.")
@pass_state
def billing_status(state: CliState, tenant: str | None, licence: str | None) -> None:
    """Every live tenant's licence (or TENANT's), by name: state, group, period end and
    whether it renews; for the billing role and admins also the Stripe customer and the
    latest invoice. A tenant not linked to Stripe has licence none. With --json, always an
    array."""
    service = state.console().billing
    if state.json:
        emit_json_text(service.status_json(tenant, licence))
        return
    found = service.status(tenant, licence)
    rows = [_row(r) for r in found.as_json()]
    columns = FULL_COLUMNS if found.full else STATE_COLUMNS
    state.out(rows, table(rows, columns) + f"\n{plural(len(rows), 'tenant')}")


def _row(data: dict[str, Any]) -> dict[str, Any]:
    """A status as the table's cells: the period end's date, the invoice flattened."""
    row = dict(data)
    end = data["period_end"]
    row["period_end"] = end[:10] if end else None
    row["renews"] = None if end is None else ("no" if data["cancel_at_period_end"] else "yes")
    invoice = data.get("invoice")
    if isinstance(invoice, dict):
        row["invoice"] = invoice["number"]
        row["amount"] = format_amount(invoice["amount"], invoice["currency"])
        row["invoice_status"] = invoice["status"]
        row["due"] = invoice["due"][:10] if invoice["due"] else None
    return row
