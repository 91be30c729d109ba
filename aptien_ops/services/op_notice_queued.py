"""Operational notices on the job queue (a PostgreSQL catalog's): ``notice send ID
--enqueue`` records the send as ``notice send`` does and queues a job per region of the
audience; a worker of that region delivers the notice to its tenants (docs/jobs.md)."""

from __future__ import annotations

from collections.abc import Sequence

from aptien_ops.domain.jobs import Enqueued, JobSpec, notice_lock
from aptien_ops.domain.op_notices import StepKind, parse_channels, validate_notice_id
from aptien_ops.errors import Conflict
from aptien_ops.permissions import Action
from aptien_ops.ports.jobs import JobQueue
from aptien_ops.services.op_notice_results import SendResult
from aptien_ops.services.op_notice_send import OpNoticeSending

#: The ``notices`` argument of an operational notice's region job (its target: the notice).
OP_JOBS = "operational"


class QueuedNoticeSending(OpNoticeSending):
    """:class:`OpNoticeSending` with its region jobs: queued, and run in a worker."""

    def enqueue(self, notice_id: str, channels: Sequence[str], queue: JobQueue) -> list[Enqueued]:
        """``notice send ID --enqueue``: authorised as :meth:`send` (four-eyes for a notice
        that tells users), the first delivery recorded as :meth:`send` records it, then a
        ``notify`` job per region of its audience, each delivering that region's tenants'
        part as this operator. Raises: as :meth:`send`."""
        validate_notice_id(notice_id)
        wanted = parse_channels(channels)
        self._users_cleared(notice_id, wanted, first=True)
        params = {"channels": wanted, "enqueue": True}
        with self.ctx.audited(Action.NOTICE_SEND, notice_id, params) as attempt:
            notice, last, tenants, _ = self._current(notice_id)
            if last is None:
                status = self._first_status(notice)
                rows, _, _ = self._rows(notice, tenants, wanted)
                self._record(notice, StepKind.SENT, status, "", wanted, rows)
            me, args = self.ctx.identity.operator, {"notices": OP_JOBS}
            specs = [
                JobSpec("notify", r, notice_id, me, args, notice_lock(notice_id, r))
                for r in sorted({t.region for t in tenants})
            ]
            out = queue.enqueue(specs)
            attempt.ok(jobs=[e.job_id for e in out if not e.already])
        self._rewrite(notice_id)
        return out

    def deliver_region(self, notice_id: str, region: str) -> SendResult:
        """A region worker's job: the notice's last delivery to the tenants of ``region``,
        as the operator who queued it, authorised again (a notice that tells users needs its
        approval to hold still; a job never requests one). Raises: as :meth:`send`."""
        with self.ctx.audited(Action.NOTICE_SEND, notice_id, {"batch": region}) as attempt:
            notice, last, tenants, moved = self._current(notice_id)
            with self.ctx.catalog.read() as tx:
                void = notice.audience.reaches_users and self.users.cleared(tx, notice) is None
            if last is None:
                raise Conflict(f"notice {notice_id} was not sent yet: nothing to deliver")
            if void:
                raise Conflict(f"the approval to tell the users of {notice_id} is void now")
            mine = [t for t in tenants if t.region == region]
            result = self._resume(notice, last, mine, moved, None, region=region)
            self._settle(attempt, result)
        return result
