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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from aptien_ops.domain.partner_rules import partner_fault
from aptien_ops.domain.partners import Partner, PartnerKind, PartnerStatus
from aptien_ops.partner_files import (
    BadLine,
    PublicEntry,
    check_publish,
    read_import,
    render_public,
    write_whole,
)
from aptien_ops.permissions import Action
from aptien_ops.ports import CatalogTx
from aptien_ops.services.partner_import import Register, Rules, checked_register
from aptien_ops.services.partner_links import PartnerLinks
from aptien_ops.services.partner_results import ImportDiff

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
        file = read_import(path)
        me = self.ctx.identity.operator
        rules = Rules(tuple(self.ctx.settings.regions), self.first_review_due(), self.ctx.now(), me)
        register = checked_register(file, rules)
        if dry_run:
            return self.ctx.view(
                Action.PARTNER_IMPORT, name, lambda tx: self._diff(tx, register, me, apply=False)
            )
        params = {"sha256": file.sha256, "rows": len(register.partners)}
        with self.ctx.audited(Action.PARTNER_IMPORT, name, params) as attempt:
            with attempt.transaction() as tx:
                diff = self._diff(tx, register, me, apply=True)
                attempt.ok(added=len(diff.added), changed=len(diff.changed), ended=len(diff.ended))
            return diff
        raise AssertionError("unreachable: the attempt returns or raises")

    def _diff(self, tx: CatalogTx, register: Register, me: str, *, apply: bool) -> ImportDiff:
        known = {p.name: p for p in tx.partners.all()}
        references = {(a.partner, a.reference) for a in tx.partners.agreements()}
        batch, deals = register.partners, register.agreements
        fresh = [
            row
            for row, key in enumerate(zip(deals.partners, deals.references, strict=True))
            if key not in references
        ]
        signing = {deals.partners[row] for row in fresh}
        added: list[int] = []
        changed: list[Partner] = []
        unchanged = 0
        for row, partner_name in enumerate(batch.names):
            current = known.get(partner_name)
            if current is None:
                added.append(row)
                continue
            if current.status == PartnerStatus.ENDED:
                line = register.lines[row]
                raise BadLine(line, f"partner {partner_name} has ended; it stays ended", "name")
            p = batch.partner(row)
            if any(getattr(current, f) != getattr(p, f) for f in _COMPARED):
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
            elif partner_name in signing:
                changed.append(current)
            else:
                unchanged += 1
        new = batch if len(added) == len(batch) else batch.take(added)
        listed = set(batch.names)
        ended = [
            p for name, p in known.items() if name not in listed and p.status != PartnerStatus.ENDED
        ]
        if apply:
            now = self.ctx.now()
            tx.partners.insert_many(new)
            for p in changed:
                tx.partners.update(p)
            tx.partners.add_agreements(deals if len(fresh) == len(deals) else deals.take(fresh))
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
            tuple(new.names),
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
