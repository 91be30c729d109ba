"""Fleet work on the job queue of a PostgreSQL catalog: ``--enqueue`` instead of running it
here, ``jobs list|show|retry|cancel``, and ``worker`` (the loop is the composition root's,
:mod:`aptien_ops.composition.worker`; what a job does is :mod:`.job_runs`).

A job is queued on behalf of the operator who asked: the worker later authorises that
operator again, under the job's own action, before it touches anything. A tenant has at
most one backup waiting or running (a lock per tenant), whoever queues it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence

from aptien_ops.backup_policy import check_backup_id, parse_level
from aptien_ops.config import region_or_fail
from aptien_ops.domain.jobs import (
    JOB_KINDS,
    JOB_STATES,
    Enqueued,
    JobRecord,
    JobRetention,
    JobSpec,
    PrunedJobs,
)
from aptien_ops.errors import Conflict, InvalidInput, NotFound, OpsError, Unavailable
from aptien_ops.permissions import Action
from aptien_ops.ports import CatalogTx
from aptien_ops.ports.jobs import JobHandler, JobQueue
from aptien_ops.services.backups import BackupService
from aptien_ops.services.context import OpsContext
from aptien_ops.services.fleet import LIVE_STATES

#: What a SQLite catalog (the sandbox) answers to the queue's commands.
NEEDS_POSTGRESQL = "needs a PostgreSQL catalog"
MAX_CONCURRENCY = 32
#: Job ids are PostgreSQL bigints.
MAX_JOB_ID = 2**63
#: The longest retention ``jobs prune --older-than`` takes, in days.
MAX_KEEP_DAYS = 3650


def backup_lock(tenant: str) -> str:
    """The lock under which a tenant's backups wait and run, one at a time."""
    return f"backup:{tenant}"


