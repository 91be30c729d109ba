"""A tenant's partners, from its screen: assign one, end an assignment, share the contact card.

Offered to the partner manager only (the permission matrix decides; anyone else pressing the
key is told why, as everywhere). Each dialog lists what the service says about every partner
for this tenant: eligible ones first, the others greyed with the rule they fail.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.binding import Binding

from aptien_ops.domain.partner_rules import tenant_fault
from aptien_ops.permissions import Action
from aptien_ops.screens.base import OpsScreen
from aptien_ops.screens.formatting import day
from aptien_ops.screens.partner_modals import (
    AssignPartnerDialog,
    CardLines,
    Choice,
    ShareContactsDialog,
    UnassignPartnerDialog,
)
from aptien_ops.services.partner_results import AssignmentRow, Candidate, ContactCard
from aptien_ops.terminal_text import shown

if TYPE_CHECKING:
    from aptien_ops.domain import Tenant

#: The tenant actions that concern partners, by the permission each needs.
PARTNER_PERMISSIONS = {
    "assign_partner": Action.PARTNER_ASSIGN,
    "unassign_partner": Action.PARTNER_UNASSIGN,
    "share_contacts": Action.PARTNER_SHARE,
}


def _choice(c: Candidate) -> Choice:
    return Choice(c.name, c.legal_name, None if c.eligible else c.reason)


def _assigned_words(row: AssignmentRow) -> str:
    a = row.assignment
    return f"{a.partner} assigned to {a.tenant} as {a.role}"


def _ended_words(rows: list[AssignmentRow]) -> str:
    roles = " and ".join(str(r.assignment.role) for r in rows)
    a = rows[0].assignment
    return f"{a.partner} no longer assigned to {a.tenant} (was {roles}); kept in its history"


def assigned_text(rows: list[AssignmentRow]) -> Text:
    """``\npartners nordic-sales (sales) · meridian-advisory (expert, lapsed)``: a tenant's
    open assignments for its Overview; a lapsed one in red."""
    text = Text("\npartners ")
    for n, row in enumerate(rows):
        if n:
            text.append(" · ")
        a = row.assignment
        text.append(shown(a.partner), style="bold")
        if row.lapsed:
            text.append(f" ({a.role}, lapsed)", style="bold red")
        else:
            text.append(f" ({a.role})")
    return text


def card_lines(partner: str, card: ContactCard) -> CardLines:
    return CardLines(
        partner,
        (
            ("company", card.company),
            ("representative", card.name),
            ("e-mail", card.email),
            ("phone", card.phone),
        ),
    )


class TenantPartnerActions(OpsScreen):
    """The partner actions of a tenant's screen (mixed into ``TenantDetailScreen``)."""

    BINDINGS = [
        Binding("n", "assign_partner", "Assign partner", tooltip="assign a partner (asks why)"),
        Binding("x", "unassign_partner", "Unassign", tooltip="end a partner's assignment"),
        Binding(
            "t",
            "share_contacts",
            "Share contacts",
            tooltip="give an assigned partner the contact card (logged; shown once)",
        ),
    ]
    tenant_name: str

    def current_tenant(self) -> Tenant | None:
        """The tenant as last loaded (None while loading)."""
        raise NotImplementedError

    def partner_refusal(self, action: str) -> str | None:
        """Why ``action`` (one of :data:`PARTNER_PERMISSIONS`) is not offered for this tenant:
        the state of a tenant that is loaded, or still loading."""
        if action not in PARTNER_PERMISSIONS:
            return None
        tenant = self.current_tenant()
        if tenant is None:
            return f"{self.tenant_name} is still loading: try again in a moment"
        if action == "assign_partner":
            fault = tenant_fault(str(tenant.state))
            if fault is not None:
                return f"{tenant.name}: {fault.message}"
        return None

    def _assigned(self, *, eligible_only: bool) -> list[Choice]:
        """Runs in a worker thread: the partners assigned to the tenant (in either role);
        ``eligible_only``: those whose every assignment has lapsed are greyed, with why."""
        rows: dict[str, list[AssignmentRow]] = {}
        for row in self.console.partners.assignments(tenant=self.tenant_name):
            rows.setdefault(row.assignment.partner, []).append(row)
        choices = []
        for partner, held in rows.items():
            since = min(day(r.assignment.assigned_at) for r in held)
            label = f"as {' and '.join(str(r.assignment.role) for r in held)} since {since}"
            lapsed = [r for r in held if r.lapsed]
            why = None
            if eligible_only and len(lapsed) == len(held):
                why = f"lapsed: {lapsed[0].lapse_reason}"
            choices.append(Choice(partner, label, why))
        return choices

    def action_assign_partner(self) -> None:
        name = self.tenant_name
        tenant = self.current_tenant()
        where = f" ({tenant.country} · {tenant.region})" if tenant else ""
        partners = self.console.partners

        def candidates(kind: str) -> list[Choice]:
            return [
                Choice(c.name, _choice(c).label, "assigned already" if c.assigned else c.reason)
                if c.assigned or not c.eligible
                else _choice(c)
                for c in partners.candidates(name, kind)
            ]

        self.app.push_screen(
            AssignPartnerDialog(
                name,
                f"Assign a partner to {name}{where} as its contact person.",
                candidates,
                lambda partner, kind, reason: partners.assign(partner, name, kind, reason),
                _assigned_words,
            ),
            self._partners_changed,
        )

    def action_unassign_partner(self) -> None:
        name = self.tenant_name
        partners = self.console.partners
        self.app.push_screen(
            UnassignPartnerDialog(
                name,
                f"End a partner's assignment to {name}? It stays in the history.",
                lambda: self._assigned(eligible_only=False),
                lambda partner, reason: partners.unassign(partner, name, reason),
                _ended_words,
            ),
            self._partners_changed,
        )

    def action_share_contacts(self) -> None:
        name = self.tenant_name
        partners = self.console.partners
        self.app.push_screen(
            ShareContactsDialog(
                name,
                f"Give a partner assigned to {name} its representative's contact card?"
                " The share is logged (never the card); the card is shown here once.",
                lambda: self._assigned(eligible_only=True),
                lambda partner, reason: card_lines(
                    partner, partners.share_contacts(name, partner, reason)
                ),
            ),
            self._partners_changed,
        )

    def _partners_changed(self, changed: bool | None) -> None:
        if changed:
            self.refresh_data()
