"""The job queue on the PostgreSQL catalog: procrastinate, its tables in the ``procrastinate``
schema that catalog revision 0012 creates (never by hand).

One task per kind of fleet work (``aptien.backup``, ``aptien.verify``, ``aptien.migrate``,
``aptien.prune``), deferred onto a queue per region and kind (``eu.backup``); the worker runs
them through the handler the service layer gives it, which calls the same services as the
in-process path. An ``Unavailable`` from the handler is retried with backoff; any other error
fails the job for good. A worker also puts back on their queue the jobs of workers whose
heartbeat stopped (``kill -9``, a lost host), so another worker finishes them; a sweep that
fails is logged and tried again after a backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import procrastinate
import procrastinate.worker
from procrastinate import exceptions as pexc
from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import make_url

from aptien_ops.backends.job_upkeep import PRUNE, keep_pruning, prune_params, pruned
from aptien_ops.config import CatalogSettings
from aptien_ops.domain.job_board import worker_app_name
from aptien_ops.domain.jobs import (
    JOB_KINDS,
    Enqueued,
    JobRecord,
    JobRetention,
    JobSpec,
    PrunedJobs,
    queue_name,
)
from aptien_ops.errors import ConfigError, InvalidInput, OpsError, Unavailable, one_line
from aptien_ops.ports.jobs import JobHandler, JobQueue

log = logging.getLogger(__name__)

JOBS_SCHEMA = "procrastinate"
TASK_PREFIX = "aptien."
#: Transient failures (a cluster or store unreachable) are tried this often in all.
MAX_ATTEMPTS = 5
#: Seconds between a worker's heartbeats, and after which a silent worker is taken for dead
#: and its running jobs are queued again.
HEARTBEAT_S = 2.0
STALLED_AFTER_S = 10.0
#: The longest wait after the stalled-job sweep failed (it doubles from a heartbeat).
SWEEP_BACKOFF_MAX_S = 60.0
#: Seconds between a worker's looks for a job it was not told of: a new job is announced at
#: once (LISTEN/NOTIFY), so this finds only a job that comes due later (a retry's backoff) or
#: one announced while the listener reconnected. procrastinate's default; each look is a
#: catalog transaction, every worker, all night.
FETCH_POLL_S = 5.0
#: Connections of a queue's pool at most: a worker's fetcher, listener, heartbeat and
#: sweeper, and the jobs' deferrals (each job's own services use the catalog's engine).
POOL_MAX = 8

#: On the queue's connections, whose search path is its schema.
_LIST = """
SELECT j.id, j.queue_name, j.task_name, j.status::text AS status, j.attempts, j.args,
       (SELECT min(e.at) FROM procrastinate_events e
         WHERE e.job_id = j.id AND e.type = 'deferred') AS queued_at,
       last.type::text AS last_event, last.at AS last_event_at,
       f.reason AS failure, f.failed_at
  FROM procrastinate_jobs j
  LEFT JOIN aptien_job_failures f ON f.job_id = j.id
  LEFT JOIN LATERAL (SELECT e.type, e.at FROM procrastinate_events e
                      WHERE e.job_id = j.id ORDER BY e.id DESC LIMIT 1) last ON true
 WHERE j.task_name LIKE 'aptien.%%'
   AND (%(id)s::bigint IS NULL OR j.id = %(id)s)
   AND (%(status)s::text IS NULL OR j.status::text = %(status)s)
   AND (%(queue_prefix)s::text IS NULL OR j.queue_name LIKE %(queue_prefix)s)
 ORDER BY j.id DESC
 LIMIT %(limit)s
"""
#: A job attempt's failure, the last one kept (table of catalog revision 0015).
_FAILED = """
INSERT INTO aptien_job_failures (job_id, reason) VALUES (%(id)s, %(reason)s)
ON CONFLICT (job_id) DO UPDATE SET reason = EXCLUDED.reason, failed_at = now()
"""
#: A job that succeeded after a failed attempt: no failure to show any more.
_CLEARED = "DELETE FROM aptien_job_failures WHERE job_id = %(id)s"
#: The longest failure reason kept (one line an operator reads).
FAILURE_LIMIT = 300
_HELD = """
SELECT DISTINCT ON (lock) lock, id FROM procrastinate_jobs
 WHERE lock = ANY(%(locks)s) AND status IN ('todo', 'doing') ORDER BY lock, id
