"""How the job queue reads on the Jobs screen and the dashboard: a line per region (waiting,
running, failed, workers), a line per worker connected, a row per job, and a failed job's
reason — a worker's or a cluster's words, so always through ``plain``."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.text import Text

from aptien_ops.domain.job_board import JobBoard, JobFailure
from aptien_ops.domain.jobs import JobRecord
from aptien_ops.screens.columns import ColumnSpec
from aptien_ops.screens.formatting import minute, plain, plural, short_minute
from aptien_ops.screens.lists import ListRow
from aptien_ops.services.job_board import JobsAtGlance

#: Id and state never cut; the target takes the rest.
COLUMNS = (
    ColumnSpec("Id", 6, essential=True, justify="right"),
    ColumnSpec("State", 9, essential=True),
    ColumnSpec("Kind", 8),
    ColumnSpec("Region", 6),
    ColumnSpec("Tries", 5, justify="right"),
    ColumnSpec("Last event", 11, shrink=True),
    ColumnSpec("Target", 10, share=1, shrink=True),
)
STATE_STYLES = {"failed": "bold red", "doing": "yellow", "todo": "cyan", "aborted": "red"}
#: Worker lines shown above the list at most (the rest counted).
MAX_WORKER_LINES = 3


def queues_text(glance: JobsAtGlance) -> Text:
    """A line per region, then the workers connected."""
    board = glance.board
    if board is None:
        return Text(glance.note, style="yellow")
    out = Text()
    depth = {r.region: r for r in board.regions}
    regions = list(dict.fromkeys([*glance.regions, *depth]))
    for i, region in enumerate(regions):
        row = depth.get(region)
        workers = sum(1 for w in board.workers if w.region == region)
        if i:
            out.append("\n")
        out.append(plain(region, "bold", width=8))
        out.append(f"  {row.waiting if row else 0} waiting · {row.running if row else 0} running")
        failed = row.failed if row else 0
        out.append(f" · {failed} failed", style="bold red" if failed else "")
        out.append(f" · {plural(workers, 'worker')}", style="" if workers else "yellow")
    for w in board.workers[:MAX_WORKER_LINES]:
        out.append("\n  ")
        out.append(plain(f"{w.host} pid {w.pid}", width=30))
        out.append(f" {w.region}: since {minute(w.since)}, seen {_clock(w.last_seen)}")
    extra = len(board.workers) - MAX_WORKER_LINES
    if extra > 0:
        out.append(f"\n  and {plural(extra, 'more worker')}", style="dim")
    return out


def _clock(value: datetime | None) -> str:
    """``23:59:58`` UTC: a heartbeat is seconds old."""
    return "never" if value is None else value.astimezone(UTC).strftime("%H:%M:%S")


def job_rows(jobs: list[JobRecord]) -> list[ListRow]:
    return [
        ListRow(
            str(j.id),
            (
                str(j.id),
                Text(j.state, style=STATE_STYLES.get(j.state, "")),
                j.kind,
                plain(j.region),
                str(j.attempts),
                short_minute(j.last_event_at),
                plain(j.target),
            ),
        )
        for j in jobs
    ]


def job_summary(job: JobRecord, failure: JobFailure | None) -> Text:
    """The pane under the list: who queued the job and when; a failed job's reason."""
    out = Text()
    out.append(f"job {job.id} ", style="bold")
    out.append(f"{job.kind} of ")
    out.append(plain(job.target, width=40))
    out.append(f" ({job.region}), queued by ")
    out.append(plain(job.requested_by, width=32))
    out.append(f" {minute(job.queued_at)}; {job.state}, {plural(job.attempts, 'attempt')}")
    reason = job.failure or (failure.reason if failure is not None else None)
    if reason:
        out.append("\n✗ ", style="bold red")
        out.append(plain(reason, width=300))
    elif job.state == "failed":
        out.append("\n✗ failed (its reason is older than the 50 newest failures)", style="red")
    return out


def dashboard_text(board: JobBoard) -> Text:
    """The dashboard's card while jobs have failed for good."""
    out = Text()
    out.append(f"{plural(board.failed, 'job')} failed for good", style="bold red")
    out.append(" (key J: reason, retry)")
    for failure in board.failures[:3]:
        out.append(f"\n  {failure.id} {failure.kind} ")
        out.append(plain(failure.target, width=24))
        out.append(": ")
        out.append(plain(failure.reason, width=40))
    return out
