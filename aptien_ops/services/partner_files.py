"""Partners: publishing the official list and importing the register from a CSV file.

One part of :class:`aptien_ops.services.partners.PartnerService`, partner-manager only.
``publish`` writes the partners eligible today (name, kinds, coverage), everything escaped.
``import_csv`` reads the whole register from a file: partners not yet known are added, known
ones changed, those missing from the file ended. It prints the diff first (``dry_run``
changes nothing) and applies it in one transaction, or refuses the file naming line and
column.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import NamedTuple, TypeVar, cast

from aptien_ops.domain.free_text import CONTACT_NAME, LEGAL_NAME
from aptien_ops.domain.partner_input import (
    parse_coverage,
    parse_date,
    parse_expertise,
    parse_kinds,
    parse_phone,
)
from aptien_ops.domain.partner_rules import partner_fault
from aptien_ops.domain.partners import (
    Agreement,
    AgreementStatus,
    Coverage,
    Partner,
    PartnerKind,
    PartnerStatus,
    validate_partner_name,
)
from aptien_ops.domain.values import plain_email
from aptien_ops.errors import InvalidInput
from aptien_ops.partner_files import (
    BadLine,
    ImportRow,
    PublicEntry,
    check_publish,
    read_import,
    render_public,
    write_whole,
)
from aptien_ops.permissions import Action
from aptien_ops.ports import CatalogTx
from aptien_ops.services.partner_links import PartnerLinks
from aptien_ops.services.partner_results import ImportDiff

T = TypeVar("T")

#: The columns whose cells repeat across a file (memoised by :meth:`PartnerFiles._parse`).
_REPEATED = ("kinds", "expertise", "coverage", "contact_phone", "dates")
_DATES = ("signed_on", "effective_from", "expires_on")

#: Compared to tell a changed partner from an unchanged one.
_COMPARED = (
    "legal_name",
    "kinds",
    "expertise",
    "coverage",
    "contact_name",
    "contact_email",
    "contact_phone",
)


@dataclass(frozen=True)
class Published:
    """What ``partner publish`` wrote."""

    path: str
    format: str
    partners: int
    sha256: str

    def as_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "format": self.format,
            "partners": self.partners,
            "sha256": self.sha256,
        }


class _Parsed(NamedTuple):
    partner: Partner
    agreement: Agreement | None
    line: int


class PartnerFiles(PartnerLinks):
    def publish(self, fmt: str, output: str | os.PathLike[str]) -> Published:
        """Write the official list: the partners eligible today (UTC), by legal name.
        Raises: InvalidInput, Forbidden, Unavailable (the file cannot be written)."""
        target = Path(output).expanduser().absolute()
        on = self.today()
        params = {"format": fmt[:20]}
        with self.ctx.audited(Action.PARTNER_PUBLISH, str(target)[:200], params) as attempt:
            # Authorised: only now are the format and the output's directory looked at.
            check_publish(fmt, target)
            snap = self._snapshot()
            entries = [
                PublicEntry(
                    p.name,
                    p.legal_name,
                    tuple(k for k in PartnerKind if k in p.kinds),
                    tuple(sorted(p.coverage.countries)),
                    tuple(sorted(p.coverage.regions)),
                )
                for p in snap.partners
                if partner_fault(p, snap.agreements.get(p.name, []), on, self.grace_days) is None
            ]
            entries.sort(key=lambda e: (e.legal_name.casefold(), e.name))
            digest = write_whole(target, render_public(entries, fmt, on.isoformat()))
            attempt.ok(partners=len(entries), sha256=digest)
            return Published(str(target), fmt, len(entries), digest)
        raise AssertionError("unreachable: the attempt returns or raises")

    # -- import --------------------------------------------------------------------------------

    def import_csv(self, path: str | os.PathLike[str], *, dry_run: bool = False) -> ImportDiff:
        """Load the register from ``path`` (header: ``partner_files.IMPORT_COLUMNS``): add the
        partners not yet known, change the known ones, end those missing from the file; all in
        one transaction, or nothing. With ``dry_run`` only the diff is computed.

        Raises: InvalidInput (naming line and column), Forbidden, Conflict."""
        with _cycle_collector_paused():
            return self._import(path, dry_run)

    def _import(self, path: str | os.PathLike[str], dry_run: bool) -> ImportDiff:
        name = Path(path).name[:80]
        # Authorise before the file is read: someone without the role is refused (4, logged)
        # whatever the file holds, not told what is wrong with it.
        self.ctx.view(Action.PARTNER_IMPORT, name, lambda tx: None)
        rows, digest = read_import(path)
        me = self.ctx.identity.operator
        parsed = self._parse(rows, me)
        if dry_run:
            return self.ctx.view(
                Action.PARTNER_IMPORT, name, lambda tx: self._diff(tx, parsed, me, apply=False)
            )
        params = {"sha256": digest, "rows": len(parsed)}
        with self.ctx.audited(Action.PARTNER_IMPORT, name, params) as attempt:
            with attempt.transaction() as tx:
                diff = self._diff(tx, parsed, me, apply=True)
                attempt.ok(added=len(diff.added), changed=len(diff.changed), ended=len(diff.ended))
            return diff
        raise AssertionError("unreachable: the attempt returns or raises")

    def _parse(self, rows: list[ImportRow], me: str) -> list[_Parsed]:
        seen: dict[str, int] = {}
        out = []
        due = self.first_review_due()
        now = self.ctx.now()
        regions = self.ctx.settings.regions
        #: Cells of these columns repeat from row to row: each distinct one is parsed once
        #: (a bad one still fails on the first line holding it).
        memo: dict[str, dict[str, object]] = {c: {} for c in _REPEATED}

        def cell(row: ImportRow, column: str, parse: Callable[[str], T]) -> T:
            try:
                return parse(row.cells[column])
            except InvalidInput as bad:
                raise BadLine(row.line, bad.message, column, bad.hint) from None

        def repeated(row: ImportRow, column: str, parse: Callable[[str], T]) -> T:
            known = memo[column]
            text = row.cells[column]
            if text in known:
                return cast(T, known[text])
            value = known[text] = cell(row, column, parse)
            return value

        def kinds(v: str) -> frozenset[PartnerKind]:
            return parse_kinds(_split(v))

        def expertise(v: str) -> tuple[str, ...]:
            return parse_expertise(_split(v))

        def coverage(v: str) -> Coverage:
            return parse_coverage(_split(v), regions)

        def email(v: str) -> str | None:
            return v if plain_email(v) else self._email(v)

        def new(
            name: str,
            legal_name: str,
            kinds: frozenset[PartnerKind],
            expertise: tuple[str, ...],
            coverage: Coverage,
            contact_name: str | None,
            contact_email: str | None,
            contact_phone: str | None,
        ) -> Partner:
            """An active partner added by this import, from its checked cells."""
            return Partner(
                name,
                legal_name,
                kinds,
                expertise,
                coverage,
                contact_name,
                contact_email,
                contact_phone,
                PartnerStatus.ACTIVE,
                None,
                due,
                now,
                me,
                now,
                me,
            )

        def checked(row: ImportRow) -> Partner:
            """The row's partner, each cell checked in the columns' order; the first refused
            names its line and column."""
            name = cell(row, "name", validate_partner_name)
            if name in seen:
                raise BadLine(row.line, f"partner {name!r} is on line {seen[name]} already", "name")
            return new(
                name,
                cell(row, "legal_name", LEGAL_NAME.check),
                repeated(row, "kinds", kinds),
                repeated(row, "expertise", expertise),
                repeated(row, "coverage", coverage),
                cell(row, "contact_name", CONTACT_NAME.optional),
                cell(row, "contact_email", email),
                repeated(row, "contact_phone", parse_phone),
            )

        known_kinds, known_expertise = memo["kinds"], memo["expertise"]
        known_coverage, known_phones = memo["coverage"], memo["contact_phone"]
        for row in rows:
            c = row.cells
            try:
                # The common case, the same checks without naming the cell: a repeated cell
                # seen already on an earlier line, every other cell accepted. Anything else
                # goes through ``checked``, which says where.
                partner = new(
                    validate_partner_name(c["name"]),
                    LEGAL_NAME.check(c["legal_name"]),
                    cast(frozenset[PartnerKind], known_kinds[c["kinds"]]),
                    cast(tuple[str, ...], known_expertise[c["expertise"]]),
                    cast(Coverage, known_coverage[c["coverage"]]),
                    CONTACT_NAME.optional(c["contact_name"]),
                    email(c["contact_email"]),
                    cast("str | None", known_phones[c["contact_phone"]]),
                )
            except (KeyError, InvalidInput):
                partner = checked(row)
            if partner.name in seen:
                first = seen[partner.name]
                raise BadLine(
                    row.line, f"partner {partner.name!r} is on line {first} already", "name"
                )
            seen[partner.name] = row.line
            out.append(_Parsed(partner, self._agreement(row, me, now, memo["dates"]), row.line))
        return out

    def _agreement(
        self, row: ImportRow, me: str, now: datetime, dates: dict[str, object]
    ) -> Agreement | None:
        cells = row.cells
        reference = cells["agreement_reference"]
        if reference and len(reference) <= 80:
            # The common case: every date seen already on an earlier line, and in order.
            signed_on, effective_from = cells["signed_on"], cells["effective_from"]
            expires_on = cells["expires_on"]
            known = signed_on in dates and effective_from in dates
            if known and (not expires_on or expires_on in dates):
                first = cast(date, dates[effective_from])
                last = cast(date, dates[expires_on]) if expires_on else None
                if last is None or first <= last:
                    return Agreement(
                        0,
                        cells["name"],
                        reference,
                        cast(date, dates[signed_on]),
                        first,
                        last,
                        None,
                        AgreementStatus.ACTIVE,
                        now,
                        me,
                    )
        if not reference:
            dated = [c for c in _DATES if cells[c]]
            if dated:
                raise BadLine(row.line, "a date without an agreement reference", dated[0])
            return None
        days: list[date | None] = []
        for column in _DATES:
            text = cells[column]
            if not text:
                if column != "expires_on":
                    raise BadLine(row.line, "the agreement needs this date", column)
                days.append(None)
            elif text in dates:
                days.append(cast(date, dates[text]))
            else:
                try:
                    day = dates[text] = parse_date(text, "the date")
                except InvalidInput as bad:
                    raise BadLine(row.line, bad.message, column, bad.hint) from None
                days.append(day)
        signed, start, end = days
        assert signed is not None and start is not None
        if end is not None and end < start:
            raise BadLine(row.line, "the agreement expires before it takes effect", "expires_on")
        if len(reference) > 80:
            raise BadLine(row.line, "at most 80 characters", "agreement_reference")
        return Agreement(
            0, cells["name"], reference, signed, start, end, None, AgreementStatus.ACTIVE, now, me
        )

    def _diff(self, tx: CatalogTx, parsed: list[_Parsed], me: str, *, apply: bool) -> ImportDiff:
        known = {p.name: p for p in tx.partners.all()}
        references = {(a.partner, a.reference) for a in tx.partners.agreements()}
        added: list[Partner] = []
        changed: list[Partner] = []
        agreements: list[Agreement] = []
        unchanged = 0
        for item in parsed:
            p, current = item.partner, known.get(item.partner.name)
            new_agreement = item.agreement is not None and (
                (p.name, item.agreement.reference) not in references
            )
            if current is None:
                added.append(p)
            elif current.status == PartnerStatus.ENDED:
                raise BadLine(item.line, f"partner {p.name} has ended; it stays ended", "name")
            elif any(getattr(current, f) != getattr(p, f) for f in _COMPARED):
                changed.append(
                    replace(
                        p,
                        status=current.status,
                        status_reason=current.status_reason,
                        review_due=current.review_due,
                        created_at=current.created_at,
                        created_by=current.created_by,
                    )
                )
            elif new_agreement:
                changed.append(current)
            else:
                unchanged += 1
            if new_agreement and item.agreement is not None:
                agreements.append(item.agreement)
        listed = {item.partner.name for item in parsed}
        ended = [
            p for name, p in known.items() if name not in listed and p.status != PartnerStatus.ENDED
        ]
        if apply:
            now = self.ctx.now()
            tx.partners.insert_many(added)
            for p in changed:
                tx.partners.update(p)
            tx.partners.add_agreements(agreements)
            for p in ended:
                why = "not in the imported register"
                tx.partners.update(
                    replace(
                        p,
                        status=PartnerStatus.ENDED,
                        status_reason=why,
                        updated_at=now,
                        updated_by=me,
                    )
                )
                for a in tx.partner_assignments.assignments(partner=p.name, open_only=True):
                    tx.partner_assignments.end(a.id, now, me, f"partner ended: {why}")
        return ImportDiff(
            tuple(p.name for p in added),
            tuple(sorted({p.name for p in changed})),
            tuple(p.name for p in ended),
            unchanged,
            apply,
        )


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """Python's cycle collector paused while an import builds its rows: tens of thousands of
    objects without cycles, over which (and over everything else the process holds) its
    passes cost a fifth or more of an import of 5,000 rows. Reference counting still frees
    everything. The collector is enabled again afterwards only if it was enabled before."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _split(cell: str) -> tuple[str, ...]:
    return tuple(v for v in cell.replace(";", " ").replace(",", " ").split() if v)