"""


class _Worker(procrastinate.worker.Worker):
    """procrastinate's worker, whose side-task monitor keeps watching: without a periodic
    task, its deferrer returns at once and the monitor (which waits for the first side task
    to end) stopped watching, so a heartbeat that failed went unnoticed while other workers
    took this one for dead and ran its jobs again. (procrastinate is pinned exactly: the
    catalog's migration applies its schema; tests/test_jobs.py checks this hook.)"""

    async def _periodic_deferrer(self) -> None:
        await super()._periodic_deferrer()  # type: ignore[no-untyped-call]
        await asyncio.Event().wait()


class _App(procrastinate.App):
    def _worker(self, **kwargs: Any) -> procrastinate.worker.Worker:
        return _Worker(app=self, **{**self.worker_defaults, **kwargs})


def catalog_conninfo(settings: CatalogSettings) -> tuple[str, str | None]:
    """The catalog's libpq conninfo with the queue's schema first on the search path, and
    its password (to keep out of messages). Raises: ConfigError (not a PostgreSQL URL)."""
    url = make_url(settings.url)
    if url.get_backend_name() != "postgresql":
        raise ConfigError("the job queue needs a PostgreSQL catalog")
    secret = settings.password.read() or url.password
    params: dict[str, Any] = {
        "host": url.host,
        "port": url.port,
        "dbname": url.database,
        "user": url.username,
        "password": secret,
        "application_name": "aptien-ops-jobs",
    }
    params.update({k: v for k, v in url.query.items() if isinstance(v, str)})
    params["options"] = f"-c search_path={JOBS_SCHEMA}"
    return make_conninfo(**{k: v for k, v in params.items() if v is not None}), secret


class ProcrastinateQueue:
    """The job queue of a PostgreSQL catalog."""

    def __init__(self, settings: CatalogSettings) -> None:
        """Raises: ConfigError (not a PostgreSQL catalog; its password cannot be read)."""
        self._conninfo, self._secret = catalog_conninfo(settings)
        self._handler: JobHandler | None = None
        # An asynchronous connector, used synchronously by commands (procrastinate opens a
        # synchronous pool for them) and asynchronously by a worker, whose periodic deferrer
        # defers through the tasks' own app.
        self.app = _App(
            connector=procrastinate.PsycopgConnector(
                conninfo=self._conninfo, min_size=1, max_size=POOL_MAX
            )
        )
        retry = procrastinate.RetryStrategy(
            max_attempts=MAX_ATTEMPTS, exponential_wait=2, retry_exceptions=[Unavailable]
        )
        for kind in JOB_KINDS:
            self._register(kind, retry)
        self._opened = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._retention: JobRetention | None = None

    def _register(self, kind: str, retry: procrastinate.RetryStrategy) -> None:
        def run(context: procrastinate.JobContext, /, **kwargs: Any) -> None:
            if self._handler is None:
                raise RuntimeError("no handler: this queue is not running a worker")
            job = context.job
            assert job is not None and job.id is not None
            try:
                self._handler(kind, kwargs, job.id)
            except Exception as exc:
                self._note_failure(job.id, exc)
                raise
            if job.attempts > 0:  # an earlier attempt may have left a failure: it is over
                self._in_loop(_CLEARED, id=job.id)

        self.app.task(name=f"{TASK_PREFIX}{kind}", queue=kind, retry=retry, pass_context=True)(run)

    def _note_failure(self, job_id: int, exc: Exception) -> None:
        """Keep why an attempt of ``job_id`` failed, for ``jobs show`` (from a job's thread,
        through the worker's loop). Never fails the job's own outcome: a reason that cannot
        be kept is still in the ops log."""
        if isinstance(exc, OpsError):
            reason = exc.message
        else:
            reason = f"internal error {type(exc).__name__}"
        reason = one_line(self._hidden(reason) or type(exc).__name__, FAILURE_LIMIT)
        self._in_loop(_FAILED, id=job_id, reason=reason)

    def _in_loop(self, query: str, **params: Any) -> None:
        """Run ``query`` on the worker's loop from a job's thread; its own failure is ignored
        (the job's outcome stands, and the ops log has every attempt)."""
        loop = self._loop
        if loop is None:
            return
        write = self.app.connector.execute_query_async(query, **params)
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(write, loop).result(timeout=30)

    # ------------------------------------------------------------------ connections

    def _hidden(self, text: str) -> str:
        """``text``'s first line without the catalog's password."""
        line = text.strip().splitlines()[0] if text.strip() else ""
        return line.replace(self._secret, "***") if self._secret else line

    def _reason_of(self, exc: BaseException) -> str:
        """A database error's cause, in one line without the catalog's password."""
        return self._hidden(_reason(exc))

    def _unavailable(self, exc: BaseException) -> Unavailable:
        reason = self._hidden(str(exc)) or type(exc).__name__
        return Unavailable(f"the job queue is unreachable: {reason}")

    @contextlib.contextmanager
    def _guarded(self) -> Iterator[None]:
        try:
            if not self._opened:
                self.app.open()
                self._opened = True
            yield
        except (pexc.ConnectorException, pexc.AppNotOpen, OSError) as exc:
            raise self._unavailable(exc) from None
        except Exception as exc:  # psycopg / psycopg_pool errors, at the adapter's edge
            if type(exc).__module__.startswith(("psycopg", "psycopg_pool")):
                raise self._unavailable(exc) from None
            raise

    def _sync(self) -> Any:
        return self.app.connector.get_sync_connector()

    # ------------------------------------------------------------------ the port

    def enqueue(self, specs: Sequence[JobSpec], *, behind: bool = False) -> list[Enqueued]:
        """Two statements for the whole batch: which locks are held, then every other job
        deferred at once; only if another operator queued one of them in between are the
        rest deferred one by one (each then finds its own lock held or not)."""
        for spec in specs:
            if spec.kind not in JOB_KINDS:
                raise InvalidInput(f"unknown kind of job {spec.kind!r}")
        with self._guarded():
            if behind:  # procrastinate's queueing lock refuses only a second waiting job
                return [self._enqueue_one(spec, behind=True) for spec in specs]
            held = self._held([s.lock for s in specs if s.lock is not None])
            fresh = [i for i, s in enumerate(specs) if s.lock not in held]
            try:
                ids = iter(self._defer([specs[i] for i in fresh]))
            except pexc.AlreadyEnqueued:  # another operator queued one a moment ago
                return [self._enqueue_one(spec) for spec in specs]
        made = set(fresh)
        return [
            Enqueued(s.kind, s.target, s.region, next(ids))
            if i in made
            else Enqueued(s.kind, s.target, s.region, held[s.lock or ""], already=True)
            for i, s in enumerate(specs)
        ]

    def _enqueue_one(self, spec: JobSpec, *, behind: bool = False) -> Enqueued:
        if spec.lock is not None and not behind:
            held = self._held([spec.lock])
            if held:
                return Enqueued(spec.kind, spec.target, spec.region, held[spec.lock], already=True)
        try:
            [job_id] = self._defer([spec])
        except pexc.AlreadyEnqueued:  # another operator queued it a moment ago
            holder = self._held([spec.lock or ""]).get(spec.lock or "")
            return Enqueued(spec.kind, spec.target, spec.region, holder, already=True)
        return Enqueued(spec.kind, spec.target, spec.region, job_id)

    def _defer(self, specs: Sequence[JobSpec]) -> list[int]:
        """Defer ``specs`` in one statement (procrastinate's batch defer: all or none).
        Raises: AlreadyEnqueued (a queueing lock is taken)."""
        if not specs:
            return []
        jobs = [
            self.app.configure_task(
                name=f"{TASK_PREFIX}{spec.kind}",
                queue=queue_name(spec.region, spec.kind),
                lock=spec.lock,
                queueing_lock=spec.lock,
                task_kwargs=spec.task_kwargs(),
            ).job
            for spec in specs
        ]
        deferred = self.app.job_manager.batch_defer_jobs(jobs)
        return [int(job.id or 0) for job in deferred]

    def _held(self, locks: Sequence[str]) -> dict[str, int]:
        """The job waiting or running under each of ``locks`` that has one."""
        if not locks:
            return {}
        rows = self._sync().execute_query_all(_HELD, locks=list(locks))
        return {str(row["lock"]): int(row["id"]) for row in rows}

    def jobs(
        self, *, state: str | None = None, region: str | None = None, limit: int = 200
    ) -> list[JobRecord]:
        return self._select(state=state, region=region, limit=limit)

    def job(self, job_id: int) -> JobRecord | None:
        found = self._select(job_id=job_id, limit=1)
        return found[0] if found else None

    def _select(
        self,
        *,
        job_id: int | None = None,
        state: str | None = None,
        region: str | None = None,
        limit: int,
    ) -> list[JobRecord]:
        prefix = f"{region}.%" if region is not None else None
        with self._guarded():
            rows = self._sync().execute_query_all(
                _LIST, id=job_id, status=state, queue_prefix=prefix, limit=limit
            )
        return [_record(row) for row in rows]

    def retry(self, job_id: int) -> bool:
        with self._guarded():
            job = self.job(job_id)
            if job is None or job.state != "failed":
                return False
            self.app.job_manager.retry_job_by_id(job_id, datetime.now(UTC))
        return True

    def cancel(self, job_id: int) -> bool:
        with self._guarded():
            job = self.job(job_id)
            if job is None or job.state not in ("todo", "doing"):
                return False
            return bool(self.app.job_manager.cancel_job_by_id(job_id, abort=job.state == "doing"))

    def prune(self, retention: JobRetention, *, region: str | None = None) -> PrunedJobs:
        with self._guarded():
            rows = self._sync().execute_query_all(PRUNE, **prune_params(retention, region))
        return pruned(rows)

    def work(
        self,
        *,
        region: str,
        kinds: Sequence[str],
        concurrency: int,
        name: str,
        handler: JobHandler,
        until_idle: bool = False,
        schedule: tuple[str, JobSpec] | None = None,
        retention: JobRetention | None = None,
    ) -> None:
        self._handler = handler
        self._retention = retention
        queues = [queue_name(region, kind) for kind in kinds]
        if schedule is not None:
            self._periodic(*schedule)
        # Its catalog connections named after the worker: the Jobs screen lists the workers
        # connected, with their host, pid and region (backends.job_board).
        named = procrastinate.PsycopgConnector(
            conninfo=make_conninfo(
                self._conninfo,
                application_name=worker_app_name(os.getpid(), region, socket.gethostname()),
            ),
            min_size=1,
            max_size=POOL_MAX,
        )
        try:
            with self.app.replace_connector(named) as app:
                asyncio.run(self._work(app, queues, concurrency, name, until_idle))
        except (pexc.ConnectorException, OSError) as exc:
            raise self._unavailable(exc) from None

    def _periodic(self, cron: str, spec: JobSpec) -> None:
        """Queue ``spec`` at each tick of ``cron``: every worker of the region defers it, and
        procrastinate keeps one job per tick (its periodic defers are unique per task, id and
        tick). Raises: ConfigError."""
        import croniter

        if not croniter.croniter.is_valid(cron):
            raise ConfigError(
                f"regions.{spec.region}.backup.schedule: not a cron expression: {cron!r:.60}"
            )
        task = self.app.tasks[f"{TASK_PREFIX}{spec.kind}"]
        self.app.periodic(
            cron=cron,
            periodic_id=spec.region,
            queue=queue_name(spec.region, spec.kind),
            task_kwargs=spec.task_kwargs(),
        )(task)

    async def _work(
        self,
        app: procrastinate.App,
        queues: list[str],
        concurrency: int,
        name: str,
        until_idle: bool,
    ) -> None:
        self._loop = asyncio.get_running_loop()
        failures = _SideTaskFailures()
        worker_log = logging.getLogger("procrastinate.worker")
        worker_log.addHandler(failures)
        upkeep: list[asyncio.Task[None]] = []
        async with app.open_async():
            sweeper = asyncio.create_task(self._requeue_stalled(app, queues))
            if self._retention is not None:
                region = queues[0].partition(".")[0]
                pruner = keep_pruning(app.connector, self._retention, region, self._reason_of)
                upkeep.append(asyncio.create_task(pruner))
            try:
                await app.run_worker_async(
                    queues=queues,
                    concurrency=concurrency,
                    name=name,
                    wait=not until_idle,
                    update_heartbeat_interval=HEARTBEAT_S,
                    stalled_worker_timeout=STALLED_AFTER_S,
                    fetch_job_polling_interval=FETCH_POLL_S,
                    delete_jobs="never",
                )
            finally:
                worker_log.removeHandler(failures)
                for task in (sweeper, *upkeep):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
        if failures.first is not None:
            # procrastinate stops a worker whose heartbeat, listener or deferrer failed, and
            # returns as if asked to stop: say why, and fail.
            raise Unavailable(f"worker stopped: {self._hidden(failures.first)}")

    async def _requeue_stalled(self, app: procrastinate.App, queues: list[str]) -> None:
        """Every heartbeat: the running jobs of our queues whose worker went silent go back
        on their queue (their partial output is never indexed; the next run cleans it). One
        query for all of them, however many queues the worker takes: the stalled jobs of
        every queue, of which ours are put back."""
        manager = app.job_manager
        ours = set(queues)
        failures = 0
        while True:
            try:
                stalled = await manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_AFTER_S)
                for job in stalled:
                    if job.queue in ours:
                        await manager.retry_job(job)
            except Exception as exc:  # noqa: BLE001 - refused or dropped: later, not never
                failures += 1
                wait = min(HEARTBEAT_S * 2**failures, SWEEP_BACKOFF_MAX_S)
                log.warning(
                    "the stalled-job sweep failed (%s); trying again in %.0f s",
                    self._reason_of(exc),
                    wait,
                )
                await asyncio.sleep(wait)
                continue
            failures = 0
            await asyncio.sleep(HEARTBEAT_S)

    def close(self) -> None:
        if self._opened:
            self.app.close()
            self._opened = False