class JobService:
    def __init__(
        self,
        ctx: OpsContext,
        queue_factory: Callable[[], JobQueue],
        backups: BackupService,
    ) -> None:
        self.ctx = ctx
        self._factory = queue_factory
        self._queue: JobQueue | None = None
        self.backups = backups

    @property
    def available(self) -> bool:
        """Whether this catalog has a job queue (PostgreSQL; a SQLite catalog has none)."""
        return self.ctx.settings.catalog.url.startswith("postgresql")

    def queue(self, what: str) -> JobQueue:
        """The queue, for ``what`` (the command, in the refusal).
        Raises: InvalidInput on a SQLite catalog; ConfigError."""
        if not self.available:
            raise InvalidInput(
                f"{what} {NEEDS_POSTGRESQL}; this one is SQLite (a sandbox), where fleet work"
                " runs in this process",
                hint="run the command without --enqueue" if "--enqueue" in what else None,
            )
        if self._queue is None:
            self._queue = self._factory()
        return self._queue

    def close(self) -> None:
        if self._queue is not None:
            self._queue.close()
            self._queue = None

    # -- enqueue ----------------------------------------------------------------------------

    def enqueue_backups(
        self, names: Sequence[str] = (), *, due: bool = False, region: str | None = None
    ) -> list[Enqueued]:
        """``backup run … --enqueue``: a job per tenant the run would back up (with ``due``,
        and per backup due for verification), returned at once.
        Raises: InvalidInput (also: a SQLite catalog), NotFound, Forbidden, Conflict,
        Unavailable."""
        queue = self.queue("backup run --enqueue")
        tenants = self.backups.runner.select(names, due=due, region=region)
        me = self.ctx.identity.operator
        specs = [JobSpec("backup", t.region, t.name, me, lock=backup_lock(t.name)) for t in tenants]
        if due:

            def due_checks(tx: CatalogTx) -> list[JobSpec]:
                items = self.backups.catalogue.due_items(tx, region)
                return [
                    JobSpec("verify", i.region, i.backup_id, me, lock=f"verify:{i.backup_id}")
                    for i in items
                    if i.kind == "verify" and i.backup_id
                ]

            specs += self.ctx.view(Action.BACKUP_RUN, "due", due_checks)
        names = list(dict.fromkeys(names))
        target = ",".join(names) if 0 < len(names) <= 5 else region or "due"
        params: dict[str, object] = {"tenants": names} if names else {"due": due, "region": region}
        return self._put(queue, Action.BACKUP_RUN, target, params, specs)

    def enqueue_verify(self, backup_id: str, level: str | None = None) -> Enqueued:
        """``backup verify ID --enqueue``. Raises: InvalidInput, NotFound, Forbidden,
        Unavailable."""
        check_backup_id(backup_id)
        if level is not None:
            parse_level(level)
        queue = self.queue("backup verify --enqueue")

        def spec(tx: CatalogTx) -> JobSpec:
            record = tx.backups.get(backup_id)
            if record is None or record.state != "complete":
                raise NotFound(f"no backup {backup_id}", hint="aptien-ops backup list")
            args = {"level": level} if level else {}
            me = self.ctx.identity.operator
            return JobSpec("verify", record.region, backup_id, me, args, f"verify:{backup_id}")

        found = self.ctx.view(Action.BACKUP_VERIFY, backup_id, spec)
        [out] = self._put(queue, Action.BACKUP_VERIFY, backup_id, {"level": level}, [found])
        return out

    def enqueue_migrate(self, region: str | None = None) -> list[Enqueued]:
        """``fleet migrate --enqueue``: a job per live tenant. Raises: InvalidInput,
        Forbidden, Unavailable."""
        if region is not None:
            region_or_fail(self.ctx.settings, region)
        queue = self.queue("fleet migrate --enqueue")
        me = self.ctx.identity.operator

        def specs(tx: CatalogTx) -> list[JobSpec]:
            return [
                JobSpec("migrate", t.region, t.name, me, lock=f"migrate:{t.name}")
                for t in tx.tenants.all(region=region)
                if t.state in LIVE_STATES and t.cluster
            ]

        found = self.ctx.view(Action.FLEET_MIGRATE, region or "fleet", specs)
        return self._put(queue, Action.FLEET_MIGRATE, region or "fleet", {"region": region}, found)

    def follow_up(self, spec: JobSpec) -> None:
        """From a job under ``spec.lock``: queue ``spec`` to run after it (its next batch),
        which :meth:`JobQueue.enqueue` would find already held by the running job."""
        self.queue("follow-up").enqueue([spec], behind=True)

    def _put(
        self,
        queue: JobQueue,
        action: Action,
        target: str,
        params: dict[str, object],
        specs: list[JobSpec],
    ) -> list[Enqueued]:
        with self.ctx.audited(action, target, {**params, "enqueue": True}) as attempt:
            out = queue.enqueue(specs)
            queued = [e.job_id for e in out if not e.already]
            attempt.ok(jobs=queued, already_queued=len(out) - len(queued))
        return out

    # -- the queue ----------------------------------------------------------------------------

    def list(self, *, state: str | None = None, region: str | None = None) -> list[JobRecord]:
        """The newest jobs first. Raises: InvalidInput, Forbidden, Unavailable."""
        if state is not None:
            state = parse_choice_text(state, JOB_STATES, "state")
        if region is not None:
            region_or_fail(self.ctx.settings, region)
        queue = self.queue("jobs list")
        self.ctx.view(Action.JOB_VIEW, region or "jobs", lambda tx: None)
        return queue.jobs(state=state, region=region)

    def show(self, job_id: int) -> JobRecord:
        """Raises: InvalidInput, NotFound, Forbidden, Unavailable."""
        queue = self.queue("jobs show")
        self.ctx.view(Action.JOB_VIEW, str(job_id), lambda tx: None)
        return self._job(queue, job_id)

    @staticmethod
    def _job(queue: JobQueue, job_id: int) -> JobRecord:
        """Raises: NotFound (also: an id no job can have), Unavailable."""
        found = queue.job(job_id) if 0 < job_id < MAX_JOB_ID else None
        if found is None:
            raise NotFound(f"no job {job_id}", hint="aptien-ops jobs list")
        return found

    def retry(self, job_id: int) -> JobRecord:
        """Queue a failed job again. Raises: NotFound, Conflict (not failed), Forbidden."""
        return self._move(Action.JOB_RETRY, job_id, "retry", ("failed",))

    def cancel(self, job_id: int) -> JobRecord:
        """Cancel a waiting job, or ask a running one to stop. Raises: NotFound, Conflict,
        Forbidden."""
        return self._move(Action.JOB_CANCEL, job_id, "cancel", ("todo", "doing"))

    def _move(self, action: Action, job_id: int, verb: str, states: tuple[str, ...]) -> JobRecord:
        queue = self.queue(f"jobs {verb}")
        with self.ctx.audited(action, str(job_id)) as attempt:
            job = self._job(queue, job_id)
            moved = queue.retry(job_id) if verb == "retry" else queue.cancel(job_id)
            if not moved:
                raise Conflict(
                    f"cannot {verb} job {job_id}: it is {job.state}"
                    f" (only a {' or '.join(states)} job)"
                )
            attempt.ok(kind=job.kind, tenant=job.target, region=job.region)
        after = queue.job(job_id)
        return after or job

    def retention(self, done_days: int | None = None) -> JobRetention:
        """``[jobs]``'s retention; ``done_days`` instead of its ``keep_days`` (failed jobs
        are then kept at least as long). Raises: InvalidInput."""
        kept = self.ctx.settings.jobs
        if done_days is None:
            return JobRetention(kept.keep_days, kept.keep_failed_days)
        if not 0 <= done_days <= MAX_KEEP_DAYS:
            raise InvalidInput(
                f"--older-than must be between 0 and {MAX_KEEP_DAYS} days, got {done_days}"
            )
        return JobRetention(done_days, max(done_days, kept.keep_failed_days))

    def prune(self, older_than_days: int | None = None, region: str | None = None) -> PrunedJobs:
        """``jobs prune``: delete the finished jobs past the retention now (what every worker
        does hourly for its region). Raises: InvalidInput, Forbidden, Unavailable."""
        keep = self.retention(older_than_days)
        if region is not None:
            region_or_fail(self.ctx.settings, region)
        queue = self.queue("jobs prune")
        params = {"done_days": keep.done_days, "failed_days": keep.failed_days, "region": region}
        with self.ctx.audited(Action.JOB_PRUNE, region or "jobs", params) as attempt:
            done = queue.prune(keep, region=region)
            attempt.ok(deleted=done.total, by_state=dict(done.by_state))
        return done

    def work(
        self,
        region: str,
        kinds: Sequence[str],
        concurrency: int,
        name: str,
        handler: JobHandler,
        *,
        until_idle: bool = False,
        started: Callable[[], None] | None = None,
    ) -> None:
        """Run ``region``'s worker (logged once, as it starts; then ``started()``).
        Raises: InvalidInput (also: a SQLite catalog), Forbidden, Unavailable."""
        region_or_fail(self.ctx.settings, region)
        kinds = list(dict.fromkeys(kinds)) or list(JOB_KINDS)
        for kind in kinds:
            parse_choice_text(kind, JOB_KINDS, "queue")
        if not 1 <= concurrency <= MAX_CONCURRENCY:
            raise InvalidInput(
                f"--concurrency must be between 1 and {MAX_CONCURRENCY}, got {concurrency}"
            )
        queue = self.queue("worker")
        cron = self.ctx.settings.regions[region].backup.schedule
        schedule = None
        if cron and "schedule" in kinds:
            spec = JobSpec("schedule", region, region, self.ctx.identity.operator)
            schedule = (cron, spec)
        params = {"queues": kinds, "concurrency": concurrency, "name": name, "schedule": cron}
        with self.ctx.audited(Action.JOB_WORK, region, params):
            queue.jobs(region=region, limit=1)  # the queue's schema is there and reachable
        if started is not None:
            started()
        try:
            queue.work(
                region=region,
                kinds=kinds,
                concurrency=concurrency,
                name=name,
                handler=handler,
                until_idle=until_idle,
                schedule=schedule,
                retention=self.retention(),
            )
        except Unavailable:
            # The worker stopped on its own (its catalog connection, heartbeat or schedule
            # failed): one ops-log entry says why; the operator sees the same line.
            with (
                contextlib.suppress(OpsError),
                self.ctx.audited(Action.JOB_WORK, region, {**params, "stopped": True}),
            ):
                raise
            raise


def parse_choice_text(value: str, choices: Sequence[str], what: str) -> str:
    """Raises: InvalidInput naming the choices."""
    if value not in choices:
        raise InvalidInput(f"unknown {what} {value[:40]!r}", hint=f"one of: {', '.join(choices)}")
    return value


__all__ = ["NEEDS_POSTGRESQL", "JobService", "backup_lock"]
