"""How backups read on screen: the table's cells, the highlighted backup, what is due, and the
dashboard's one-line summary. Red is kept for what needs an operator: failures and lateness."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import astuple, dataclass
from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.text import Text

from aptien_ops.errors import OpsError, PendingApproval
from aptien_ops.screens.columns import ColumnSpec, SpecGrid
from aptien_ops.screens.formatting import plain, plural, short_minute, size
from aptien_ops.terminal_text import shown

if TYPE_CHECKING:  # the dashboard imports this module for its first frame: keep it light
    from aptien_ops.backup_policy import DueItem, PruneDecision
    from aptien_ops.services.backups import BackupRow, BackupService, RestoreResult, RunOutcome

#: What is due, for whom, by when (never cut), and why (wrapped).
DUE_COLUMNS = (
    ColumnSpec("What", 6),
    ColumnSpec("Tenant", 10, share=1, shrink=True, essential=True, most=40),
    ColumnSpec("By", 14),
    ColumnSpec("Why", 12, share=3, wrap=True),
)
#: A backup id inside a due item's reason, shortened like the table's Id column.
_BACKUP_ID = re.compile(r"\bbk-\d{8}T\d{6}Z-([0-9a-f]+)\b")


def short_id(backup_id: str) -> str:
    """``5a17e0`` of ``bk-20250314T092653Z-5a17e0``: unique beside the tenant and time shown."""
    return backup_id.rpartition("-")[2] or backup_id


def last_check(row: BackupRow) -> Text:
    last = row.last_verification
    if not last:
        return Text("-", style="dim")
    if last.ok:
        return Text(f"{last.level} ok", style="green")
    return Text(f"{last.level} FAILED", style="bold red")


def detail_text(row: BackupRow | None) -> Text:
    """The highlighted backup in full: id, where, sizes, and its last verification (red if it
    failed)."""
    if row is None:
        return Text("No backup selected.", style="dim")
    record = row.record
    text = Text()
    text.append(record.id, style="bold")
    text.append(f"  {record.tenant} · {record.cluster} · dump {size(record.plaintext_size)}")
    last = row.last_verification
    if not last:
        text.append("\nnot verified yet", style="yellow")
        return text
    verdict = "passed" if last.ok else "FAILED"
    style = "" if last.ok else "bold red"
    text.append(
        f"\n{last.level} verification {verdict} {short_minute(last.at)}"
        f" by {shown(last.operator)}: ",
        style=style,
    )
    text.append(shown(last.detail), style="" if last.ok else "red")
    return text


def record_text(row: BackupRow) -> Text:
    """Everything the index knows of one backup (Enter on the list): the detail pane's lines,
    then when, where and how big, and the ciphertext's checksum."""
    record = row.record
    text = detail_text(row)
    text.append(f"\nstatus {row.status} · region {record.region} · cluster {record.cluster}")
    text.append(
        f"\ncreated {short_minute(record.created_at)} · finished {short_minute(record.finished_at)}"
    )
    text.append(
        f"\ndump {size(record.plaintext_size)} · encrypted {size(record.ciphertext_size)}"
        f"\nsha256 {record.ciphertext_sha256}",
        style="dim",
    )
    if record.pruned_at:
        text.append(f"\npruned {short_minute(record.pruned_at)}", style="yellow")
    return text


def due_report(items: list[DueItem], more: int = 0) -> RenderableType:
    """One line per due item: what, for whom, why, and a red ``overdue`` when late; ``more``
    items not listed are counted on a last line."""
    if not items and not more:
        return Text("Nothing is due.", style="dim")
    rows: list[tuple[RenderableType, ...]] = []
    for item in items:
        late = (
            Text("overdue", style="bold red")
            if item.overdue
            else Text(f"by {short_minute(item.deadline)}", style="dim")
        )
        reason = _BACKUP_ID.sub(r"\1", item.reason)
        what = f"{short_id(item.backup_id)}: {reason}" if item.backup_id else reason
        rows.append((item.kind, item.tenant, late, plain(what)))
    table = SpecGrid(DUE_COLUMNS, rows, header=False, gap=1)
    if not more:
        return Group(table)
    rest = Text(f"… and {more:,} more (aptien-ops backup list due)", style="dim")
    return Group(table, rest)