class _SideTaskFailures(logging.Handler):
    """Catches procrastinate's record of a worker's background task that failed (its
    ``action`` is ``side_task_failed``): the first one's task and reason."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.first: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "action", None) != "side_task_failed" or self.first is not None:
            return
        task = getattr(record, "task_name", "background")
        exc = record.exc_info[1] if record.exc_info else None
        reason = _reason(exc) if exc is not None else "?"
        self.first = f"its {task} task failed: {reason}"


def _reason(exc: BaseException) -> str:
    """The first line of a database error's cause (procrastinate's own says only that it
    was a database error)."""
    while isinstance(exc, pexc.ProcrastinateException) and exc.__cause__ is not None:
        exc = exc.__cause__
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _record(row: Mapping[str, Any]) -> JobRecord:
    args = dict(row["args"] or {})
    region, _, kind = str(row["queue_name"]).partition(".")
    return JobRecord(
        id=int(row["id"]),
        kind=str(row["task_name"]).removeprefix(TASK_PREFIX) or kind,
        region=str(args.get("region") or region),
        target=str(args.get("target", "")),
        state=str(row["status"]),
        attempts=int(row["attempts"]),
        requested_by=str(args.get("requested_by", "")),
        args={k: v for k, v in args.items() if k not in ("target", "region", "requested_by")},
        queued_at=row["queued_at"],
        last_event=row["last_event"],
        last_event_at=row["last_event_at"],
        failure=row["failure"],
        failed_at=row["failed_at"],
    )


_: type[JobQueue] = ProcrastinateQueue
