"""Fleet work put on the job queue (a PostgreSQL catalog's): what a job asks for, and a job
as an operator sees it. The queue itself is ``ports.jobs.JobQueue``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aptien_ops.domain.values import iso

#: What a job does, each on its own queue per region (``eu.backup``, ``us.verify``, …);
#: ``schedule`` is the periodic job that queues a region's due backups and verifications;
#: ``notify`` a region's batch of a breach-notice campaign.
JOB_KINDS = ("backup", "verify", "migrate", "prune", "schedule", "notify")
#: A job's state, as procrastinate names it.
JOB_STATES = ("todo", "doing", "succeeded", "failed", "cancelled", "aborted")


def queue_name(region: str, kind: str) -> str:
    """The queue of ``kind`` jobs of ``region``'s tenants."""
    return f"{region}.{kind}"


def notice_lock(campaign: str, region: str) -> str:
    """The lock under which a notice campaign's batches of one region wait and run, one at
    a time."""
    return f"notify:{campaign}:{region}"


@dataclass(frozen=True)
class JobSpec:
    """One job to put on the queue: ``kind`` for ``target`` (a tenant, a backup id, a region)
    in ``region``, on behalf of ``requested_by``; ``lock`` keeps two such jobs from waiting or
    running at once (a tenant's backups)."""

    kind: str
    region: str
    target: str
    requested_by: str
    args: dict[str, Any] = field(default_factory=dict)
    lock: str | None = None

    def task_kwargs(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "region": self.region,
            "requested_by": self.requested_by,
            **self.args,
        }


@dataclass(frozen=True)
class Enqueued:
    """What became of one :class:`JobSpec`: a new job, or the job already waiting under
    its lock (``already``)."""

    kind: str
    target: str
    region: str
    job_id: int | None
    already: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "target": self.target,
            "region": self.region,
            "job_id": self.job_id,
            "already_queued": self.already,
        }


@dataclass(frozen=True)
class JobRecord:
    """A job as the queue holds it."""

    id: int
    kind: str
    region: str
    target: str
    state: str
    attempts: int
    requested_by: str
    args: dict[str, Any]
    queued_at: datetime | None = None
    last_event: str | None = None
    last_event_at: datetime | None = None
    #: Why its last attempt failed (one line, untrusted text), and when; None if none did.
    failure: str | None = None
    failed_at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "region": self.region,
            "target": self.target,
            "state": self.state,
            "attempts": self.attempts,
            "requested_by": self.requested_by,
            "args": self.args,
            "queued_at": iso(self.queued_at) if self.queued_at else None,
            "last_event": self.last_event,
            "last_event_at": iso(self.last_event_at) if self.last_event_at else None,
            "failure": self.failure,
            "failed_at": iso(self.failed_at) if self.failed_at else None,
        }


@dataclass(frozen=True)
class JobRetention:
    """How long the queue keeps finished jobs, in days since they finished: succeeded,
    cancelled and aborted ones ``done_days``, failed ones (neither retried nor cancelled)
    ``failed_days``."""

    done_days: int
    failed_days: int


@dataclass(frozen=True)
class PrunedJobs:
    """The finished jobs deleted, counted by state."""

    by_state: Mapping[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_state.values())

    def as_json(self) -> dict[str, Any]:
        return {"deleted": self.total, "by_state": dict(self.by_state)}
