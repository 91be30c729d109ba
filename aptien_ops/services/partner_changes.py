"""Partners: changing the register (add, update, end; agreements; reviews).

One part of :class:`aptien_ops.services.partners.PartnerService`. Only the partner-manager
role may change the register (admins approve nothing here); each change is one audited
attempt. Every change that touches a partner's eligibility locks its row first, as an
assignment does, so the two never interleave (``partner_links``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from datetime import date

from aptien_ops.domain import validate_email
from aptien_ops.domain.free_text import (
    AGREEMENT_REFERENCE,
    CONTACT_NAME,
    LEGAL_NAME,
    REASON,
    REVIEW_NOTES,
)
from aptien_ops.domain.partner_input import (
    parse_coverage,
    parse_expertise,
    parse_kinds,
    parse_phone,
    parse_sha256,
)
from aptien_ops.domain.partner_rules import add_months
from aptien_ops.domain.partners import (
    Agreement,
    AgreementStatus,
    Partner,
    PartnerStatus,
    Review,
    ReviewOutcome,
    validate_partner_name,
)
from aptien_ops.domain.values import parse_choice
from aptien_ops.errors import Conflict, InvalidInput, NotFound
from aptien_ops.partner_files import document_digest
from aptien_ops.permissions import Action
from aptien_ops.ports import CatalogTx
from aptien_ops.services.partner_reads import PartnerReads, existing_partner


def partner_email(value: str | None) -> str | None:
    """A partner's contact e-mail address, or None for blank. Raises: InvalidInput."""
    if value is None or not value.strip():
        return None
    return validate_email(value.strip(), what="the partner's contact e-mail")


def reason_for(reason: str | None, what: str) -> str:
    return REASON.check(reason, missing=f"{what} needs a reason", hint='--reason "why"')


@dataclass(frozen=True)
class PartnerInput:
    """A partner as an operator (or a CSV row) gives it; :meth:`PartnerChanges.add` checks it."""

    name: str
    legal_name: str
    kinds: tuple[str, ...]
    """``sales`` and/or ``expert``."""
    coverage: tuple[str, ...]
    """ISO country codes (``DE``) and/or region names (``eu``)."""
    expertise: tuple[str, ...] = ()
    contact_name: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None


@dataclass(frozen=True)
class PartnerUpdate:
    """The fields to change (None: keep). ``status`` with a ``reason`` suspends, reactivates;
    ending is :meth:`PartnerChanges.end`."""

    legal_name: str | None = None
    kinds: tuple[str, ...] | None = None
    coverage: tuple[str, ...] | None = None
    expertise: tuple[str, ...] | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None
    status: str | None = None
    reason: str | None = None


