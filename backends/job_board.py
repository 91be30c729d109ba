"""The job queue at a glance, read from the PostgreSQL catalog: procrastinate's jobs and
events (its own schema), the workers' connections (``pg_stat_activity``: a region worker names
its connections after its pid, region and host) and, for each failed job, its reason (the
queue's own record, else the failure its worker logged in the ops log)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo
from psycopg.rows import dict_row

from aptien_ops.backends.job_queue import JOBS_SCHEMA, TASK_PREFIX, catalog_conninfo
from aptien_ops.config import CatalogSettings
from aptien_ops.domain.job_board import (
    WORKER_APP_PREFIX,
    JobBoard,
    JobFailure,
    RegionQueue,
    WorkerSeen,
)
from aptien_ops.errors import ConfigError, Unavailable
from aptien_ops.ports.job_board import JobBoardReader

_DEPTH = """
SELECT split_part(queue_name, '.', 1) AS region, status::text AS status, count(*) AS n
  FROM procrastinate.procrastinate_jobs
 WHERE task_name LIKE %(tasks)s AND status IN ('todo', 'doing', 'failed')
 GROUP BY 1, 2
"""
_RUNNING = """
SELECT id, task_name, queue_name, args FROM procrastinate.procrastinate_jobs
 WHERE task_name LIKE %(tasks)s AND status = 'doing' ORDER BY id LIMIT 200
"""
_WORKERS = """
SELECT application_name AS name, min(backend_start) AS since, max(query_start) AS last_seen
  FROM pg_stat_activity
 WHERE datname = current_database() AND application_name LIKE %(workers)s
 GROUP BY application_name ORDER BY 1
"""
_FAILED = """
SELECT j.id, j.task_name, j.queue_name, j.args, j.attempts,
       (SELECT max(e.at) FROM procrastinate.procrastinate_events e
         WHERE e.job_id = j.id AND e.type = 'failed') AS failed_at,
       f.reason AS failure
  FROM procrastinate.procrastinate_jobs j
  LEFT JOIN procrastinate.aptien_job_failures f ON f.job_id = j.id
 WHERE j.task_name LIKE %(tasks)s AND j.status = 'failed'
 ORDER BY j.id DESC LIMIT %(limit)s
"""
#: The newest failure each job's worker logged (the worker's tag carries the job's id): the
#: reason of a job the queue kept none for (revision 0015's table; failed before it).
_REASONS = """
SELECT DISTINCT ON (job) job, outcome, params FROM (
  SELECT (params::jsonb -> 'worker' ->> 'job')::bigint AS job, seq, outcome, params
    FROM opslog
   WHERE outcome <> 'ok' AND params LIKE '%%"worker"%%'
     AND (params::jsonb -> 'worker' ->> 'job') = ANY(%(ids)s)
) found ORDER BY job, seq DESC
"""
#: The queue's tables are in its own schema (``JOBS_SCHEMA``, named in full above).
_LIKE = {"tasks": f"{TASK_PREFIX}%", "workers": f"{WORKER_APP_PREFIX} %"}
assert JOBS_SCHEMA == "procrastinate"
NO_REASON = "no reason recorded (the worker stopped, or failed outside a service: its output)"


class PostgresJobBoard:
    def __init__(self, settings: CatalogSettings) -> None:
        """Raises: ConfigError (not a PostgreSQL catalog)."""
        conninfo, self._secret = catalog_conninfo(settings)
        # The catalog's own search path (its ops log), the queue's tables named in full.
        self._conninfo = make_conninfo(conninfo, application_name="aptien-ops-jobs-board")
        self._conninfo = self._conninfo.replace(f"-c search_path={JOBS_SCHEMA}", "")

    def read(self, *, failures: int = 50) -> JobBoard:
        try:
            with psycopg.connect(self._conninfo, row_factory=dict_row) as conn:
                depth = conn.execute(_DEPTH, _LIKE).fetchall()
                running = conn.execute(_RUNNING, _LIKE).fetchall()
                workers = conn.execute(_WORKERS, _LIKE).fetchall()
                failed = conn.execute(_FAILED, {**_LIKE, "limit": failures}).fetchall()
                ids = [str(row["id"]) for row in failed]
                reasons = conn.execute(_REASONS, {"ids": ids}).fetchall() if ids else []
        except psycopg.Error as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "error"
            if self._secret:
                reason = reason.replace(self._secret, "***")
            raise Unavailable(f"the job queue is unreachable: {reason}") from None
        return JobBoard(
            regions=_regions(depth),
            workers=[w for w in map(_worker, workers) if w is not None],
            failures=[_failure(row, {int(r["job"]): r for r in reasons}) for row in failed],
            running=[
                (int(r["id"]), _kind(r), _region(r), str((r["args"] or {}).get("target", "")))
                for r in running
            ],
        )

    def close(self) -> None:
        pass


def _regions(rows: list[dict[str, Any]]) -> list[RegionQueue]:
    counts: dict[str, dict[str, int]] = {}
    for row in rows:
        counts.setdefault(str(row["region"]), {})[str(row["status"])] = int(row["n"])
    return [
        RegionQueue(region, c.get("todo", 0), c.get("doing", 0), c.get("failed", 0))
        for region, c in sorted(counts.items())
    ]


def _worker(row: Mapping[str, Any]) -> WorkerSeen | None:
    parts = str(row["name"]).split(" ", 3)
    if len(parts) != 4 or not parts[1].isdigit():
        return None
    _, pid, region, host = parts
    return WorkerSeen(host, int(pid), region, row["since"], row["last_seen"])


def _kind(row: Mapping[str, Any]) -> str:
    return str(row["task_name"]).removeprefix(TASK_PREFIX)


def _region(row: Mapping[str, Any]) -> str:
    return str((row["args"] or {}).get("region") or str(row["queue_name"]).partition(".")[0])


def _failure(row: Mapping[str, Any], reasons: Mapping[int, Mapping[str, Any]]) -> JobFailure:
    args = row["args"] or {}
    logged = reasons.get(int(row["id"]))
    return JobFailure(
        id=int(row["id"]),
        kind=_kind(row),
        region=_region(row),
        target=str(args.get("target", "")),
        attempts=int(row["attempts"]),
        requested_by=str(args.get("requested_by", "")),
        failed_at=row["failed_at"],
        reason=row["failure"] or (_reason(logged) if logged is not None else NO_REASON),
    )


def _reason(logged: Mapping[str, Any]) -> str:
    try:
        params = json.loads(logged["params"])
    except ValueError:
        params = {}
    for key in ("reason", "error", "detail", "message"):
        if isinstance(params, dict) and params.get(key):
            return str(params[key])
    return str(logged["outcome"])


_: type[JobBoardReader] = PostgresJobBoard
__all__ = ["NO_REASON", "ConfigError", "PostgresJobBoard"]
