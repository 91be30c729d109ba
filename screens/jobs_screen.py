"""Jobs (key J): the job queue of a PostgreSQL catalog — per region the jobs waiting, running
and failed and the workers connected (host, pid, since, last seen), then the newest jobs; the
highlighted one's pane says who queued it and, failed, the reason its worker recorded.
Operators retry a failed job (``t``: try again) and cancel a waiting or running one (``c``), after a
confirmation; every attempt is logged by the service the command line's ``jobs retry`` and
``jobs cancel`` call.

Every member of staff sees it (``job.view``, not logged). Read in a worker, again every
``[tui] refresh_seconds`` while shown. On a SQLite catalog (the sandbox) it says in one line
that jobs need a PostgreSQL catalog, and where the work runs instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from aptien_ops.domain.jobs import JobRecord
from aptien_ops.errors import OpsError
from aptien_ops.permissions import Action
from aptien_ops.screens.base import CLEAR_FILTER, FILTER
from aptien_ops.screens.filter_bar import FilterBar
from aptien_ops.screens.formatting import plural
from aptien_ops.screens.jobs_render import COLUMNS, job_rows, job_summary, queues_text
from aptien_ops.screens.lists import ListTable
from aptien_ops.screens.modals import ConfirmModal
from aptien_ops.screens.summary_list import SummaryListScreen
from aptien_ops.services.job_board import JobsAtGlance

if TYPE_CHECKING:
    from aptien_ops.composition import Console

#: States a job may be retried from, and cancelled from (the service decides; these word the
#: refusal before a dialog opens).
RETRYABLE = ("failed",)
CANCELLABLE = ("todo", "doing")


@dataclass(frozen=True)
class JobsView:
    """One read of the queue, shaped for the screen (in the worker that read it)."""

    glance: JobsAtGlance
    jobs: dict[str, JobRecord]
    summaries: dict[str, Text]


def read_jobs(console: Console) -> JobsView:
    """Runs in a worker: the queue at a glance, then the newest jobs."""
    glance = console.job_board.read()
    if glance.board is None:
        return JobsView(glance, {}, {})
    jobs = console.jobs.list()
    failures = {f.id: f for f in glance.board.failures}
    summaries = {str(j.id): job_summary(j, failures.get(j.id)) for j in jobs}
    return JobsView(glance, {str(j.id): j for j in jobs}, summaries)


class JobsScreen(SummaryListScreen):
    MODE = "jobs"
    TITLE = "Jobs"
    NAV_KEY = "J"
    IN_TABS = False
    CSS_PATH = Path(__file__).with_name("jobs_screen.tcss")
    AUTO_FOCUS = "#jobs-table"
    BINDINGS = [
        FILTER,
        CLEAR_FILTER,
        Binding("t", "retry", "Retry", tooltip="queue the highlighted failed job again"),
        Binding("c", "cancel_job", "Cancel", tooltip="cancel the highlighted waiting job"),
    ]
    PERMISSIONS = {"retry": Action.JOB_RETRY, "cancel_job": Action.JOB_CANCEL}
    #: Workers take jobs and others queue them: read again while shown.
    AUTO_REFRESH = True
    NOUN = "job"
    NONE_YET = "No job queued yet (backup run --due --enqueue, or a region's schedule)."

    def __init__(self) -> None:
        super().__init__()
        self.view: JobsView | None = None

    def compose_body(self) -> ComposeResult:
        yield Static("loading…", id="jobs-queues")
        yield FilterBar(id="jobs-filter")
        yield Static("", id="jobs-status")
        yield ListTable(COLUMNS, id="jobs-table")
        yield Static(id="jobs-detail")

    def refresh_data(self) -> None:
        console = self.console
        self.load(lambda: read_jobs(console), self._loaded)

    def _loaded(self, view: JobsView) -> None:
        self.view = view
        self.query_one("#jobs-queues", Static).update(queues_text(view.glance))
        queued = view.glance.board is not None
        for part in ("#jobs-table", "#jobs-detail", "#jobs-status"):
            self.query_one(part).display = queued
        self.summaries, self.listed = view.summaries, len(view.jobs)
        self.query_one(ListTable).fill(job_rows(list(view.jobs.values())))
        if queued:
            self.show_status(Text(f"{plural(len(view.jobs), 'job')}, the newest first"))
        self.show_summary(self.selected())
        self.refresh_bindings()

    def show_status(self, line: Text) -> None:
        self.query_one("#jobs-status", Static).update(line)

    def service_refused(self, error: OpsError) -> None:
        self.show_status(Text(f"✗ {error.one_line()}", style="red"))
        self.query_one("#jobs-status").display = True
        if error.code == "forbidden":
            self.ops.refresh_roles()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        # Textual calls SummaryListScreen's handler too (the pane); retry and cancel are
        # offered by the highlighted job's state, so the footer follows the cursor.
        self.refresh_bindings()

    def action_open_detail(self, then: str = "") -> None:
        """Enter: the pane under the list already holds the whole job."""

    def _highlighted(self) -> JobRecord | None:
        key = self.selected()
        return self.view.jobs.get(key) if self.view and key else None

    def refusal(self, action: str) -> str | None:
        refused = super().refusal(action)
        if refused is not None or action not in self.PERMISSIONS:
            return refused
        job = self._highlighted()
        if job is None:
            return "no job selected"
        states = RETRYABLE if action == "retry" else CANCELLABLE
        if job.state not in states:
            verb = "retried" if action == "retry" else "cancelled"
            return f"job {job.id} is {job.state}: only a {' or '.join(states)} job can be {verb}"
        return None

    def action_retry(self) -> None:
        self._move("retry", "Retry", self.console.jobs.retry)

    def action_cancel_job(self) -> None:
        self._move("cancel", "Cancel job", self.console.jobs.cancel)

    def _move(self, verb: str, title: str, call: Callable[[int], JobRecord]) -> None:
        job = self._highlighted()
        if job is None:
            return
        question = Text(f"{verb.capitalize()} job {job.id} ({job.kind} of ")
        question.append(job.target[:60])
        question.append(")?")
        if verb == "cancel" and job.state == "doing":
            question.append(" It is running: its worker is asked to stop it.")

        def done(after: JobRecord) -> None:
            self.notify(f"job {after.id} is {after.state} now", title=title, markup=False)

        job_id = job.id
        self.app.push_screen(
            ConfirmModal(question.plain, yes=title, title=title).acting(
                self, lambda _yes: lambda: call(job_id), done
            )
        )
