"""The :class:`Console`: every service, sharing one context, each built (and its module
imported) on first use, so a command pays only for the services it calls. To add a service,
add a ``@_service`` method that imports its module and returns it. Opened by
:func:`aptien_ops.composition.open_console`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, TypeVar, overload

from aptien_ops.composition.adapters import (
    backend,
    backup_repositories,
    billing_source,
    inspection_reader,
    install_probes,
    notice_channels,
)
from aptien_ops.config import Settings
from aptien_ops.deferred_catalog import DeferredCatalog
from aptien_ops.domain import Identity
from aptien_ops.services.context import OpsContext

if TYPE_CHECKING:
    from aptien_ops.ports.jobs import JobQueue
    from aptien_ops.ports.sandbox import DemoBilling
    from aptien_ops.regions import RegionResolver
    from aptien_ops.services.approvals import ApprovalService
    from aptien_ops.services.backups import BackupService
    from aptien_ops.services.billing import BillingService
    from aptien_ops.services.billing_notices import BillingNoticeService
    from aptien_ops.services.billing_sync import BillingSyncService
    from aptien_ops.services.billing_webhook import BillingWebhookService
    from aptien_ops.services.breach_notices import NoticeService
    from aptien_ops.services.doctor import DoctorService
    from aptien_ops.services.fleet import FleetService
    from aptien_ops.services.incidents import IncidentService
    from aptien_ops.services.inspection import InspectionService
    from aptien_ops.services.job_board import JobBoardService
    from aptien_ops.services.job_runs import JobRunner
    from aptien_ops.services.jobs import JobService
    from aptien_ops.services.keys import KeyService
    from aptien_ops.services.lifecycle import LifecycleService
    from aptien_ops.services.op_notice_queued import QueuedNoticeSending
    from aptien_ops.services.op_notice_status import OpNoticeStatusPages
    from aptien_ops.services.op_notices import OpNoticeService
    from aptien_ops.services.operators import OperatorService
    from aptien_ops.services.opslog_service import OpsLogService
    from aptien_ops.services.partners import PartnerService
    from aptien_ops.services.policy import PolicyService
    from aptien_ops.services.provisioning import ProvisioningService
    from aptien_ops.services.regions import RegionService
    from aptien_ops.services.sandbox_billing import SandboxBillingService
    from aptien_ops.services.sandbox_seed import SandboxSeedService
    from aptien_ops.services.sessions import SessionService
    from aptien_ops.services.tenants import TenantService

#: Services that run approved four-eyes requests: built with ``approvals`` so that it always
#: knows their executors, whichever service a command touches first.
EXECUTOR_OWNERS = ("operators", "lifecycle", "policy", "backups", "notices", "op_notice_sending")

S = TypeVar("S")


class _service(Generic[S]):  # noqa: N801 - used as a decorator, like functools.cached_property
    """A :class:`Console` attribute built on first access, then kept.

    Like ``functools.cached_property``, but built under the console's lock: the TUI's worker
    threads may ask for the same service at the same moment, and ``approvals`` must exist once.
    """

    def __init__(self, build: Callable[[Console], S]) -> None:
        self.build = build
        self.name = build.__name__
        self.__doc__ = build.__doc__

    @overload
    def __get__(self, console: None, owner: type[Console]) -> _service[S]: ...
    @overload
    def __get__(self, console: Console, owner: type[Console] | None = None) -> S: ...
    def __get__(
        self, console: Console | None, owner: type[Console] | None = None
    ) -> S | _service[S]:
        if console is None:
            return self
        with console._lock:
            if self.name not in console.__dict__:
                # Kept in the instance: later lookups find it there, before this descriptor.
                console.__dict__[self.name] = self.build(console)
            built: S = console.__dict__[self.name]
        return built


class Console:
    """Every service, sharing one context; each built on first use. Close it when done."""

    def __init__(self, ctx: OpsContext, *, owns_catalog: bool = True) -> None:
        """``owns_catalog`` False: ``ctx`` borrowed another console's catalog
        (:meth:`OpsContext.borrowed_by`), which closing this console leaves open."""
        self.ctx = ctx
        self._owns_catalog = owns_catalog
        self._lock = threading.RLock()  # re-entrant: building a service may build another

    @property
    def settings(self) -> Settings:
        return self.ctx.settings

    @property
    def identity(self) -> Identity:
        return self.ctx.identity

    @property
    def connected(self) -> bool:
        """False until a deferred catalog (``open_console(defer_catalog=True)``) is connected."""
        catalog = self.ctx.catalog
        return not isinstance(catalog, DeferredCatalog) or catalog.connected

    def connect(self) -> None:
        """Connect a deferred catalog now (schema check, bootstrap); a no-op once connected.

        Raises: as :func:`open_console` (ConfigError, Unavailable, Conflict).
        """
        catalog = self.ctx.catalog
        if isinstance(catalog, DeferredCatalog):
            catalog.open()

    def close(self) -> None:
        for name, attribute in vars(type(self)).items():
            built = self.__dict__.get(name) if isinstance(attribute, _service) else None
            if callable(getattr(built, "close", None)):
                built.close()  # type: ignore[union-attr]
        self.ctx.close(catalog=self._owns_catalog)

    # -- the services, in the order a reader meets them -----------------------------------

    @_service
    def resolver(self) -> RegionResolver:
        from aptien_ops.regions import RegionResolver

        return RegionResolver(self.settings.regions, self.settings.region_overrides)

    @_service
    def _approvals(self) -> ApprovalService:
        from aptien_ops.services.approvals import ApprovalService

        return ApprovalService(self.ctx)

    @_service
    def approvals(self) -> ApprovalService:
        approvals = self._approvals
        for name in EXECUTOR_OWNERS:
            getattr(self, name)  # each registers its executors with approvals as it is built
        return approvals

    @_service
    def operators(self) -> OperatorService:
        from aptien_ops.services.operators import OperatorService

        return OperatorService(self.ctx, self._approvals)

    @_service
    def sessions(self) -> SessionService:
        from aptien_ops.services.sessions import SessionService

        return SessionService(self.ctx)

    @_service
    def policy(self) -> PolicyService:
        from aptien_ops.services.policy import PolicyService

        return PolicyService(self.ctx, self._approvals)

    @_service
    def keys(self) -> KeyService:
        from aptien_ops.services.keys import KeyService

        strict = not self.settings.sandbox
        return KeyService(self.ctx, lambda: backend("keyring", "files")(strict_modes=strict))

    @_service
    def lifecycle(self) -> LifecycleService:
        from aptien_ops.services.lifecycle import LifecycleService

        return LifecycleService(self.ctx, self._approvals)

    @_service
    def tenants(self) -> TenantService:
        from aptien_ops.services.tenants import TenantService

        return TenantService(self.ctx)

    @_service
    def regions(self) -> RegionService:
        from aptien_ops.services.regions import RegionService

        return RegionService(self.ctx, self.resolver)

    @_service
    def opslog(self) -> OpsLogService:
        from aptien_ops.services.opslog_service import OpsLogService

        return OpsLogService(self.ctx, self.backups.repository)

    @_service
    def provisioning(self) -> ProvisioningService:
        from aptien_ops.services.provisioning import ProvisioningService

        return ProvisioningService(self.ctx, self.resolver)

    @_service
    def fleet(self) -> FleetService:
        from aptien_ops.services.fleet import FleetService

        return FleetService(self.ctx, self.backups)

    @_service
    def backups(self) -> BackupService:
        from aptien_ops.services.backups import BackupService

        return BackupService(
            self.ctx,
            backup_repositories(self.settings, self.ctx.clock, self.ctx.catalog),
            self._approvals,
            lambda: self.provisioning,
        )

    @_service
    def seeding(self) -> SandboxSeedService:
        from aptien_ops.services.sandbox_seed import SandboxSeedService

        return SandboxSeedService(
            self.ctx, self.provisioning, lambda: backend("activity", "platform")
        )

    @_service
    def sandbox_billing(self) -> SandboxBillingService:
        from aptien_ops.services.sandbox_billing import SandboxBillingService

        def server() -> DemoBilling | None:
            configured = self.settings.billing
            if configured is None:
                return None
            made: DemoBilling = backend("sandbox_billing", "localstripe")(configured)
            return made

        return SandboxBillingService(self.ctx, server, lambda: self.billing_sync)

    @_service
    def inspection(self) -> InspectionService:
        from aptien_ops.services.inspection import InspectionService

        return InspectionService(self.ctx, inspection_reader)

    @_service
    def partners(self) -> PartnerService:
        from aptien_ops.services.partners import PartnerService

        return PartnerService(self.ctx, self.resolver)

    @_service
    def incidents(self) -> IncidentService:
        from aptien_ops.services.incidents import IncidentService

        return IncidentService(self.ctx, lambda: self.inspection)

    @_service
    def notices(self) -> NoticeService:
        from aptien_ops.services.breach_notices import NoticeService

        return NoticeService(self.ctx, self._approvals, lambda: notice_channels(self.ctx))

    @_service
    def billing(self) -> BillingService:
        from aptien_ops.services.billing import BillingService

        return BillingService(self.ctx, lambda: billing_source(self.settings))

    @_service
    def billing_sync(self) -> BillingSyncService:
        from aptien_ops.services.billing_sync import BillingSyncService

        return BillingSyncService(self.ctx, lambda: billing_source(self.settings))

    @_service
    def billing_notices(self) -> BillingNoticeService:
        from aptien_ops.services.billing_notices import BillingNoticeService

        return BillingNoticeService(
            self.ctx,
            lambda: notice_channels(self.ctx),
            lambda: self.inspection,
            lambda: self.lifecycle,
        )

    @_service
    def billing_webhook(self) -> BillingWebhookService:
        from aptien_ops.services.billing_webhook import BillingWebhookService

        return BillingWebhookService(self.ctx, lambda: billing_source(self.settings))

    @_service
    def op_notices(self) -> OpNoticeService:
        from aptien_ops.services.op_notices import OpNoticeService

        return OpNoticeService(self.ctx, lambda: self.op_notice_status)

    @_service
    def op_notice_sending(self) -> QueuedNoticeSending:
        from aptien_ops.services.op_notice_queued import QueuedNoticeSending

        return QueuedNoticeSending(
            self.ctx,
            lambda: notice_channels(self.ctx),
            lambda: self.inspection,
            self._approvals,
            lambda: self.op_notice_status,
        )

    @_service
    def op_notice_status(self) -> OpNoticeStatusPages:
        from aptien_ops.services.op_notice_status import OpNoticeStatusPages

        website = self.settings.notifications.website.dir
        templates = self.settings.notifications.templates_dir
        return OpNoticeStatusPages(
            self.ctx, lambda: backend("status_page", "files")(website, templates)
        )

    @_service
    def doctor(self) -> DoctorService:
        from aptien_ops.services.doctor import DoctorService

        return DoctorService(self.settings, install_probes(self.settings, self.ctx.clock), self.ctx)

    @_service
    def jobs(self) -> JobService:
        from aptien_ops.services.jobs import JobService

        def queue() -> JobQueue:
            made: JobQueue = backend("job_queue", "procrastinate")(self.settings.catalog)
            return made

        return JobService(self.ctx, queue, self.backups)

    @_service
    def job_board(self) -> JobBoardService:
        from aptien_ops.ports.job_board import JobBoardReader
        from aptien_ops.services.job_board import JobBoardService

        def reader() -> JobBoardReader:
            made: JobBoardReader = backend("job_board", "postgresql")(self.settings.catalog)
            return made

        return JobBoardService(self.ctx, reader)

    @_service
    def job_runner(self) -> JobRunner:
        from aptien_ops.services.job_runs import JobRunner

        return JobRunner(
            self.ctx,
            self.backups,
            self.fleet,
            lambda: self.jobs,
            lambda: self.notices,
            lambda: self.billing_notices,
            lambda: self.op_notice_sending,
        )
