"""The composition root: builds the services from ``ops.toml``. CLI and TUI both start here."""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aptien_ops.config import ClusterSettings, RegionSettings, Settings, load_settings
from aptien_ops.domain import Identity, Operator, utcnow
from aptien_ops.errors import ConfigError
from aptien_ops.eventlog import EventLog
from aptien_ops.identity import current_identity
from aptien_ops.opslog import Event, genesis_head, load_or_create_key, next_entry
from aptien_ops.permissions import Role
from aptien_ops.ports import BackupKeys, Catalog, Sealer, TenantStore
from aptien_ops.regions import RegionResolver
from aptien_ops.services.approvals import ApprovalService
from aptien_ops.services.context import OpsContext
from aptien_ops.services.fleet import FleetService
from aptien_ops.services.lifecycle import LifecycleService
from aptien_ops.services.operators import OperatorService
from aptien_ops.services.opslog_service import OpsLogService
from aptien_ops.services.provisioning import ProvisioningService
from aptien_ops.services.regions import RegionService
from aptien_ops.services.sandbox_seed import SandboxSeedService
from aptien_ops.services.tenants import TenantService

#: Demo colleagues a sandbox starts with, so four-eyes flows can be tried at once.
SANDBOX_OPERATORS: dict[str, tuple[str, ...]] = {
    "ada": (Role.ADMIN,),
    "sam": (Role.SECURITY,),
    "olga": (Role.OPERATOR,),
    "pat": (Role.PARTNER_MANAGER,),
    "bill": (Role.BILLING,),
    "vic": (Role.VIEWER,),
}


def _backend(kind: str, name: str) -> Any:
    backends = importlib.import_module("backends")
    return backends.load(kind, name)


@dataclass
class Console:
    """Every service, sharing one context. Close it when done."""

    ctx: OpsContext
    operators: OperatorService
    approvals: ApprovalService
    tenants: TenantService
    regions: RegionService
    opslog: OpsLogService
    provisioning: ProvisioningService
    lifecycle: LifecycleService
    fleet: FleetService
    seeding: SandboxSeedService

    @property
    def settings(self) -> Settings:
        return self.ctx.settings

    @property
    def identity(self) -> Identity:
        return self.ctx.identity

    def close(self) -> None:
        self.ctx.close()


def open_console(
    config: str | os.PathLike[str] | None = None,
    *,
    read_only: bool = False,
    verbose: bool = False,
    env: Mapping[str, str] | None = None,
    settings: Settings | None = None,
) -> Console:
    """Load the config, open (and on first use create) the catalog, and build the services.

    Raises:
        ConfigError: bad config, or a missing ops-log key for an existing catalog.
        Unavailable: the catalog cannot be reached.
        Conflict: the catalog is newer than this code.
    """
    settings = settings or load_settings(config)
    identity = current_identity(sandbox=settings.sandbox, env=env)
    catalog: Catalog = _backend("catalog", "sql")(settings.catalog)
    try:
        info = catalog.ensure_schema()
        key = load_or_create_key(settings.security.opslog_key_file, create=settings.sandbox or info.created)
        events = EventLog(settings.logging.file, verbose=verbose)

        def store_factory(cluster: ClusterSettings) -> TenantStore:
            store: TenantStore = _backend("tenant_store", cluster.kind)(cluster)
            return store

        def sealer_factory(region: RegionSettings) -> Sealer:
            sealer: Sealer = _backend("sealer", "aes-gcm")(region.key_file, create=settings.sandbox)
            return sealer

        backup_keys: BackupKeys = _backend("backup_keys", "age")()
        ctx = OpsContext(settings, catalog, identity, key, events, store_factory=store_factory,
                         sealer_factory=sealer_factory, backup_keys=backup_keys, read_only=read_only)
        _bootstrap(ctx)
    except BaseException:
        catalog.dispose()
        raise
    approvals = ApprovalService(ctx)
    resolver = RegionResolver(settings.regions, settings.region_overrides)
    provisioning = ProvisioningService(ctx, resolver)
    return Console(
        ctx=ctx,
        operators=OperatorService(ctx, approvals),
        approvals=approvals,
        tenants=TenantService(ctx, resolver),
        regions=RegionService(ctx, resolver),
        opslog=OpsLogService(ctx),
        provisioning=provisioning,
        lifecycle=LifecycleService(ctx, approvals),
        fleet=FleetService(ctx),
        seeding=SandboxSeedService(ctx, provisioning, lambda: _backend("activity", "platform")),
    )


def _bootstrap(ctx: OpsContext) -> None:
    """On a new catalog: sign the empty log's head and name the first admins.

    Runs in one transaction; a crash before commit leaves the catalog unsigned, and the next
    run does it again.
    """
    with ctx.catalog.read() as tx:
        head = tx.opslog_head()
    if head is not None and head.signature:
        return
    settings = ctx.settings
    if settings.sandbox:
        first = {ctx.identity.os_account: (Role.ADMIN,), **SANDBOX_OPERATORS}
    else:
        if not settings.security.initial_admins:
            raise ConfigError(
                f"{settings.source}: security.initial_admins: a new production catalog needs at least one initial admin"
            )
        first = {name: (Role.ADMIN,) for name in settings.security.initial_admins}
    entries = []
    with ctx.catalog.transaction() as tx:
        head = tx.opslog_head(for_update=True)
        if head is not None and head.signature:
            return  # another process bootstrapped it meanwhile
        signed = genesis_head(ctx.opslog_key)
        system = Identity("aptien-ops", ctx.identity.os_account, ctx.identity.ssh_origin, ctx.identity.session_id)
        now = utcnow()
        for name, roles in first.items():
            if tx.operator(name) is None:
                tx.insert_operator(Operator(name, frozenset(str(r) for r in roles), "aptien-ops", now))
        entry, new_head = next_entry(
            ctx.opslog_key, signed, system,
            Event("catalog.init", ctx.catalog.url_for_display, {"mode": settings.mode, "operators": {k: list(map(str, v)) for k, v in first.items()}}, "ok"),
        )
        tx.opslog_append(entry, new_head)
        entries.append(entry)
    for e in entries:
        ctx.events.entry(e)
