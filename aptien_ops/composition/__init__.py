"""The composition root: builds the services from ``ops.toml``. CLI and TUI both start here.

:func:`open_console` loads the config, opens the catalog and the ops-log key and returns a
:class:`Console` (:mod:`.console`), which builds each service on first use, so a command pays
only for the services it calls: ``tenant list`` builds one. :func:`open_doctor` serves an
install whose console would not open. The adapters are reached through :mod:`.adapters`.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from aptien_ops.catalog_bootstrap import SANDBOX_OPERATORS as SANDBOX_OPERATORS
from aptien_ops.catalog_bootstrap import bootstrap
from aptien_ops.composition.adapters import backend, install_probes
from aptien_ops.composition.console import Console as Console
from aptien_ops.config import ClusterSettings, RegionSettings, Settings, load_settings
from aptien_ops.deferred_catalog import DeferredCatalog
from aptien_ops.domain import Clock, Identity, utcnow
from aptien_ops.errors import OpsError
from aptien_ops.eventlog import EventLog
from aptien_ops.identity import current_identity
from aptien_ops.keyfiles import OPSLOG_KEY, REGION_KEY, never_replace
from aptien_ops.opslog import load_or_create_key
from aptien_ops.ports import (
    BackupKeys,
    Catalog,
    Sealer,
    TenantStore,
)
from aptien_ops.services.context import OpsContext

if TYPE_CHECKING:
    from aptien_ops.services.doctor import DoctorService


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
    return DoctorService(settings, install_probes(settings, clock), None, refusal)


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
    unattended: bool = False,
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
            by an operator (see :mod:`aptien_ops.bastion`; ``unattended``, a worker: or the
            service account started without sudo, as systemd does).
        IntegrityFailure: the ops-log key is missing although the log has entries, or (in
            production) is not private; a catalog refused by its bootstrap.
        Unavailable: the catalog cannot be reached.
        Conflict: the catalog is newer than this code.
    """
    settings = settings or load_settings(config)
    identity = identity or current_identity(settings, env, unattended=unattended)

    def store_factory(cluster: ClusterSettings) -> TenantStore:
        store: TenantStore = backend("tenant_store", cluster.kind)(cluster, clock=clock)
        return store

    def sealed_secrets(region: str) -> str | None:
        with ctx.catalog.read() as tx:
            sealed = any(c.region == region and c.count for c in tx.tenants.counts())
        return f"region {region} has tenants whose secrets it sealed" if sealed else None

    def sealer_factory(region: RegionSettings) -> Sealer:
        """A missing region key is made only in a sandbox, and only before its first tenant."""
        never_replace(region.key_file, REGION_KEY, lambda: sealed_secrets(region.name))
        sealer: Sealer = backend("sealer", "aes-gcm")(
            region.key_file, create=settings.sandbox, strict_modes=not settings.sandbox
        )
        return sealer

    def build_context(catalog: Catalog, key: bytes) -> OpsContext:
        backup_keys: BackupKeys = backend("backup_keys", "age")()
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
            real: Catalog = backend("catalog", "sql")(settings.catalog)
            try:
                real.ensure_schema()
                bootstrap(ctx, real)
            except BaseException:
                real.dispose()
                raise
            return real

        ctx = build_context(DeferredCatalog(connect), key)
        return Console(ctx)

    catalog: Catalog = backend("catalog", "sql")(settings.catalog)
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
