"""The job queue's finished jobs deleted after their retention: by ``jobs prune`` and by every
worker, for its region, once an hour (procrastinate's own ``delete_old_jobs`` rule: a job is
as old as its last event; ours also counts what it deleted and keeps failed jobs longer).
A job that is the last tick of a periodic task stays: procrastinate's record of that tick
(which keeps the tick from being queued twice) points at it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from aptien_ops.domain.jobs import JobRetention, PrunedJobs

log = logging.getLogger(__name__)

#: How often a worker deletes its region's finished jobs past their retention.
PRUNE_EVERY_S = 3600.0

#: On the queue's connections, whose search path is its schema.
PRUNE = """
WITH gone AS (
  DELETE FROM procrastinate_jobs j
   WHERE j.task_name LIKE 'aptien.%%'
     AND j.status IN ('succeeded', 'cancelled', 'aborted', 'failed')
     AND (%(queue_prefix)s::text IS NULL OR j.queue_name LIKE %(queue_prefix)s)
     AND NOT EXISTS (SELECT 1 FROM procrastinate_periodic_defers d WHERE d.job_id = j.id)
     AND (SELECT max(e.at) FROM procrastinate_events e WHERE e.job_id = j.id)
         < now() - make_interval(days => CASE WHEN j.status = 'failed'
                                             THEN %(failed_days)s ELSE %(done_days)s END)
  RETURNING j.status::text AS status
)
SELECT status, count(*) AS n FROM gone GROUP BY status
"""


def prune_params(retention: JobRetention, region: str | None) -> dict[str, Any]:
    return {
        "queue_prefix": f"{region}.%" if region is not None else None,
        "done_days": retention.done_days,
        "failed_days": retention.failed_days,
    }


def pruned(rows: list[dict[str, Any]]) -> PrunedJobs:
    return PrunedJobs({str(r["status"]): int(r["n"]) for r in rows})


async def keep_pruning(
    connector: Any, retention: JobRetention, region: str, hidden: Callable[[BaseException], str]
) -> None:
    """A worker's hourly upkeep (from its start): its region's finished jobs past their
    retention deleted. A round the catalog refuses is logged and tried at the next."""
    params = prune_params(retention, region)
    while True:
        try:
            rows = await connector.execute_query_all_async(PRUNE, **params)
        except Exception as exc:  # noqa: BLE001 - refused or dropped: the next round
            log.warning("deleting region %s's old jobs failed (%s)", region, hidden(exc))
        else:
            done = pruned(rows)
            if done.total:
                log.info("deleted %d finished jobs of region %s", done.total, region)
        await asyncio.sleep(PRUNE_EVERY_S)
