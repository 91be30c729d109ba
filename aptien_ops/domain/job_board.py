"""The job queue at a glance (the TUI's Jobs screen and the dashboard): per region how many
jobs wait, run and failed, the workers connected to the catalog, and the failed jobs with the
reason their worker recorded. Read by ``ports.job_board.JobBoardReader``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

#: The prefix of a region worker's connections' ``application_name`` on the catalog, followed
#: by its pid, region and host (``aptien-ops-worker 4242 eu bastion-1``).
WORKER_APP_PREFIX = "aptien-ops-worker"


def worker_app_name(pid: int, region: str, host: str) -> str:
    """What a worker's catalog connections call themselves (PostgreSQL keeps 63 bytes: the
    host, last, is what a long name loses)."""
    return f"{WORKER_APP_PREFIX} {pid} {region} {host}"[:63]


@dataclass(frozen=True)
class RegionQueue:
    region: str
    waiting: int
    running: int
    failed: int


@dataclass(frozen=True)
class WorkerSeen:
    """A worker process connected to the catalog now: ``since`` its first connection opened,
    ``last_seen`` its last query (its heartbeat every 2 s, its polls every second)."""

    host: str
    pid: int
    region: str
    since: datetime
    last_seen: datetime | None


@dataclass(frozen=True)
class JobFailure:
    """A job failed for good, with the reason its worker recorded in the ops log (untrusted:
    it may quote a cluster's or a client's words)."""

    id: int
    kind: str
    region: str
    target: str
    attempts: int
    requested_by: str
    failed_at: datetime | None
    reason: str


@dataclass(frozen=True)
class JobBoard:
    regions: list[RegionQueue]
    workers: list[WorkerSeen]
    failures: list[JobFailure]
    running: list[tuple[int, str, str, str]]
    """(id, kind, region, target) of the jobs running now."""

    @property
    def failed(self) -> int:
        return sum(r.failed for r in self.regions)