class PartnerChanges(PartnerReads):
    # -- validation, before anything is touched ----------------------------------------------

    def checked(self, given: PartnerInput, *, by: str, review_due: date) -> Partner:
        """The partner record ``given`` describes. Raises: InvalidInput."""
        validate_partner_name(given.name)
        now = self.ctx.now()
        return Partner(
            given.name,
            LEGAL_NAME.check(given.legal_name),
            parse_kinds(given.kinds),
            parse_expertise(given.expertise),
            parse_coverage(given.coverage, self.ctx.settings.regions),
            CONTACT_NAME.optional(given.contact_name),
            partner_email(given.contact_email),
            parse_phone(given.contact_phone),
            PartnerStatus.ACTIVE,
            None,
            review_due,
            now,
            by,
            now,
            by,
        )

    def first_review_due(self) -> date:
        return add_months(self.today(), self.ctx.settings.partners.review_interval_months)

    def update_fields(self, change: PartnerUpdate) -> dict[str, object]:
        """The record fields ``change`` sets, checked. Raises: InvalidInput."""
        fields: dict[str, object] = {}
        if change.legal_name is not None:
            fields["legal_name"] = LEGAL_NAME.check(change.legal_name)
        if change.kinds is not None:
            fields["kinds"] = parse_kinds(change.kinds)
        if change.coverage is not None:
            fields["coverage"] = parse_coverage(change.coverage, self.ctx.settings.regions)
        if change.expertise is not None:
            fields["expertise"] = parse_expertise(change.expertise)
        if change.contact_name is not None:
            fields["contact_name"] = CONTACT_NAME.optional(change.contact_name)
        if change.contact_email is not None:
            fields["contact_email"] = partner_email(change.contact_email)
        if change.contact_phone is not None:
            fields["contact_phone"] = parse_phone(change.contact_phone)
        if change.status is not None:
            status = parse_choice(PartnerStatus, change.status, "partner status")
            if status == PartnerStatus.ENDED:
                raise InvalidInput("ending a partner is its own command", hint="partner end")
            fields["status"] = status
            fields["status_reason"] = (
                reason_for(change.reason, "suspending a partner")
                if status == PartnerStatus.SUSPENDED
                else REASON.optional(change.reason)
            )
        if not fields:
            raise InvalidInput("nothing to change", hint="give at least one field to update")
        return fields

    # -- the register ------------------------------------------------------------------------

    def add(self, given: PartnerInput) -> Partner:
        """Register a partner (active; its first review due one interval from today). It is
        eligible once an agreement is in force. Raises: InvalidInput, Forbidden, Conflict
        (the name is taken)."""
        me = self.ctx.identity.operator
        partner = self.checked(given, by=me, review_due=self.first_review_due())

        def write(tx: CatalogTx) -> Partner:
            tx.partners.insert(partner)
            return partner

        return self.ctx.mutate(Action.PARTNER_ADD, partner.name, {}, write)

    def update(self, name: str, change: PartnerUpdate) -> Partner:
        """Change fields of a partner; a coverage or kind that no longer fits a tenant makes
        its assignments lapse. Raises: InvalidInput, NotFound, Forbidden, Conflict."""
        validate_partner_name(name)
        fields = self.update_fields(change)
        me = self.ctx.identity.operator
        params = {k: v for k, v in vars(change).items() if v is not None and k in _LOGGED}

        def write(tx: CatalogTx) -> Partner:
            current = existing_partner(tx, name, for_update=True)
            if current.status == PartnerStatus.ENDED:
                raise Conflict(f"partner {name} has ended", hint="an ended partner stays ended")
            updated = replace(current, updated_at=self.ctx.now(), updated_by=me)
            updated = replace(updated, **fields)  # type: ignore[arg-type]
            tx.partners.update(updated)
            return updated

        return self.ctx.mutate(Action.PARTNER_UPDATE, name, params, write)

    def end(self, name: str, reason: str) -> Partner:
        """End the partnership: off the official list, its open assignments ended (history
        kept). Raises: InvalidInput, NotFound, Forbidden, Conflict (ended already)."""
        validate_partner_name(name)
        why = reason_for(reason, "ending a partner")
        me = self.ctx.identity.operator

        def write(tx: CatalogTx) -> Partner:
            current = existing_partner(tx, name, for_update=True)
            if current.status == PartnerStatus.ENDED:
                raise Conflict(f"partner {name} has ended already")
            now = self.ctx.now()
            ended = replace(
                current,
                status=PartnerStatus.ENDED,
                status_reason=why,
                updated_at=now,
                updated_by=me,
            )
            tx.partners.update(ended)
            for a in tx.partner_assignments.assignments(partner=name, open_only=True):
                tx.partner_assignments.end(a.id, now, me, f"partner ended: {why}")
            return ended

        return self.ctx.mutate(Action.PARTNER_END, name, {"reason": why}, write)

    # -- agreements and reviews ------------------------------------------------------------------

    def agreement_add(
        self,
        partner: str,
        reference: str,
        *,
        signed_on: date,
        effective_from: date,
        expires_on: date | None = None,
        document: str | os.PathLike[str] | None = None,
        document_sha256: str | None = None,
    ) -> Agreement:
        """Record a signed agreement; in force from ``effective_from`` to ``expires_on``, both
        inclusive (UTC days). ``document`` is the signed file, hashed (never stored) only once
        the operator is authorised; or give its ``document_sha256``.

        Raises: InvalidInput (the document cannot be read: a ``failed`` entry), NotFound,
        Forbidden (before the document is opened), Conflict."""
        validate_partner_name(partner)
        ref = AGREEMENT_REFERENCE.check(reference)
        digest = parse_sha256(document_sha256)
        if document is not None and digest is not None:
            raise InvalidInput("give the document or its SHA-256, not both")
        if expires_on is not None and expires_on < effective_from:
            raise InvalidInput("the agreement expires before it takes effect")
        if effective_from < signed_on:
            raise InvalidInput("the agreement takes effect before it was signed")
        me = self.ctx.identity.operator
        params = {
            "reference": ref,
            "effective_from": effective_from.isoformat(),
            "expires_on": expires_on.isoformat() if expires_on else None,
        }

        def write(tx: CatalogTx, digest: str | None) -> Agreement:
            current = existing_partner(tx, partner, for_update=True)
            if current.status == PartnerStatus.ENDED:
                raise Conflict(f"partner {partner} has ended")
            draft = Agreement(
                0,
                partner,
                ref,
                signed_on,
                effective_from,
                expires_on,
                digest,
                AgreementStatus.ACTIVE,
                self.ctx.now(),
                me,
            )
            return replace(draft, id=tx.partners.add_agreement(draft))

        with self.ctx.audited(Action.PARTNER_AGREEMENT, partner, params) as attempt:
            # Authorised: only now is the operator's file opened (however large or missing).
            if document is not None:
                digest = document_digest(document)
            with attempt.transaction() as tx:
                added = write(tx, digest)
                attempt.ok(document_sha256=digest)
            return added
        raise AssertionError("unreachable: the attempt returns or raises")

    def agreement_end(self, partner: str, reference: str, reason: str) -> Agreement:
        """End an agreement now; the partner's assignments lapse unless another is in force.
        Locks the partner's row first, as an assignment does. Raises: InvalidInput, NotFound,
        Forbidden, Conflict (ended already)."""
        validate_partner_name(partner)
        ref = AGREEMENT_REFERENCE.check(reference)
        why = reason_for(reason, "ending an agreement")
        me = self.ctx.identity.operator

        def write(tx: CatalogTx) -> Agreement:
            existing_partner(tx, partner, for_update=True)
            found = [a for a in tx.partners.agreements(partner) if a.reference == ref]
            if not found:
                raise NotFound(
                    f"partner {partner} has no agreement {ref!r}",
                    hint=f"aptien-ops partner show {partner}",
                )
            agreement = found[0]
            if agreement.status == AgreementStatus.ENDED:
                raise Conflict(f"agreement {ref!r} of {partner} has ended already")
            now = self.ctx.now()
            tx.partners.end_agreement(agreement.id, now, me, why)
            return replace(
                agreement, status=AgreementStatus.ENDED, ended_at=now, ended_by=me, end_reason=why
            )

        params = {"reference": ref, "end": True, "reason": why}
        return self.ctx.mutate(Action.PARTNER_AGREEMENT, partner, params, write)

    def review(
        self,
        partner: str,
        outcome: str,
        *,
        notes: str | None = None,
        reviewed_on: date | None = None,
        next_due: date | None = None,
    ) -> Review:
        """Record a review; the next is due ``next_due`` (default: one review interval after
        ``reviewed_on``, itself today by default). A ``fail`` suspends the partner.

        Raises: InvalidInput, NotFound, Forbidden, Conflict (the partner has ended)."""
        validate_partner_name(partner)
        result = parse_choice(ReviewOutcome, outcome, "review outcome")
        text = REVIEW_NOTES.optional(notes)
        on = reviewed_on or self.today()
        if on > self.today():
            raise InvalidInput("a review cannot be dated in the future")
        due = next_due or add_months(on, self.ctx.settings.partners.review_interval_months)
        if due <= on:
            raise InvalidInput("the next review must be due after this one")
        me = self.ctx.identity.operator

        def write(tx: CatalogTx) -> Review:
            current = existing_partner(tx, partner, for_update=True)
            if current.status == PartnerStatus.ENDED:
                raise Conflict(f"partner {partner} has ended")
            now = self.ctx.now()
            draft = Review(0, partner, on, result, text, due, me, now)
            review = replace(draft, id=tx.partners.add_review(draft))
            updated = replace(current, review_due=due, updated_at=now, updated_by=me)
            if result == ReviewOutcome.FAIL:
                updated = replace(
                    updated,
                    status=PartnerStatus.SUSPENDED,
                    status_reason=f"review failed on {on.isoformat()}",
                )
            tx.partners.update(updated)
            return review

        params = {
            "outcome": str(result),
            "reviewed_on": on.isoformat(),
            "next_due": due.isoformat(),
        }
        return self.ctx.mutate(Action.PARTNER_REVIEW, partner, params, write)


#: Fields of an update the ops log records (never contact details: who the partner's
#: contact person is stays in the register).
_LOGGED = frozenset({"legal_name", "kinds", "coverage", "expertise", "status", "reason"})
