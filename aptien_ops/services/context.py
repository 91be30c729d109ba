"""What every service shares: settings, catalog, who is acting, and the ops log."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from aptien_ops.config import ClusterSettings, RegionSettings, Settings
from aptien_ops.domain import Identity, OpsLogEntry, Tenant
from aptien_ops.errors import Forbidden, NotFound, OpsError
from aptien_ops.eventlog import EventLog
from aptien_ops.opslog import Event, next_entry
from aptien_ops.permissions import READ_ONLY_SAFE, Action, require
from aptien_ops.ports import BackupKeys, Catalog, CatalogTx, Sealer, TenantStore

T = TypeVar("T")


def existing_tenant(tx: CatalogTx, name: str, *, for_update: bool = False) -> Tenant:
    """The tenant ``name``. Raises: NotFound (pointing at ``tenant list``)."""
    tenant = tx.tenant(name, for_update=for_update)
    if tenant is None:
        raise NotFound(f"no tenant named {name}", hint="aptien-ops tenant list")
    return tenant


@dataclass
class OpsContext:
    settings: Settings
    catalog: Catalog
    identity: Identity
    opslog_key: bytes
    events: EventLog
    store_factory: Callable[[ClusterSettings], TenantStore] | None = None
    sealer_factory: Callable[[RegionSettings], Sealer] | None = None
    backup_keys: BackupKeys | None = None
    read_only: bool = False
    _stores: dict[str, TenantStore] = field(default_factory=dict, repr=False)
    _sealers: dict[str, Sealer] = field(default_factory=dict, repr=False)
    _roles_cache: frozenset[str] | None = field(default=None, repr=False)

    def store(self, cluster: str) -> TenantStore:
        """The tenant store of ``cluster``, opened on first use.

        Raises: NotFound if no region of the config defines the cluster.
        """
        if cluster not in self._stores:
            settings = self.cluster_settings(cluster)
            assert self.store_factory is not None, "composition root sets store_factory"
            self._stores[cluster] = self.store_factory(settings)
        return self._stores[cluster]

    def cluster_settings(self, cluster: str) -> ClusterSettings:
        """Raises: NotFound if no region of the config defines the cluster."""
        for region in self.settings.regions.values():
            for c in region.clusters:
                if c.name == cluster:
                    return c
        raise NotFound(
            f"cluster {cluster} is not in the configuration", hint="aptien-ops region list"
        )

    def sealer(self, region: str) -> Sealer:
        """The region's sealing key (created on first use in a sandbox)."""
        if region not in self._sealers:
            assert self.sealer_factory is not None, "composition root sets sealer_factory"
            self._sealers[region] = self.sealer_factory(self.settings.regions[region])
        return self._sealers[region]

    def close(self) -> None:
        for store in self._stores.values():
            store.close()
        self._stores.clear()
        self.catalog.dispose()
        self.events.close()

    # -- who is acting ----------------------------------------------------------------------

    def roles(self, tx: CatalogTx) -> frozenset[str]:
        op = tx.operator(self.identity.operator)
        return op.roles if op and op.active else frozenset()

    def my_roles(self) -> frozenset[str]:
        """The acting operator's roles (read once per run; the TUI calls it for its header)."""
        if self._roles_cache is None:
            with self.catalog.read() as tx:
                self._roles_cache = self.roles(tx)
        return self._roles_cache

    def forget_roles(self) -> None:
        self._roles_cache = None

    # -- ops log ----------------------------------------------------------------------------

    def record(self, tx: CatalogTx, event: Event) -> OpsLogEntry:
        """Append ``event`` to the ops log inside ``tx`` (serialised with other appenders)."""
        head = tx.opslog_head(for_update=True)
        entry, new_head = next_entry(self.opslog_key, head, self.identity, event)
        tx.opslog_append(entry, new_head)
        return entry

    def record_alone(self, event: Event) -> None:
        """Append ``event`` in its own transaction (denials and failures: the change rolled back)."""
        with self.catalog.transaction() as tx:
            entry = self.record(tx, event)
        self.events.entry(entry)

    # -- the guard every service goes through -----------------------------------------------

    def authorize(
        self, tx: CatalogTx, action: Action, target: str, params: Mapping[str, object]
    ) -> None:
        """Raises Forbidden unless the operator may do ``action`` (the caller logs the denial)."""
        if self.read_only and action not in READ_ONLY_SAFE:
            raise Forbidden(
                f"{action} is not available in read-only mode", hint="restart without --read-only"
            )
        op = tx.operator(self.identity.operator)
        if op is None or not op.active:
            raise Forbidden(
                f"{self.identity.operator} is not an operator of this console",
                hint=f"an admin runs: aptien-ops operator add {self.identity.operator} --role viewer",
            )
        require(self.identity.operator, op.roles, action)

    def view(
        self,
        action: Action,
        target: str,
        fn: Callable[[CatalogTx], T],
        params: Mapping[str, object] | None = None,
    ) -> T:
        """Run a read-only use case; only a denial is logged."""
        try:
            with self.catalog.read() as tx:
                self.authorize(tx, action, target, params or {})
                return fn(tx)
        except Forbidden as denied:
            self._log_denial(action, target, params or {}, denied)
            raise

    def mutate(
        self,
        action: Action,
        target: str,
        params: Mapping[str, object],
        fn: Callable[[CatalogTx], T],
        *,
        approval_id: int | None = None,
        outcome: str = "ok",
        approval_of: Callable[[T], int] | None = None,
    ) -> T:
        """Run a change and its ops-log entry in one transaction.

        A denial is logged as ``denied``; an error after authorisation rolls the change back
        and is logged as ``failed:<code>``.
        """
        try:
            with self.catalog.transaction() as tx:
                self.authorize(tx, action, target, params)
                result = fn(tx)
                if approval_of is not None:
                    approval_id = approval_of(result)
                entry = self.record(tx, Event(str(action), target, params, outcome, approval_id))
        except Forbidden as denied:
            self._log_denial(action, target, params, denied)
            raise
        except OpsError as exc:
            self.record_alone(
                Event(
                    str(action),
                    target,
                    {**params, "error": exc.message},
                    f"failed:{exc.code}",
                    approval_id,
                )
            )
            raise
        self.events.entry(entry)
        return result

    def _log_denial(
        self, action: Action, target: str, params: Mapping[str, object], denied: Forbidden
    ) -> None:
        self.record_alone(
            Event(str(action), target, {**params, "reason": denied.message}, "denied")
        )
