"""What every service shares: settings, catalog, clock, who is acting, and the audited path.

Every use case goes through one of two doors, both of which authorise before anything else
is touched:

- :meth:`OpsContext.view` for reads of catalog data that is not personal: a refusal is
  logged, a successful read is not (the ops log records changes, reads of personal data and
  every refusal);
- :meth:`OpsContext.audited` for everything else: exactly one ops-log entry per attempt,
  ``denied``, ``ok``, ``pending`` or ``failed:<code>``, written in the same transaction as the
  change when there is one.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TypeVar

from aptien_ops.config import ClusterSettings, RegionSettings, Settings
from aptien_ops.domain import Clock, Identity, OpsLogEntry, Tenant, utcnow
from aptien_ops.domain.versions import check_tenant
from aptien_ops.errors import Forbidden, NotFound, OpsError
from aptien_ops.eventlog import EventLog
from aptien_ops.opslog import Event, draft, extendable_head, next_entry
from aptien_ops.permissions import Action, offered
from aptien_ops.policy import Policy
from aptien_ops.ports import BackupKeys, Catalog, CatalogTx, Sealer, TenantStore

T = TypeVar("T")


def existing_tenant(
    tx: CatalogTx, name: str, *, for_update: bool = False, seen: int | None = None
) -> Tenant:
    """The tenant ``name``; with ``seen``, only if it is still the version the operator read.
    Raises: NotFound (pointing at ``tenant list``), Stale."""
    tenant = tx.tenants.get(name, for_update=for_update)
    if tenant is None:
        raise NotFound(f"no tenant named {name}", hint="aptien-ops tenant list")
    return check_tenant(tenant, seen)


class Attempt:
    """One audited attempt at a use case: it ends as exactly one ops-log entry.

    The use case settles it with :meth:`ok` (or :meth:`pending`); if that happens inside
    :meth:`transaction`, the entry is appended in that transaction and commits with the
    change. An attempt left unsettled when its block ends without an error is ``ok``; an
    error ends it as ``denied`` (Forbidden) or ``failed:<code>``, in a transaction of its own
    since the change itself rolled back.
    """

    def __init__(
        self,
        ctx: OpsContext,
        action: Action,
        target: str,
        params: Mapping[str, object],
        approval_id: int | None,
    ) -> None:
        self.ctx = ctx
        self.action = action
        self.target = target
        self.params: dict[str, object] = dict(params)
        if ctx.worker is not None:  # a job's attempt says which worker ran it
            self.params["worker"] = dict(ctx.worker)
        self.approval_id = approval_id
        self.outcome = "ok"
        self.settled = False
        self.entry: OpsLogEntry | None = None
        """The entry once it is committed."""

    def ok(self, **details: object) -> None:
        """The attempt succeeded; ``details`` (row counts, ids) join its parameters."""
        self._settle("ok", details)

    def fail(self, code: str, **details: object) -> None:
        """The attempt ran and its result is a failure (``failed:<code>``) that is recorded,
        not raised, e.g. a backup that failed verification (its result is stored)."""
        self._settle(f"failed:{code}", details)

    def partly_failed(self, **details: object) -> None:
        """A batch attempt where some items failed (``failed:partial``; details count them)."""
        self._settle("failed:partial", details)

    def pending(self, approval_id: int, **details: object) -> None:
        """The attempt was recorded as a four-eyes request waiting for approval."""
        self.approval_id = approval_id
        self._settle("pending", details)

    def _settle(self, outcome: str, details: Mapping[str, object]) -> None:
        self.outcome = outcome
        self.params.update(details)
        self.settled = True

    def event(self) -> Event:
        return Event(str(self.action), self.target, self.params, self.outcome, self.approval_id)

    @contextmanager
    def transaction(self) -> Iterator[CatalogTx]:
        """A write transaction of this attempt; settled inside it, the attempt's entry is
        appended to it. Raises: the catalog's errors (Unavailable, Conflict)."""
        written: OpsLogEntry | None = None
        with self.ctx.catalog.transaction() as tx:
            yield tx
            if self.settled and self.entry is None:
                written = self.ctx.append(tx, self.event())
        if written is not None:
            self.entry = written
            self.ctx.events.entry(written)

    def _end(self, outcome: str, details: Mapping[str, object]) -> None:
        """Record how the attempt ended, unless its entry is in the log already."""
        if self.entry is not None:
            return
        if outcome != "ok" or not self.settled:
            self.outcome = outcome
        self.params.update(details)
        self.entry = self.ctx.record_alone(self.event())


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
    clock: Clock = utcnow
    """Where every service reads the time (the composition root injects it)."""
    rng: random.Random = field(default_factory=random.SystemRandom)
    """Where non-secret random ids come from (backup ids); tests inject a seeded one.
    Secrets (passwords, keys) always come from ``secrets``/the OS, never from here."""
    worker: Mapping[str, object] | None = None
    """In a job queue's worker: its host, pid and region and the job's id, joined to every
    ops-log entry this context writes."""
    _stores: dict[str, TenantStore] = field(default_factory=dict, repr=False)
    _sealers: dict[str, Sealer] = field(default_factory=dict, repr=False)
    _roles_cache: frozenset[str] | None = field(default=None, repr=False)
    _policy: Policy | None = field(default=None, repr=False)

    def now(self) -> datetime:
        return self.clock()

    @property
    def policy(self) -> Policy:
        """The policy in force: the config's in a sandbox, the catalog's in production (read
        once per run, again after :meth:`forget_policy`)."""
        if self._policy is None:
            if self.settings.sandbox:
                self._policy = Policy.from_settings(self.settings)
            else:
                with self.catalog.read() as tx:
                    stored = tx.policy.values()
                self._policy = Policy.from_stored(stored, fallback=Policy(frozenset()))
        return self._policy

    def forget_policy(self) -> None:
        self._policy = None

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

    def close(self, *, catalog: bool = True) -> None:
        """Close the stores and the event log, and the catalog unless ``catalog`` is False
        (a context that borrowed another's catalog: :meth:`borrowed_by`)."""
        for store in self._stores.values():
            store.close()
        self._stores.clear()
        if catalog:
            self.catalog.dispose()
        self.events.close()

    def borrowed_by(self, identity: Identity) -> OpsContext:
        """A context of ``identity`` on this one's catalog (its engine and connections, which
        are thread-safe) and settings, with its own event log, stores, sealers, and nothing
        read yet about who it is or the policy. Close it with ``close(catalog=False)``."""
        return replace(
            self,
            identity=identity,
            events=EventLog.for_settings(self.settings, verbose=self.events.verbose),
            worker=None,
            _stores={},
            _sealers={},
            _roles_cache=None,
            _policy=None,
        )

    # -- who is acting ----------------------------------------------------------------------

    def roles(self, tx: CatalogTx) -> frozenset[str]:
        op = tx.operators.get(self.identity.operator)
        return op.roles if op and op.active else frozenset()

    def my_roles(self) -> frozenset[str]:
        """The acting operator's roles (read once, until :meth:`forget_roles`)."""
        if self._roles_cache is None:
            with self.catalog.read() as tx:
                self._roles_cache = self.roles(tx)
        return self._roles_cache

    def forget_roles(self) -> None:
        self._roles_cache = None

    def authorize(self, tx: CatalogTx, action: Action) -> None:
        """Raises Forbidden unless ``action`` is offered to the operator (read-only mode
        included); someone who is no active operator is told who can add them."""
        me = self.identity.operator
        op = tx.operators.get(me)
        offer = offered(op.roles if op is not None and op.active else (), action, self.read_only)
        if offer.allowed:
            return
        if not offer.read_only and (op is None or not op.active):
            raise Forbidden(
                f"{me} is not an operator of this console",
                hint=f"an admin runs: aptien-ops operator add {me} --role viewer",
            )
        refusal = offer.refusal(me)
        colleague = self._colleague(tx, offer.needs) if not offer.read_only else None
        if colleague is not None:
            raise Forbidden(
                refusal.message,
                hint=f"{refusal.hint}; in this sandbox {colleague} has it: prefix the command"
                f" with APTIEN_OPS_OPERATOR={colleague}",
            )
        raise refusal

    def _colleague(self, tx: CatalogTx, roles: tuple[str, ...]) -> str | None:
        """In a sandbox, an active operator holding one of ``roles`` (a demo colleague such as
        sam, the security officer), for a refusal to name; in production, None."""
        if not self.settings.sandbox:
            return None
        holders = [o.name for o in tx.operators.all() if o.active and set(o.roles) & set(roles)]
        return min(holders, key=lambda name: (name == self.identity.operator, name), default=None)

    # -- the two doors ------------------------------------------------------------------------

    def view(
        self,
        action: Action,
        target: str,
        fn: Callable[[CatalogTx], T],
        params: Mapping[str, object] | None = None,
    ) -> T:
        """Authorise and run a read of the catalog in one read-only transaction.

        Only a refusal is logged. Raises: Forbidden (logged), and what ``fn`` raises.
        """
        try:
            with self.catalog.read() as tx:
                self.authorize(tx, action)
                return fn(tx)
        except Forbidden as denied:
            self.record_alone(self._denial(action, target, self._tagged(params), denied))
            raise

    @contextmanager
    def audited(
        self,
        action: Action,
        target: str,
        params: Mapping[str, object] | None = None,
        *,
        approval_id: int | None = None,
    ) -> Iterator[Attempt]:
        """Authorise ``action``, then run the block as one :class:`Attempt`.

        Raises: Forbidden (before the block runs, logged as ``denied``), and whatever the
        block raises (logged as ``denied`` or ``failed:<code>``; an interrupt, a hang-up or
        SIGTERM as ``failed:interrupted``).
        """
        attempt = Attempt(self, action, target, params or {}, approval_id)
        try:
            with self.catalog.read() as tx:
                self.authorize(tx, action)
        except Forbidden as denied:
            attempt.entry = self.record_alone(self._denial(action, target, attempt.params, denied))
            raise
        try:
            yield attempt
        except Forbidden as denied:
            self._end_failed(attempt, "denied", {"reason": denied.message})
            raise
        except OpsError as exc:
            self._end_failed(attempt, f"failed:{exc.code}", {"error": exc.message})
            raise
        except Exception as bug:
            self._end_failed(attempt, "failed:internal", {"error": type(bug).__name__})
            raise
        except KeyboardInterrupt:
            # Ctrl-C, or the connection dropped (SIGHUP) or SIGTERM: the step under way rolled
            # back; the attempt still ends as one entry, never as nothing.
            self._end_failed(attempt, "failed:interrupted", {"error": "interrupted"})
            raise
        attempt._end("ok", {})

    def _end_failed(self, attempt: Attempt, outcome: str, details: Mapping[str, object]) -> None:
        """Record a failed attempt; if the catalog cannot take it either, the JSON event log
        keeps it, and the original error is what the operator sees."""
        try:
            attempt._end(outcome, details)
        except OpsError as unrecorded:
            entry = draft(self.identity, attempt.event(), self.clock())
            self.events.unrecorded(entry, unrecorded.message)

    def mutate(
        self,
        action: Action,
        target: str,
        params: Mapping[str, object],
        fn: Callable[[CatalogTx], T],
        *,
        approval_id: int | None = None,
    ) -> T:
        """A change made in one transaction with its ``ok`` entry (:meth:`audited` in short)."""
        with self.audited(action, target, params, approval_id=approval_id) as attempt:
            with attempt.transaction() as tx:
                result = fn(tx)
                attempt.ok()
        return result

    # -- the ops log ---------------------------------------------------------------------------

    def append(self, tx: CatalogTx, event: Event) -> OpsLogEntry:
        """Append ``event`` to the ops log inside ``tx`` (serialised with other appenders).

        Raises:
            IntegrityFailure: the head is missing, blanked or unsigned (see ``extendable_head``).
        """
        head = extendable_head(self.opslog_key, tx.opslog.head(for_update=True))
        entry, new_head = next_entry(self.opslog_key, head, self.identity, event, self.clock())
        tx.opslog.append(entry, new_head)
        return entry

    def record_alone(self, event: Event) -> OpsLogEntry:
        """Append ``event`` in a transaction of its own, then to the JSON event log."""
        with self.catalog.transaction() as tx:
            entry = self.append(tx, event)
        self.events.entry(entry)
        return entry

    def _tagged(self, params: Mapping[str, object] | None) -> Mapping[str, object]:
        if self.worker is None:
            return params or {}
        return {**(params or {}), "worker": dict(self.worker)}

    @staticmethod
    def _denial(
        action: Action, target: str, params: Mapping[str, object], denied: Forbidden
    ) -> Event:
        return Event(str(action), target, {**params, "reason": denied.message}, "denied")
