"""``aptien-ops worker --region R``: the loop of a region's worker on the catalog's job queue.

Each job runs in a console of its own, opened as the operator who queued it (so the job's
service authorises that operator, as the in-process command would) and tagged with this
worker's host, pid and region and the job's id, which join every ops-log entry it writes.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from aptien_ops.composition.console import Console
from aptien_ops.errors import OpsError


def run_worker(
    console: Console,
    *,
    region: str,
    kinds: Sequence[str],
    concurrency: int = 1,
    until_idle: bool = False,
    report: Callable[[str], None] | None = None,
) -> None:
    """Run ``region``'s worker until SIGINT/SIGTERM (``until_idle``: until its queues are
    empty). Raises: InvalidInput (also: a SQLite catalog), Forbidden, Unavailable."""
    from aptien_ops.composition import open_console
    from aptien_ops.identity import validate_operator_name

    host, pid = socket.gethostname(), os.getpid()
    tag: dict[str, object] = {"host": host, "pid": pid, "region": region}
    console.ctx.worker = tag

    def handler(kind: str, args: Mapping[str, Any], job_id: int) -> None:
        operator = validate_operator_name(str(args.get("requested_by") or ""))
        who = replace(console.identity, operator=operator, requested=None)
        job = open_console(settings=console.settings, identity=who, clock=console.ctx.clock)
        job.ctx.worker = {**tag, "job": job_id}
        target = str(args.get("target", ""))
        try:
            job.job_runner.run(kind, args, job_id, region)
        except OpsError as exc:
            if report is not None:
                report(f"job {job_id} {kind} {target}: failed: {exc.message}")
            raise
        except Exception as bug:  # failed for good; the queue keeps the job as failed
            if report is not None:
                report(f"job {job_id} {kind} {target}: failed: internal error {type(bug).__name__}")
            raise
        finally:
            job.close()
        if report is not None:
            report(f"job {job_id} {kind} {target}: ok")

    name = f"{host}:{pid}:{region}"

    def started() -> None:
        if report is not None:
            report(f"worker {name}: waiting for region {region}'s jobs")

    console.jobs.work(
        region, kinds, concurrency, name, handler, until_idle=until_idle, started=started
    )