@dataclass(frozen=True)
class BackupTally:
    """What is due and what failed, counted (for one region, or all of them)."""

    due: int = 0
    late_backups: int = 0
    late_checks: int = 0
    failed: int = 0
    """Backups whose last verification failed."""

    def __add__(self, other: BackupTally) -> BackupTally:
        return BackupTally(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))


@dataclass(frozen=True)
class BackupHealth:
    """What the dashboard says about backups, counted per region when it is read (in a worker
    thread): a redraw, as when the region filter changes, never walks the fleet's backups."""

    by_region: Mapping[str, BackupTally]

    @classmethod
    def read(cls, service: BackupService) -> BackupHealth:
        """Ask the service (in a worker thread). Raises: what ``attention`` raises."""
        return cls(
            {
                a.region: BackupTally(a.due, a.late_backups, a.late_checks, a.failed)
                for a in service.attention()
            }
        )

    def tally(self, region: str | None = None) -> BackupTally:
        """The counts of ``region``, or of every region (None)."""
        if region is not None:
            return self.by_region.get(region, BackupTally())
        return sum(self.by_region.values(), BackupTally())


def health_text(health: BackupHealth, region: str | None = None) -> Text:
    """One line: overdue backups and verifications and failed verifications in red, then all
    that is due."""
    tally = health.tally(region)
    if not tally.due and not tally.failed:
        return Text("On schedule: nothing is due and no backup failed verification.", style="green")
    text = Text()
    alarms = [plural(tally.late_backups, "overdue backup")] if tally.late_backups else []
    alarms += [plural(tally.late_checks, "overdue verification")] if tally.late_checks else []
    alarms += [plural(tally.failed, "failed verification")] if tally.failed else []
    text.append(" · ".join(alarms), style="bold red")
    text.append(
        f" — {tally.due} due in all (press 8)"
        if alarms
        else f"{tally.due} due, none overdue yet (press 8)"
    )
    return text


#: How many of the backups a prune would delete its dialog names.
PRUNE_SHOWN = 5


def run_summary(outcomes: list[RunOutcome]) -> tuple[str, bool]:
    """What a run did, in one line, and whether anything failed (named first)."""
    done = [o for o in outcomes if o.action in ("backup", "verify")]
    failed = [o for o in outcomes if not o.ok]  # the run's ops-log checkpoint included
    backed = sum(1 for o in done if o.ok and o.action == "backup")
    verified = sum(1 for o in done if o.ok and o.action == "verify")
    parts = [plural(backed, "backup") + " stored"] if backed or not verified else []
    parts += [f"{verified} verified"] if verified else []
    message = ", ".join(parts) if done else "nothing was due"
    if failed:
        first = failed[0]
        message += f"; {len(failed)} failed, first {first.tenant} ({first.action}): {first.detail}"
    return message, bool(failed)


def prune_question(decisions: list[PruneDecision]) -> str:
    """The confirmation of a prune: how many backups of how many tenants, the first few."""
    doomed = [d for d in decisions if not d.keep]
    tenants = len({d.tenant for d in doomed})
    lines = [f"  {d.backup_id} ({d.tenant}: {'; '.join(d.reasons)})" for d in doomed[:PRUNE_SHOWN]]
    if len(doomed) > PRUNE_SHOWN:
        more = len(doomed) - PRUNE_SHOWN
        lines.append(f"  … and {more} more (aptien-ops backup prune --dry-run)")
    return (
        f"Delete {plural(len(doomed), 'backup')} of {plural(tenants, 'tenant')}? They cannot be"
        f" restored afterwards; {len(decisions) - len(doomed)} are kept.\n" + "\n".join(lines)
    )


def restore_outcome(to: str, outcome: RestoreResult | OpsError) -> Text:
    """A restore into ``to`` as it ended, for the line that stays under the progress bar: what
    was restored, the request it raised, or why nothing was replaced (the service's words)."""
    if isinstance(outcome, PendingApproval):
        return plain(
            f"⧗ replacing {to}'s data: request #{outcome.approval_id} recorded, nothing changed"
            " until another operator approves it (Approvals, key 4)",
            "yellow",
        )
    if isinstance(outcome, OpsError):
        return plain(f"✗ restore into {to} failed: {outcome.message}", "red")
    verb = "data replaced" if outcome.replaced else "restored"
    return plain(
        f"✓ {outcome.tenant}: {verb} from {short_id(outcome.backup_id)} on {outcome.cluster}:"
        f" {plural(outcome.tables, 'table')}, {plural(outcome.rows, 'row')}, every count matches",
        "green",
    )
