"""The composition root: builds the services from ``ops.toml``. CLI and TUI both start here.

Each service is built (and its module imported) on first use, so a command pays only for the
services it calls: ``tenant list`` builds one. To add a service, add a ``@_service`` method to
:class:`Console` that imports its module and returns it.
"""

from __future__ import annotations

import importlib
import os
import random
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from aptien_ops.catalog_bootstrap import SANDBOX_OPERATORS as SANDBOX_OPERATORS
from aptien_ops.catalog_bootstrap import bootstrap
from aptien_ops.config import ClusterSettings, RegionSettings, Settings, load_settings
from aptien_ops.deferred_catalog import DeferredCatalog
from aptien_ops.domain import Clock, Identity, utcnow
from aptien_ops.errors import OpsError
from aptien_ops.eventlog import EventLog
from aptien_ops.identity import current_identity
from aptien_ops.keyfiles import OPSLOG_KEY, REGION_KEY, SIGNING_KEY, never_replace
from aptien_ops.opslog import load_or_create_key
from aptien_ops.ports import (
    BackupKeys,
    BackupRepository,
    Catalog,
    InspectionReader,
    Sealer,
    TenantStore,
)
from aptien_ops.services.context import OpsContext

if TYPE_CHECKING:
    from aptien_ops.regions import RegionResolver
    from aptien_ops.services.approvals import ApprovalService
    from aptien_ops.services.backups import BackupService
    from aptien_ops.services.doctor import DoctorService, InstallProbes
    from aptien_ops.services.fleet import FleetService
    from aptien_ops.services.inspection import InspectionService
    from aptien_ops.services.keys import KeyService
    from aptien_ops.services.lifecycle import LifecycleService
    from aptien_ops.services.operators import OperatorService
    from aptien_ops.services.opslog_service import OpsLogService
    from aptien_ops.services.policy import PolicyService
    from aptien_ops.services.provisioning import ProvisioningService
    from aptien_ops.services.regions import RegionService
    from aptien_ops.services.sandbox_seed import SandboxSeedService
    from aptien_ops.services.tenants import TenantService

#: Services that run approved four-eyes requests: built with ``approvals`` so that it always
#: knows their executors, whichever service a command touches first.
EXECUTOR_OWNERS = ("operators", "lifecycle", "policy", "backups")

S = TypeVar("S")


def _backend(kind: str, name: str) -> Any:
    backends = importlib.import_module("aptien_ops.backends")
    return backends.load(kind, name)


def _backup_repositories(
    settings: Settings, clock: Clock, catalog: Catalog
) -> Callable[[RegionSettings], BackupRepository]:
    """Opens a region's backup store when a backup command first needs it (never at start-up).

    A missing signing key is made only in a sandbox, and only while the region has no backup
    it would have signed.
    """

    def signed_backups(region: str) -> str | None:
        with catalog.read() as tx:
            signed = any(b.region == region for b in tx.backups.all(include_pruned=True))
        return f"region {region} has backups it signed" if signed else None

    def open_repository(region: RegionSettings) -> BackupRepository:
        never_replace(region.signing_key_file, SIGNING_KEY, lambda: signed_backups(region.name))
        repository: BackupRepository = _backend("backup_repository", "fs")(
            region, create=settings.sandbox, strict_modes=not settings.sandbox, clock=clock
        )
        return repository

    return open_repository


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

    def __init__(self, ctx: OpsContext) -> None:
        self.ctx = ctx
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
        self.ctx.close()

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
    def policy(self) -> PolicyService:
        from aptien_ops.services.policy import PolicyService

        return PolicyService(self.ctx, self._approvals)

    @_service
    def keys(self) -> KeyService:
        from aptien_ops.services.keys import KeyService

        strict = not self.settings.sandbox
        return KeyService(self.ctx, lambda: _backend("keyring", "files")(strict_modes=strict))

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
            _backup_repositories(self.settings, self.ctx.clock, self.ctx.catalog),
            self._approvals,
            lambda: self.provisioning,
        )

    @_service
    def seeding(self) -> SandboxSeedService:
        from aptien_ops.services.sandbox_seed import SandboxSeedService

        return SandboxSeedService(
            self.ctx, self.provisioning, lambda: _backend("activity", "platform")
        )

    @_service
    def inspection(self) -> InspectionService:
        from aptien_ops.services.inspection import InspectionService

        return InspectionService(self.ctx, _inspection_reader)

    @_service
    def doctor(self) -> DoctorService:
        from aptien_ops.services.doctor import DoctorService

        return DoctorService(
            self.settings, _install_probes(self.settings, self.ctx.clock), self.ctx
        )


def open_doctor(
    config: str | os.PathLike[str] | None, refusal: OpsError, *, clock: Clock = utcnow
) -> DoctorService:
    """The doctor for an install whose console would not open (``refusal`` says why: the
    process is not the service account, a key is not private, the catalog is down). It checks
    what it can and records nothing.

    Raises: what :func:`load_settings` raises: without a config that can be read and trusted
    there is nothing to check.
    """
    from aptien_ops.services.doctor import DoctorService

    settings = load_settings(config)
    return DoctorService(settings, _install_probes(settings, clock), None, refusal)


def _install_probes(settings: Settings, clock: Clock) -> InstallProbes:
    """How the doctor reaches the catalog, the clusters and the client tools: each opened afresh."""
    from aptien_ops.services.doctor import InstallProbes

    def cluster(settings: ClusterSettings) -> TenantStore:
        store: TenantStore = _backend("tenant_store", settings.kind)(settings, clock=clock)
        return store

    return InstallProbes(
        catalog=lambda: _backend("catalog", "sql")(settings.catalog),
        cluster=cluster,
        client_tools=lambda kind: _backend("client_tools", kind)(),
        environ=os.environ,
    )


