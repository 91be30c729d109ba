"""``partner assign``, ``unassign``, ``assignments``, ``share-contacts`` and ``shares``."""

from __future__ import annotations

import click

from aptien_ops.cli.output import fields, table
from aptien_ops.cli.params import TextLimit
from aptien_ops.cli.partners import partner
from aptien_ops.cli.state import CliState, pass_state
from aptien_ops.domain.free_text import REASON
from aptien_ops.wording import plural

ASSIGNMENT_COLUMNS = ("id", "tenant", "partner", "role", "state", "assigned_at", "assigned_by")


@partner.command("assign")
@click.argument("name")
@click.argument("tenant")
@click.option("--as", "role", required=True, help="sales or expert.")
@click.option("--reason", required=True, callback=TextLimit(REASON), help=f"Why, {REASON.help}.")
@pass_state
def partner_assign(state: CliState, name: str, tenant: str, role: str, reason: str) -> None:
    """Make partner NAME the TENANT's sales or expert contact person. Refused with exit 5,
    naming the rule, unless the partner is eligible today (UTC), its kind matches, its
    coverage includes the tenant's country or region, and the tenant is active or suspended."""
    row = state.console().partners.assign(name, tenant, role, reason)
    state.out(row.as_json(), f"assigned {name} to {tenant} as {row.assignment.role}")


@partner.command("unassign")
@click.argument("name")
@click.argument("tenant")
@click.option("--as", "role", help="Only this role (sales or expert).")
@click.option("--reason", required=True, callback=TextLimit(REASON), help=f"Why, {REASON.help}.")
@pass_state
def partner_unassign(
    state: CliState, name: str, tenant: str, role: str | None, reason: str
) -> None:
    """End partner NAME's assignment to TENANT (the history keeps it)."""
    rows = state.console().partners.unassign(name, tenant, reason, role=role)
    state.out([r.as_json() for r in rows], f"ended {plural(len(rows), 'assignment')}")


@partner.command("assignments")
@click.option("--tenant", help="Only this tenant's.")
@click.option("--partner", "name", help="Only this partner's.")
@click.option("--all", "include_ended", is_flag=True, help="Ended ones too (the history).")
@pass_state
def partner_assignments(
    state: CliState, tenant: str | None, name: str | None, include_ended: bool
) -> None:
    """Assignments, oldest first, each active, lapsed (with why) or ended."""
    rows = state.console().partners.assignments(
        tenant=tenant, partner=name, include_ended=include_ended
    )
    data = [r.as_json() for r in rows]
    columns = (*ASSIGNMENT_COLUMNS, "lapse_reason")
    state.out(data, table(data, columns) + f"\n{plural(len(rows), 'assignment')}")


@partner.command("share-contacts")
@click.argument("tenant")
@click.option("--partner", "name", required=True, help="The assigned partner to give it to.")
@click.option("--reason", required=True, callback=TextLimit(REASON), help=f"Why, {REASON.help}.")
@pass_state
def partner_share_contacts(state: CliState, tenant: str, name: str, reason: str) -> None:
    """TENANT's contact card (company, representative's name, e-mail, phone; nothing else)
    for partner NAME, which must be assigned to it and eligible now (else exit 5). The ops
    log records who, partner, tenant and reason, never the card."""
    card = state.console().partners.share_contacts(tenant, name, reason)
    data = card.as_json()
    state.out(data, fields(data))


@partner.command("shares")
@click.argument("tenant", required=False)
@click.option("--partner", "name", help="Only shares with this partner.")
@pass_state
def partner_shares(state: CliState, tenant: str | None, name: str | None) -> None:
    """Contact cards shared (of TENANT, or with a partner): who, when, why; newest first."""
    rows = state.console().partners.shares(tenant=tenant, partner=name)
    data = [r.as_json() for r in rows]
    columns = ("shared_at", "tenant", "partner", "shared_by", "reason")
    state.out(data, table(data, columns) + f"\n{plural(len(rows), 'share')}")
