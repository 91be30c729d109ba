"""``aptien-ops worker --region R``: the loop of a region's worker on the catalog's job queue.

Each job runs in a console opened as the operator who queued it (so the job's service
authorises that operator, as the in-process command would) and tagged with this worker's
host, pid and region and the job's id, which join every ops-log entry it writes. A job
thread keeps its console per operator between jobs (its tenant stores), with the operator's
roles and the policy read again for each job; every job console uses the worker's one
catalog engine (its connection pool), never one of its own.

At each schedule tick the worker reconciles its region's store and signs the ops log's head
into it (what ``backup run`` does around a run), and it signs the head when it stops; each
backup cleans its own tenant's partial files first, as ever.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from aptien_ops.composition.console import Console
from aptien_ops.errors import OpsError


class _JobConsoles:
    """One console per job thread and operator, on the worker's catalog, closed when the
    worker stops."""

    def __init__(self, base: Console) -> None:
        self.base = base
        self.local = threading.local()
        self.opened: list[Console] = []
        self.lock = threading.Lock()

    def get(self, operator: str) -> Console:
        mine: dict[str, Console] = self.local.__dict__.setdefault("consoles", {})
        if operator not in mine:
            who = replace(self.base.identity, operator=operator, requested=None)
            # On the worker's own catalog engine: no engine, connections, schema check and
            # ops-log head check of its own per job thread (the pool is thread-safe, and
            # each transaction takes a connection only for its duration).
            made = Console(self.base.ctx.borrowed_by(who), owns_catalog=False)
            mine[operator] = made
            with self.lock:
                self.opened.append(made)
        console = mine[operator]
        console.ctx.forget_roles()
        console.ctx.forget_policy()
        return console

    def close(self) -> None:
        with self.lock:
            for console in self.opened:
                console.close()
            self.opened.clear()


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
    from aptien_ops.identity import validate_operator_name

    host, pid = socket.gethostname(), os.getpid()
    tag: dict[str, object] = {"host": host, "pid": pid, "region": region}
    console.ctx.worker = tag
    consoles = _JobConsoles(console)
    say = report or (lambda line: None)

    def handler(kind: str, args: Mapping[str, Any], job_id: int) -> None:
        operator = validate_operator_name(str(args.get("requested_by") or ""))
        job = consoles.get(operator)
        job.ctx.worker = {**tag, "job": job_id}
        target = str(args.get("target", ""))
        try:
            job.job_runner.run(kind, args, job_id, region)
        except OpsError as exc:
            say(f"job {job_id} {kind} {target}: failed: {exc.message}")
            raise
        except Exception as bug:  # failed for good; the queue keeps the job as failed
            say(f"job {job_id} {kind} {target}: failed: internal error {type(bug).__name__}")
            raise
        say(f"job {job_id} {kind} {target}: ok")

    name = f"{host}:{pid}:{region}"

    def started() -> None:
        say(f"worker {name}: waiting for region {region}'s jobs")

    try:
        console.jobs.work(
            region, kinds, concurrency, name, handler, until_idle=until_idle, started=started
        )
    finally:
        consoles.close()
    try:
        console.backups.checkpoint([region])
    except OpsError as exc:
        say(f"worker {name}: the ops log's head not signed into region {region}: {exc.message}")
