"""Partners and tenants: assigning a partner as a tenant's contact person, ending that, and
giving an assigned partner the tenant's contact card.

One part of :class:`aptien_ops.services.partners.PartnerService`; partner-manager only. Each
change locks the partner's row before it reads the partner's agreements, as ending an
agreement does: an assignment racing an agreement being ended either sees it ended (and is
refused) or commits first (and then lapses with it), never assigns on a stale read.
"""

from __future__ import annotations

from dataclasses import replace

from aptien_ops.domain import validate_tenant_name
from aptien_ops.domain.partner_rules import Fault, fit_fault, lapse, partner_fault, tenant_fault
from aptien_ops.domain.partners import Assignment, PartnerKind, Share, validate_partner_name
from aptien_ops.errors import Conflict, NotFound
from aptien_ops.permissions import Action
from aptien_ops.ports import CatalogTx
from aptien_ops.services.context import existing_tenant
from aptien_ops.services.partner_changes import PartnerChanges, reason_for
from aptien_ops.services.partner_reads import assignment_row, existing_partner, parse_role
from aptien_ops.services.partner_results import AssignmentRow, ContactCard


def refused(partner: str, tenant: str, what: str, fault: Fault) -> Conflict:
    """Exit 5, naming the rule that failed."""
    return Conflict(
        f"{partner} may not {what} {tenant}: {fault.message} (rule: {fault.rule})",
        hint=f"aptien-ops partner show {partner}",
    )


class PartnerLinks(PartnerChanges):
    def assign(self, partner: str, tenant: str, role: str, reason: str) -> AssignmentRow:
        """Make ``partner`` the tenant's ``role`` (sales or expert) contact person. Refused
        (Conflict, exit 5, the rule named) unless the partner is eligible today, its kinds
        include ``role``, its coverage includes the tenant's country or region, and the tenant
        is active or suspended.

        Raises: InvalidInput, NotFound (partner, tenant), Forbidden, Conflict."""
        validate_partner_name(partner)
        validate_tenant_name(tenant)
        wanted = parse_role(role)
        why = reason_for(reason, "assigning a partner")
        me = self.ctx.identity.operator
        on = self.today()

        def write(tx: CatalogTx) -> AssignmentRow:
            found = existing_partner(tx, partner, for_update=True)
            client = existing_tenant(tx, tenant, for_update=True)
            fault = (
                tenant_fault(str(client.state))
                or partner_fault(found, tx.partners.agreements(partner), on, self.grace_days)
                or fit_fault(found.kinds, found.coverage, wanted, client.country, client.region)
            )
            if fault is not None:
                raise refused(partner, tenant, "be assigned to", fault)
            held = tx.partner_assignments.assignments(
                tenant=tenant, partner=partner, open_only=True
            )
            if any(a.role == wanted for a in held):
                raise Conflict(f"{partner} is assigned to {tenant} as {wanted} already")
            draft = Assignment(0, partner, tenant, wanted, why, me, self.ctx.now())
            return assignment_row(replace(draft, id=tx.partner_assignments.insert(draft)), None)

        params = {"partner": partner, "role": str(wanted), "reason": why}
        return self.ctx.mutate(Action.PARTNER_ASSIGN, tenant, params, write)

    def unassign(
        self, partner: str, tenant: str, reason: str, role: str | None = None
    ) -> list[AssignmentRow]:
        """End the partner's open assignments to the tenant (of ``role`` only, if given); the
        history keeps them. Raises: InvalidInput, NotFound (none open), Forbidden."""
        validate_partner_name(partner)
        validate_tenant_name(tenant)
        wanted: PartnerKind | None = parse_role(role) if role else None
        why = reason_for(reason, "ending an assignment")
        me = self.ctx.identity.operator

        def write(tx: CatalogTx) -> list[AssignmentRow]:
            existing_partner(tx, partner, for_update=True)
            existing_tenant(tx, tenant)
            held = [
                a
                for a in tx.partner_assignments.assignments(
                    tenant=tenant, partner=partner, open_only=True
                )
                if wanted is None or a.role == wanted
            ]
            if not held:
                raise NotFound(
                    f"{partner} is not assigned to {tenant}",
                    hint=f"aptien-ops partner assignments --tenant {tenant}",
                )
            now = self.ctx.now()
            for a in held:
                tx.partner_assignments.end(a.id, now, me, why)
            return [
                assignment_row(replace(a, ended_at=now, ended_by=me, end_reason=why), None)
                for a in held
            ]

        params = {"partner": partner, "role": str(wanted) if wanted else None, "reason": why}
        return self.ctx.mutate(Action.PARTNER_UNASSIGN, tenant, params, write)

    def share_contacts(self, tenant: str, partner: str, reason: str) -> ContactCard:
        """The tenant's contact card (company, representative's name, e-mail, phone; nothing
        else) for ``partner``, which must be assigned to the tenant and eligible now. The ops
        log and the share history record who, partner, tenant and reason, never the card.

        Raises: InvalidInput, NotFound, Forbidden, Conflict (not assigned, or lapsed: exit 5)."""
        validate_tenant_name(tenant)
        validate_partner_name(partner)
        why = reason_for(reason, "sharing a client's contacts")
        me = self.ctx.identity.operator
        on = self.today()

        def write(tx: CatalogTx) -> ContactCard:
            existing_partner(tx, partner, for_update=True)
            client = existing_tenant(tx, tenant)
            facts = tx.partner_assignments.facts(on, tenant=tenant, partner=partner)
            if not facts:
                fault = Fault("assigned", "it is not assigned to the tenant")
                raise refused(partner, tenant, "be given the contacts of", fault)
            faults = [lapse(f, on, self.grace_days) for f in facts]
            if all(f is not None for f in faults):
                fault = next(f for f in faults if f is not None)
                raise refused(partner, tenant, "be given the contacts of", fault)
            share = Share(0, partner, tenant, why, me, self.ctx.now())
            tx.partner_assignments.add_share(share)
            return ContactCard(
                client.company, client.contact_name, client.contact_email, client.contact_phone
            )

        params = {"partner": partner, "reason": why}
        return self.ctx.mutate(Action.PARTNER_SHARE, tenant, params, write)
