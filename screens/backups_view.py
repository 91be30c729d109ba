"""What the Backups screen shows, read in a worker: a page of the index (newest first, at most
``WINDOW``) and its counts, and the most urgent due items and theirs, for the region filter
shown (the catalog filters, counts and works out what is due)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from aptien_ops.backup_policy import DueItem
from aptien_ops.domain.backup_index import BackupQuery
from aptien_ops.errors import OpsError
from aptien_ops.permissions import Action
from aptien_ops.screens.backup_render import last_check, short_id
from aptien_ops.screens.columns import ColumnSpec
from aptien_ops.screens.formatting import backup_status_text, short_minute, size
from aptien_ops.screens.lists import ListRow
from aptien_ops.services.backups import BackupPage, BackupRow, DuePage

if TYPE_CHECKING:
    from aptien_ops.composition import Console

#: The tenant and the status are never pushed off; the tenant and the last check take a wide
#: terminal's extra width; the id, time and size are as wide as their values.
COLUMNS = (
    ColumnSpec("Tenant", 9, share=2, shrink=True, essential=True),
    ColumnSpec("Id", 2),
    ColumnSpec("Created", 7),
    ColumnSpec("Size", 4),
    ColumnSpec("Status", 6, essential=True),
    ColumnSpec("Last check", 4, share=1, shrink=True, key="checked"),
)
#: Rows the table holds (newest first): DataTable measures every cell it is given.
WINDOW = 500
#: Due items listed (most urgent first); the rest are counted (``backup list due`` has all).
DUE_SHOWN = 40


@dataclass(frozen=True)
class BackupsView:
    """What the screen shows for one region filter and one text filter, as the catalog
    answered it: the UI thread only ever handles ``WINDOW`` rows and ``DUE_SHOWN`` due items,
    however large the fleet."""

    rows: list[BackupRow] | OpsError
    """Newest first, at most ``WINDOW`` (or the service's refusal)."""
    list_rows: list[ListRow] = field(default_factory=list)
    """``rows`` as the table shows them (made here: making a row costs more than showing it)."""
    by_id: dict[str, BackupRow] = field(default_factory=dict)
    backups: int = 0
    tenants: int = 0
    failed: int = 0
    """Failed or missing from the store."""
    due: list[DueItem] | OpsError = field(default_factory=list)
    """Most urgent first, at most ``DUE_SHOWN`` (or the service's refusal)."""
    due_count: int = 0
    late: int = 0
    due_backups: int = 0
    first_due: str = ""
    """The first tenant due a backup (the back-up dialog's suggestion)."""

    @classmethod
    def of(cls, page: BackupPage | OpsError, due: DuePage | OpsError) -> BackupsView:
        """The view of a page of the index and a page of what is due (or their refusals)."""
        view = cls(page if isinstance(page, OpsError) else list(page.rows))
        if not isinstance(page, OpsError):
            rows, tally = list(page.rows), page.tally
            view = replace(
                view,
                list_rows=[list_row(r) for r in rows],
                by_id={r.record.id: r for r in rows},
                backups=tally.matches,
                tenants=tally.tenants,
                failed=tally.failed + tally.missing,
            )
        if isinstance(due, OpsError):
            return replace(view, due=due)
        return replace(
            view,
            due=list(due.items),
            due_count=due.due,
            late=due.late,
            due_backups=due.backups,
            first_due=due.first_backup,
        )


@dataclass
class Shelf:
    """One load of the screen: the store notes, and the view of the region filter it was
    read for."""

    view: BackupsView
    region: str | None = None
    notes: list[str] = field(default_factory=list)
    replace_four_eyes: bool = True
    """Whether replacing a tenant's data waits for a second operator (the policy in force)."""


def read_shelf(console: Console, needle: str = "", region: str | None = None) -> Shelf:
    """Runs in a worker thread: the newest ``WINDOW`` backups of ``region`` holding
    ``needle`` with their counts (reconciled with the stores), and the ``DUE_SHOWN`` most
    urgent due items with theirs: a page and an aggregate each, found by the catalog."""
    service = console.backups
    page: BackupPage | OpsError
    due: DuePage | OpsError
    notes: list[str] = []
    try:
        page = service.page(BackupQuery(region, needle or None), limit=WINDOW)
        notes = list(page.notes)
    except OpsError as error:
        page = error
    try:
        due = service.due_page(region, limit=DUE_SHOWN)
    except OpsError as error:
        due = error
    four_eyes = console.ctx.policy.needs_four_eyes(Action.BACKUP_REPLACE)
    return Shelf(BackupsView.of(page, due), region, notes, four_eyes)


def list_row(row: BackupRow) -> ListRow:
    """The table's row of one backup, keyed by its id."""
    record = row.record
    return ListRow(
        record.id,
        (
            record.tenant,
            short_id(record.id),
            short_minute(record.created_at),
            size(record.ciphertext_size),
            backup_status_text(row.status),
            last_check(row),
        ),
    )
