"""What the Backups screen shows, worked out in the worker that read it: the rows (newest
first, at most ``WINDOW``), the counts, and what is due, for every region filter."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from aptien_ops.backup_policy import DueItem
from aptien_ops.errors import OpsError
from aptien_ops.permissions import Action
from aptien_ops.screens.backup_render import last_check, short_id
from aptien_ops.screens.columns import ColumnSpec
from aptien_ops.screens.formatting import backup_status_text, short_minute, size
from aptien_ops.screens.lists import ListRow
from aptien_ops.services.backups import BackupRow

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
    """What the screen shows for one region filter, worked out in the worker that read it:
    the UI thread only ever handles ``WINDOW`` rows and ``DUE_SHOWN`` due items, however
    large the fleet."""

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
    def of(
        cls,
        rows: list[BackupRow] | OpsError,
        due: list[DueItem] | OpsError,
        region: str | None,
    ) -> BackupsView:
        """``rows`` (oldest first) and ``due`` narrowed to ``region`` (None: all), counted and
        cut to what the screen shows."""
        view = cls(rows, due=due)
        if not isinstance(rows, OpsError):
            mine = [r for r in rows if region is None or r.record.region == region]
            # Newest first: the backup an operator looks for is almost always the latest.
            newest = mine[-WINDOW:][::-1]
            view = replace(
                view,
                rows=newest,
                list_rows=[list_row(r) for r in newest],
                by_id={r.record.id: r for r in newest},
                backups=len(mine),
                tenants=len({r.record.tenant for r in mine}),
                failed=sum(1 for r in mine if r.status in ("failed", "missing")),
            )
        if not isinstance(due, OpsError):
            items = [i for i in due if region is None or i.region == region]
            backups = [i.tenant for i in items if i.kind == "backup"]
            view = replace(
                view,
                due=items[:DUE_SHOWN],
                due_count=len(items),
                late=sum(1 for i in items if i.overdue),
                due_backups=len(backups),
                first_due=backups[0] if backups else "",
            )
        return view


@dataclass
class Shelf:
    """One load of the screen: the store notes, and the view of every region filter."""

    notes: list[str] = field(default_factory=list)
    views: dict[str | None, BackupsView] = field(default_factory=dict)
    replace_four_eyes: bool = True
    """Whether replacing a tenant's data waits for a second operator (the policy in force)."""


def read_shelf(console: Console, needle: str = "") -> Shelf:
    """Runs in a worker thread: the backups (reconciled with the stores; those holding
    ``needle``, searched by the catalog) and what is due, shaped for every region filter."""
    shelf = Shelf()
    service = console.backups
    rows: list[BackupRow] | OpsError
    due: list[DueItem] | OpsError
    try:
        listing = service.listing(grep=needle or None)
        rows, shelf.notes = listing.rows, listing.notes
    except OpsError as error:
        rows = error
    try:
        due = service.due()
    except OpsError as error:
        due = error
    for region in [None, *console.settings.regions]:
        shelf.views[region] = BackupsView.of(rows, due, region)
    shelf.replace_four_eyes = console.ctx.policy.needs_four_eyes(Action.BACKUP_REPLACE)
    return shelf


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
