"""What a worker does with one job: check the job's tenant belongs to the worker's region,
then call the same service the in-process command calls (``backup run NAME``, ``backup
verify``, ``fleet migrate``, ``backup prune``), which authorises the operator who queued it and
records the outcome in the catalog and the ops log exactly as that command does.

A job for a tenant of another region is refused and logged (``job.work``,
``failed:wrong-region``), and fails for good: its data never streams through this host.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aptien_ops.domain.jobs import JOB_KINDS, JobSpec, notice_lock
from aptien_ops.errors import Conflict, InvalidInput, NotFound, OpsError, Unavailable
from aptien_ops.permissions import Action
from aptien_ops.ports import CatalogTx
from aptien_ops.services.backups import BackupService
from aptien_ops.services.billing_notices import BILLING_JOBS, BillingNoticeService
from aptien_ops.services.breach_notices import NoticeService
from aptien_ops.services.context import OpsContext, existing_tenant
from aptien_ops.services.fleet import FleetService
from aptien_ops.services.jobs import JobService
from aptien_ops.services.notify_engine import CampaignBusy
from aptien_ops.services.op_notice_queued import OP_JOBS, QueuedNoticeSending

WRONG_REGION = "wrong-region"


class JobRunner:
    """Runs jobs on behalf of the operator who queued them (the context's identity)."""

    def __init__(
        self,
        ctx: OpsContext,
        backups: BackupService,
        fleet: FleetService,
        jobs: Callable[[], JobService],
        notices: Callable[[], NoticeService],
        billing_notices: Callable[[], BillingNoticeService],
        op_notices: Callable[[], QueuedNoticeSending],
    ) -> None:
        self.ctx = ctx
        self.backups = backups
        self.fleet = fleet
        self.jobs = jobs
        self.notices = notices
        self.billing_notices = billing_notices
        self.op_notices = op_notices

    def run(self, kind: str, args: Mapping[str, Any], job_id: int, region: str) -> None:
        """Run one job in this worker of ``region``.

        Raises: Conflict (a tenant of another region: refused, logged, never retried), the
        service's errors (Unavailable is retried by the queue; the others fail the job).
        """
        if kind not in JOB_KINDS:
            raise InvalidInput(f"unknown kind of job {kind!r}")
        target = str(args.get("target", ""))
        if kind == "notify":  # a region's notices, refused under their own action
            home = str(args.get("region", ""))
            notices = args.get("notices")
            action = {BILLING_JOBS: Action.BILLING_NOTIFY, OP_JOBS: Action.NOTICE_SEND}.get(
                str(notices), Action.BREACH_NOTIFY
            )
        else:
            home = self.ctx.view(Action.JOB_WORK, target, lambda tx: self._home(tx, kind, target))
            action = Action.JOB_WORK
        if home != region:
            self._refuse(kind, target, job_id, home, region, action)
        if kind == "backup":
            outcomes = self.backups.run([target], housekeeping=False)
            failed = [o for o in outcomes if not o.ok]
            if failed:
                raise failed[0].error or Conflict(failed[0].detail)
        elif kind == "verify":
            level = args.get("level")
            self.backups.verify(target, str(level) if level else None)
        elif kind == "migrate":
            results = self.fleet.migrate(tenants=[target], parallel=1)
            broken = [r for r in results if r.error]
            if broken:
                raise Conflict(f"cannot migrate {target}: {broken[0].error}")
        elif kind == "notify" and args.get("notices") == OP_JOBS:
            try:
                sent = self.op_notices().deliver_region(target, region)
            except CampaignBusy as exc:  # the in-process send of it: later, with backoff
                raise Unavailable(exc.message) from None
            if sent.undelivered:  # tried again later: what was sent is not sent twice
                raise Unavailable(f"notice {target} not delivered to all of region {region}")
        elif kind == "notify" and args.get("notices") == BILLING_JOBS:
            told = self.billing_notices().notify(region=region)
            if told.undelivered:  # tried again later: what was sent is not sent twice
                raise Unavailable(f"billing notices of region {region} not all delivered")
        elif kind == "notify":  # a region's batch of a breach-notice campaign
            channels = str(args.get("channels", ""))
            try:
                more = self.notices().deliver_batch(target, channels, region)
            except CampaignBusy as exc:  # another batch or run of it: later, with backoff
                raise Unavailable(exc.message) from None
            if more:  # the region's next batch, behind this one under the campaign's lock
                self.jobs().follow_up(
                    JobSpec(
                        kind,
                        region,
                        target,
                        self.ctx.identity.operator,
                        {"channels": channels},
                        notice_lock(target, region),
                    )
                )
        elif kind == "schedule":  # the region's periodic tick: queue what is due
            self.housekeeping(target)
            self.jobs().enqueue_backups(due=True, region=target)
        else:  # prune
            self.backups.prune(dry_run=False, region=target)

    def housekeeping(self, region: str) -> None:
        """What ``backup run`` does around its backups, for a worker's region: the store
        reconciled with the index (backups stored but not indexed are indexed) and the ops
        log's head signed into the store. Raises: Forbidden, Unavailable."""
        self.backups.reconcile(region)
        self.backups.checkpoint([region])

    @staticmethod
    def _home(tx: CatalogTx, kind: str, target: str) -> str:
        """The region whose data the job touches, from the catalog (never from the job)."""
        if kind in ("backup", "migrate"):
            return existing_tenant(tx, target).region
        if kind == "verify":
            record = tx.backups.get(target)
            if record is None:
                raise NotFound(f"no backup {target}")
            return record.region
        return target  # prune, schedule: the region itself

    def _refuse(
        self, kind: str, target: str, job_id: int, home: str, region: str, action: Action
    ) -> None:
        reason = (
            f"refused {kind} of {target}: its data lives in region {home}, and this worker"
            f" serves region {region}"
        )
        params = {"kind": kind, "job": job_id, "home_region": home}
        with self.ctx.audited(action, target, params) as attempt:
            attempt.fail(WRONG_REGION, reason=reason)
        raise Conflict(reason)


__all__ = ["WRONG_REGION", "JobRunner", "OpsError"]