def open_console(
    config: str | os.PathLike[str] | None = None,
    *,
    read_only: bool = False,
    verbose: bool = False,
    env: Mapping[str, str] | None = None,
    settings: Settings | None = None,
    defer_catalog: bool = False,
    clock: Clock = utcnow,
    rng: random.Random | None = None,
    identity: Identity | None = None,
) -> Console:
    """Load the config, open (and on first use create) the catalog, and build the console.

    With ``defer_catalog`` (the TUI, whose first frame needs no catalog) nothing is read from
    the catalog here: it is connected (created or upgraded, bootstrap run) on first use, or by
    :meth:`Console.connect`, and that raises what opening it would have. Outside a sandbox the
    ops-log key must exist already for that; without one the catalog is opened at once (only
    a catalog created right now may create its key).

    ``clock`` is where every service reads the time and ``rng`` where non-secret ids come
    from; ``identity`` replaces the one this process would have. All three are for tests,
    which need the same screen on every run; none is reachable from the command line.

    Raises (with ``defer_catalog``, the catalog's errors come from its first use instead):
        ConfigError: bad config, or a missing ops-log key for an existing production catalog.
        Forbidden: production, and this process is not the service account run through sudo
            by an operator (see :mod:`aptien_ops.bastion`).
        IntegrityFailure: the ops-log key is missing although the log has entries, or (in
            production) is not private; a catalog refused by its bootstrap.
        Unavailable: the catalog cannot be reached.
        Conflict: the catalog is newer than this code.
    """
    settings = settings or load_settings(config)
    identity = identity or current_identity(settings, env)

    def store_factory(cluster: ClusterSettings) -> TenantStore:
        store: TenantStore = _backend("tenant_store", cluster.kind)(cluster, clock=clock)
        return store

    def sealed_secrets(region: str) -> str | None:
        with ctx.catalog.read() as tx:
            sealed = any(c.region == region and c.count for c in tx.tenants.counts())
        return f"region {region} has tenants whose secrets it sealed" if sealed else None

    def sealer_factory(region: RegionSettings) -> Sealer:
        """A missing region key is made only in a sandbox, and only before its first tenant."""
        never_replace(region.key_file, REGION_KEY, lambda: sealed_secrets(region.name))
        sealer: Sealer = _backend("sealer", "aes-gcm")(
            region.key_file, create=settings.sandbox, strict_modes=not settings.sandbox
        )
        return sealer

    def build_context(catalog: Catalog, key: bytes) -> OpsContext:
        backup_keys: BackupKeys = _backend("backup_keys", "age")()
        return OpsContext(
            settings,
            catalog,
            identity,
            key,
            EventLog.for_settings(settings, verbose=verbose),
            store_factory=store_factory,
            sealer_factory=sealer_factory,
            backup_keys=backup_keys,
            read_only=read_only,
            clock=clock,
            rng=rng or random.SystemRandom(),
        )

    key: bytes | None = None
    if defer_catalog:
        # A key on disk is loaded (strictly in production); a missing one is made, or refused,
        # only by opening the catalog at once, which knows whether the log has entries.
        path = settings.security.opslog_key_file
        if path.exists():
            key = load_or_create_key(path, create=False, strict_modes=not settings.sandbox)
        elif settings.sandbox and _no_catalog_yet(settings):
            key = load_or_create_key(path, create=True)  # no catalog, so no entries to orphan

    if key is not None:

        def connect() -> Catalog:
            real: Catalog = _backend("catalog", "sql")(settings.catalog)
            try:
                real.ensure_schema()
                bootstrap(ctx, real)
            except BaseException:
                real.dispose()
                raise
            return real

        ctx = build_context(DeferredCatalog(connect), key)
        return Console(ctx)

    catalog: Catalog = _backend("catalog", "sql")(settings.catalog)
    try:
        info = catalog.ensure_schema()
        key = _opslog_key(settings, lambda: _opslog_entries(catalog), created=info.created)
        ctx = build_context(catalog, key)
        bootstrap(ctx, catalog)
    except BaseException:
        catalog.dispose()
        raise
    return Console(ctx)


def _opslog_key(settings: Settings, entries: Callable[[], str | None], *, created: bool) -> bytes:
    """The ops log's HMAC key: made for a new catalog, or in a sandbox whose log is still
    empty; never in place of a missing one once the log has entries.

    Raises: IntegrityFailure (missing with entries, or not private in production),
    ConfigError (missing in production, unreadable, malformed).
    """
    path = settings.security.opslog_key_file
    if not created:
        never_replace(path, OPSLOG_KEY, entries)
    return load_or_create_key(
        path, create=settings.sandbox or created, strict_modes=not settings.sandbox
    )


def _no_catalog_yet(settings: Settings) -> bool:
    """Whether the catalog is a SQLite file that does not exist yet (nothing written)."""
    url = settings.catalog.url
    if not url.startswith("sqlite:///"):
        return False
    return not Path(url.removeprefix("sqlite:///")).exists()


def _opslog_entries(catalog: Catalog) -> str | None:
    with catalog.read() as tx:
        return "the ops log has entries" if tx.opslog.entries(limit=1) else None


def _inspection_reader(cluster: ClusterSettings, inspector_role: str) -> InspectionReader:
    reader: InspectionReader = _backend("inspection_reader", cluster.kind)(cluster, inspector_role)
    return reader
