"""``jobs list | show | retry | cancel`` and ``worker``: fleet work on the job queue of a
PostgreSQL catalog. ``backup run --enqueue``, ``backup verify --enqueue`` and ``fleet migrate
--enqueue`` queue it (:func:`show_enqueued` prints what they queued)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from aptien_ops.cli.output import fields, say, table
from aptien_ops.cli.state import CliState, pass_state
from aptien_ops.domain import iso
from aptien_ops.terminal_text import shown
from aptien_ops.wording import plural

if TYPE_CHECKING:
    from aptien_ops.domain.jobs import Enqueued, JobRecord


def show_enqueued(state: CliState, out: list[Enqueued]) -> None:
    """What ``--enqueue`` put on the queue, at once: one row per job and a count."""
    rows = [e.as_json() for e in out]
    fresh = sum(1 for e in out if not e.already)
    for row in rows:
        row["note"] = "already queued or running" if row["already_queued"] else "queued"
    human = table(rows, ("kind", "target", "region", "job_id", "note")) if rows else "nothing to do"
    summary = f"{plural(fresh, 'job')} queued"
    if fresh != len(out):
        summary += f", {len(out) - fresh} already queued or running"
    state.out(rows, f"{human}\n{summary}" if rows else human)


def _row(job: JobRecord) -> dict[str, object]:
    data = job.as_json()
    data["target"] = shown(job.target)
    data["requested_by"] = shown(job.requested_by)
    data["last_event_at"] = iso(job.last_event_at) if job.last_event_at else "-"
    data["failure"] = shown(job.failure) if job.failure else "-"
    data["failed_at"] = iso(job.failed_at) if job.failed_at else "-"
    return data


@click.group()
def jobs() -> None:
    """Fleet work queued for the region workers: backups, verifications, migrations, prunes,
    breach-notice batches.

    \b
    Examples:
      aptien-ops backup run --due --enqueue     (returns at once with the job ids)
      aptien-ops jobs list --state failed --region eu
      aptien-ops jobs show 42
      aptien-ops jobs retry 42
      aptien-ops jobs cancel 43
      aptien-ops jobs prune --older-than 7

    States: todo, doing, succeeded, failed, cancelled, aborted. Why a job's last attempt
    failed is its `failure` (in `jobs show`, `jobs list --state failed` and --json); the ops
    log has the whole entry, with the worker that ran it.
    Exit codes: 2 a SQLite catalog (no queue), 3 unknown job, 5 not in a state to retry or
    cancel, 6 the catalog unreachable.
    """


@jobs.command("list")
@click.option("--state", "job_state", metavar="STATE", help="Only jobs in this state.")
@click.option("--region", help="Only this region's queues.")
@pass_state
def jobs_list(state: CliState, job_state: str | None, region: str | None) -> None:
    """The newest jobs first (at most 200)."""
    found = state.console().jobs.list(state=job_state, region=region)
    rows = [_row(j) for j in found]
    columns = ("id", "kind", "target", "region", "state", "attempts", "requested_by")
    last = ("failure",) if job_state == "failed" else ("last_event_at",)
    human = table(rows, (*columns, *last)) if rows else "no jobs"
    state.out(
        [j.as_json() for j in found], human if not rows else f"{human}\n{plural(len(rows), 'job')}"
    )


@jobs.command("show")
@click.argument("job_id", type=int)
@pass_state
def jobs_show(state: CliState, job_id: int) -> None:
    """One job: what it does, for whom, its state and attempts."""
    job = state.console().jobs.show(job_id)
    state.out(job.as_json(), fields(_row(job)))


@jobs.command("retry")
@click.argument("job_id", type=int)
@pass_state
def jobs_retry(state: CliState, job_id: int) -> None:
    """Queue a failed job again."""
    job = state.console().jobs.retry(job_id)
    state.out(job.as_json(), f"job {job.id} ({job.kind} {shown(job.target)}) is {job.state}")


@jobs.command("cancel")
@click.argument("job_id", type=int)
@pass_state
def jobs_cancel(state: CliState, job_id: int) -> None:
    """Cancel a waiting job (a running one is asked to stop)."""
    job = state.console().jobs.cancel(job_id)
    state.out(job.as_json(), f"job {job.id} ({job.kind} {shown(job.target)}) is {job.state}")


@jobs.command("prune")
@click.option(
    "--older-than",
    "days",
    type=int,
    metavar="DAYS",
    help="Delete jobs that ended more than DAYS ago (default: [jobs] keep_days).",
)
@click.option("--region", help="Only this region's queues.")
@pass_state
def jobs_prune(state: CliState, days: int | None, region: str | None) -> None:
    """Delete finished jobs now: succeeded, cancelled and aborted ones that ended more than
    --older-than days ago, failed ones past [jobs] keep_failed_days (or --older-than if it is
    longer). Waiting and running jobs are never deleted; each region's workers do the same
    hourly with the configured retention.

    \b
    Examples:
      aptien-ops jobs prune
      aptien-ops jobs prune --older-than 3 --region eu
    """
    done = state.console().jobs.prune(days, region)
    counts = ", ".join(f"{n} {s}" for s, n in sorted(done.by_state.items()))
    human = f"{plural(done.total, 'job')} deleted" + (f" ({counts})" if counts else "")
    state.out(done.as_json(), human)


@click.command("worker")
@click.option("--region", required=True, help="The region whose queues this host serves.")
@click.option("--concurrency", default=1, show_default=True, type=int, help="Jobs at once (1-32).")
@click.option(
    "--queues",
    metavar="KINDS",
    help="Comma-separated kinds: backup,verify,migrate,prune,schedule,notify (default: all).",
)
@click.option("--until-idle", is_flag=True, help="Stop once the queues are empty.")
@pass_state
def worker(
    state: CliState, region: str, concurrency: int, queues: str | None, until_idle: bool
) -> None:
    """Run the worker of one region: it takes only that region's jobs, refuses (and logs)
    a job for a tenant of another region, and stops on Ctrl-C or SIGTERM once the jobs
    under way are done.

    Exit codes: 0 asked to stop; 2 a SQLite catalog or bad option; 6 the catalog
    unreachable, or the worker stopped on its own because its heartbeat, listener or
    schedule failed (one line says which; logged as job.work failed).

    \b
    Examples:
      aptien-ops worker --region eu --concurrency 4
      aptien-ops worker --region us --queues backup,verify
    """
    from aptien_ops.composition.worker import run_worker

    kinds = [k.strip() for k in (queues or "").split(",") if k.strip()]
    state.unattended = True
    run_worker(
        state.console(),
        region=region,
        kinds=kinds,
        concurrency=concurrency,
        until_idle=until_idle,
        report=say,
    )
    say("aptien-ops: worker stopped")
