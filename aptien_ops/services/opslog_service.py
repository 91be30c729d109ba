"""Reading and verifying the ops log, alone or against its witnesses outside the catalog."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from aptien_ops.domain import OpsLogEntry, OpsLogPage
from aptien_ops.domain.free_text import GREP
from aptien_ops.errors import InvalidInput
from aptien_ops.opslog import VerifyReport, verify_chain
from aptien_ops.permissions import Action
from aptien_ops.ports import BackupRepository, CatalogTx
from aptien_ops.services.context import OpsContext
from aptien_ops.witness import Witness, check_witness, tap

#: ``--witness store``: the checkpoints in every region's backup store.
STORE = "store"
#: Entries one page may hold.
PAGE_LIMIT = 1_000


@dataclass(frozen=True)
class Witnesses:
    """Which witnesses to check the catalog's log against."""

    files: tuple[Path, ...] = ()
    """Copies of the JSON event log (the SIEM's), rotated ones included."""
    store: bool = False
    """The checkpoints ``backup run`` signs into each region's backup store."""

    @classmethod
    def parse(cls, values: Iterable[str]) -> Witnesses:
        """``store`` or a file path, each (``./store`` for a file of that name)."""
        values = list(values)
        files = tuple(dict.fromkeys(Path(v) for v in values if v != STORE))
        return cls(files, STORE in values)

    def __bool__(self) -> bool:
        return bool(self.files) or self.store

    def names(self) -> list[str]:
        return [str(f) for f in self.files] + ([STORE] if self.store else [])


class OpsLogService:
    def __init__(
        self, ctx: OpsContext, stores: Callable[[str], BackupRepository] | None = None
    ) -> None:
        """``stores`` opens a region's backup store (for ``--witness store``)."""
        self.ctx = ctx
        self.stores = stores

    def list(
        self, limit: int = 50, *, before: int | None = None, grep: str | None = None
    ) -> list[OpsLogEntry]:
        """Newest first; with ``before``, those older than that seq (the next page back);
        with ``grep``, only entries whose row holds that text (the whole log is searched).
        Raises: InvalidInput (limit, grep too long), Forbidden."""
        if not 1 <= limit <= 100_000:
            raise InvalidInput(f"--limit must be between 1 and 100000, got {limit}")
        needle = GREP.optional(grep)
        return self.ctx.view(
            Action.OPSLOG_VIEW,
            "ops-log",
            lambda tx: tx.opslog.page(limit=limit, before=before, grep=needle),
        )

    def page(
        self,
        *,
        limit: int = 50,
        before: int | None = None,
        after: int | None = None,
        grep: str | None = None,
    ) -> OpsLogPage:
        """A page of at most ``limit`` entries, newest first: just older than seq ``before``,
        just newer than seq ``after`` (``after=0``: the oldest page), or the newest; with its
        place in the whole log. With ``grep``, the log is the entries whose row holds that
        text: the page, its place and the total count only those.
        Raises: InvalidInput (limit, both cursors, grep too long), Forbidden."""
        if not 1 <= limit <= PAGE_LIMIT:
            raise InvalidInput(f"a page holds 1 to {PAGE_LIMIT} entries, not {limit}")
        if before is not None and after is not None:
            raise InvalidInput("a page starts before one entry or after one, not both")
        needle = GREP.optional(grep)

        def read(tx: CatalogTx) -> OpsLogPage:
            entries = tx.opslog.page(limit=limit, before=before, after=after, grep=needle)
            total = tx.opslog.count(grep=needle)
            if entries:
                newer = tx.opslog.count(newer_than=entries[0].seq, grep=needle)
            else:  # past either end: say which
                newer = total if before is not None else 0
            return OpsLogPage(entries, newer, total, needle)

        return self.ctx.view(Action.OPSLOG_VIEW, "ops-log", read)

    def verify(self, witnesses: Witnesses | None = None) -> VerifyReport:
        """Walk the whole chain, then check it against ``witnesses`` (if any).

        Raises: IntegrityFailure naming the first bad entry, or the first one missing from
        the catalog or different from a witness's copy (a wipe, truncation, rollback or
        rewrite); Forbidden; NotFound (a witness file); Unavailable (a witness unreadable).

        The verification itself is logged (outcome ``ok`` or ``failed:<code>``) so an auditor
        can see when the log was last checked.
        """
        witnesses = witnesses or Witnesses()
        params = {"witness": witnesses.names()} if witnesses else {}
        with self.ctx.audited(Action.OPSLOG_VERIFY, "ops-log", params) as attempt:
            # The witnesses first: whatever they saw had committed before the catalog is read.
            witness = self._witness(witnesses) if witnesses else None
            seen: dict[int, str] = {}
            with self.ctx.catalog.read() as tx:
                entries = tx.opslog.stream()
                if witness is not None:
                    entries = tap(entries, witness.sightings, seen)
                report = verify_chain(self.ctx.opslog_key, entries, tx.opslog.head())
            details: dict[str, object] = {"entries": report.entries}
            if witness is not None:
                checked = check_witness(witness, seen, report.head_seq)
                report = replace(report, witness=checked)
                details.update(witnessed=checked.witnessed, untrusted=len(checked.untrusted))
            # Appending after a broken entry is still safe: the chain continues from the head.
            attempt.ok(**details)
        return report

    def _witness(self, witnesses: Witnesses) -> Witness:
        """Raises: NotFound (a file), Unavailable (a file or a store unreadable)."""
        witness = Witness()
        for path in witnesses.files:
            witness.read_event_log(path)
        if witnesses.store:
            assert self.stores is not None, "the composition root passes the backup stores"
            for region in sorted(self.ctx.settings.regions):
                good, bad = self.stores(region).checkpoints()
                witness.take_checkpoints(region, good, bad)
        return witness
