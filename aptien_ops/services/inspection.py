"""Who logged in from where, who changed what, when: tenants' metadata, never their payloads.

Every read goes through an :class:`~aptien_ops.ports.InspectionReader` (PostgreSQL: the
region's inspector role, which the server refuses any payload column; SQLite: an explicit
column allow-list). Inspection needs the ``security`` role; each command leaves one ops-log
entry with the filters as typed, a denial is logged too, and an export is logged with its
reason before it starts and with its row count when it is done.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

from aptien_ops.config import ClusterSettings, region_or_fail
from aptien_ops.domain import LoginEvent, Tenant, TenantState, iso, validate_tenant_name
from aptien_ops.errors import Conflict, InvalidInput, NotFound
from aptien_ops.export_file import check_export, write_export
from aptien_ops.inspect_query import (
    DEFAULT_LIMIT,
    AuditFilters,
    CursorCodec,
    LoginFilters,
    Position,
    Query,
    check_email,
    cursor_key,
    cursor_scope,
)
from aptien_ops.login_activity import LoginSummary
from aptien_ops.permissions import Action
from aptien_ops.ports import InspectionReader
from aptien_ops.services.context import OpsContext, existing_tenant
from aptien_ops.services.inspection_results import (
    ExportResult,
    Page,
    Row,
    TenantActivity,
    UserHit,
    UserSearch,
    state_notice,
)
from aptien_ops.services.user_search import search_tenants

ReaderFactory = Callable[[ClusterSettings, str], InspectionReader]
"""``(cluster, inspector_role) -> reader``; each reader serves one thread."""

INSPECTABLE = (TenantState.ACTIVE, TenantState.SUSPENDED, TenantState.CANCELLED)
#: Rows per read while streaming a whole window (summary, export).
STREAM_PAGE = 5000

Filters = LoginFilters | AuditFilters


class Browser:
    """One tenant's logins or audit with fixed filters, paged newest first by keyset.

    The first page is the inspection's one ops-log entry (the tenant is looked up then, after
    authorisation); later pages (the TUI scrolling, a script following cursors) are the same
    inspection and are not logged again.
    """

    def __init__(self, service: InspectionService, name: str, kind: str, filters: Filters) -> None:
        self.service, self.name, self.kind, self.filters = service, name, kind, filters
        self.tenant: Tenant | None = None
        self._scope = b""

    @property
    def notice(self) -> str | None:
        return state_notice(self.tenant) if self.tenant else None

    def page(self, limit: int = DEFAULT_LIMIT, after: str | None = None) -> Page:
        """Raises: InvalidInput (filters, limit, cursor), NotFound, Conflict, Forbidden,
        Unavailable."""
        if self.tenant is not None:
            return self._page(self.tenant, limit, after)
        ctx = self.service.ctx
        params: dict[str, object] = {
            "kind": self.kind,
            "filters": self.filters.typed(),
            "limit": limit,
            "after": after is not None,
        }
        with ctx.audited(Action.INSPECT_METADATA, self.name, params) as attempt:
            tenant = self.service.inspectable(self.name)
            self._scope = cursor_scope(tenant.name, tenant.created_at, self.kind, self.filters)
            page = self._page(tenant, limit, after)
            self.tenant = tenant
            attempt.ok(rows=len(page.rows))
        return page

    def _page(self, tenant: Tenant, limit: int, after: str | None) -> Page:
        now = self.service.ctx.now()
        codec = self.service.codec
        query = self.filters.resolve(now, limit)
        start = codec.decode(after, self._scope, now) if after is not None else None
        # One row more than asked tells whether there is a next page without a count.
        rows = self.service.read(tenant, query.following(start, limit + 1))
        more = len(rows) > limit
        rows = rows[:limit]
        cursor = None
        if more:
            cursor = codec.encode(self._scope, Position(rows[-1].at, rows[-1].id), now)
        return Page(tenant, self.kind, rows, cursor)


class InspectionService:
    """Inspection use cases; one per console. Readers are opened per cluster on first use."""

    def __init__(self, ctx: OpsContext, reader_factory: ReaderFactory) -> None:
        self.ctx = ctx
        self._factory = reader_factory
        self._readers: dict[str, InspectionReader] = {}
        self._lock = threading.Lock()
        self.codec = CursorCodec(cursor_key(ctx.opslog_key))

    # -- one tenant ---------------------------------------------------------------------------

    def browse(self, name: str, kind: str, filters: Filters) -> Browser:
        """A browser of the tenant's events; its first page is the logged inspection.

        Raises: InvalidInput (name, kind); the rest when the first page is read.
        """
        validate_tenant_name(name)
        if kind not in ("logins", "audit") or not isinstance(
            filters, LoginFilters if kind == "logins" else AuditFilters
        ):
            raise InvalidInput(f"unknown kind of event {kind!r}: logins or audit")
        return Browser(self, name, kind, filters)

    def logins(
        self,
        name: str,
        filters: LoginFilters,
        *,
        limit: int = DEFAULT_LIMIT,
        after: str | None = None,
    ) -> Page:
        """One page of login events. Raises as :meth:`browse` and :meth:`Browser.page`."""
        filters.resolve(self.ctx.now(), limit)  # bad input is refused before anything is touched
        return self.browse(name, "logins", filters).page(limit, after)

    def audit(
        self,
        name: str,
        filters: AuditFilters,
        *,
        limit: int = DEFAULT_LIMIT,
        after: str | None = None,
    ) -> Page:
        """One page of change-audit events. Raises as :meth:`browse` and :meth:`Browser.page`."""
        filters.resolve(self.ctx.now(), limit)
        return self.browse(name, "audit", filters).page(limit, after)

    def inspectable(self, name: str) -> Tenant:
        """The tenant to inspect (the caller has authorised).

        Raises: NotFound (unknown or purged), Conflict (still provisioning).
        """
        with self.ctx.catalog.read() as tx:
            tenant = existing_tenant(tx, name)
        if tenant.state == TenantState.PURGED:
            raise NotFound(
                f"tenant {name} was purged on {iso(tenant.purged_at)}; "
                "its database no longer exists"
            )
        if tenant.state not in INSPECTABLE or not tenant.cluster:
            raise Conflict(
                f"tenant {name} is still provisioning",
                hint=f"aptien-ops tenant provision {name} finishes it",
            )
        return tenant

    def read(self, tenant: Tenant, query: Query) -> list[Row]:
        """One page straight from the tenant's reader (callers have authorised and will log)."""
        reader = self._reader(tenant.cluster or "")
        rows: list[Row] = []
        rows.extend(
            reader.logins(tenant.name, query)
            if query.kind == "logins"
            else reader.audit(tenant.name, query)
        )
        return rows

    def _stream(self, tenant: Tenant, query: Query) -> Iterator[Row]:
        """Every row of ``query`` newest first, read ``STREAM_PAGE`` rows at a time by keyset."""
        page = query.following(query.after, STREAM_PAGE)
        while True:
            rows = self.read(tenant, page)
            yield from rows
            if len(rows) < STREAM_PAGE:
                return
            page = page.following(Position(rows[-1].at, rows[-1].id))

    def summary(
        self,
        name: str,
        *,
        since: str | None = None,
        until: str | None = None,
        per: str | None = None,
        user: str | None = None,
    ) -> TenantActivity:
        """Login activity of a window (default the last 7 days), of one user's logins if
        ``user`` is given: counts per hour or day, failure rate, distinct users/IPs/user
        agents, bursts of failures (thresholds from ``[inspection]``), first-seen IPs.
        Raises: InvalidInput, NotFound, Conflict, Forbidden, Unavailable.
        """
        now = self.ctx.now()
        typed = {"since": since or "7d", "until": until or "now"}
        if user:
            typed["user"] = user
        query = LoginFilters(since=typed["since"], until=typed["until"], user=user).resolve(now)
        assert query.since is not None and query.until is not None
        chosen = per or ("hour" if query.until - query.since <= timedelta(hours=48) else "day")
        settings = self.ctx.settings.inspection
        builder = LoginSummary(
            query.since,
            query.until,
            chosen,
            settings.burst_failures,
            timedelta(minutes=settings.burst_window_minutes),
        )
        params: dict[str, object] = {"kind": "summary", "filters": typed, "per": chosen}
        validate_tenant_name(name)
        with self.ctx.audited(Action.INSPECT_METADATA, name, params) as attempt:
            tenant = self.inspectable(name)
            for event in self._stream(tenant, query):
                assert isinstance(event, LoginEvent)
                builder.add(event.at, event.user_email, event.ip, event.user_agent, event.result)
            seen = self._reader(tenant.cluster or "").ips_seen_before(
                tenant.name, sorted(builder.addresses), query.since
            )
            activity = builder.activity(seen)
            attempt.ok(rows=activity.logins)
        return TenantActivity(tenant, activity)

    def export(
        self,
        name: str,
        *,
        kind: str,
        fmt: str,
        output: Path,
        reason: str,
        since: str | None = None,
        until: str | None = None,
    ) -> ExportResult:
        """Write every ``kind`` event of the window to ``output`` (jsonl or csv, mode 0600).

        Logged with the reason before it starts and with the row count when done.
        Raises: InvalidInput (kind, format, reason, times, path), Conflict (the file exists),
        NotFound, Forbidden, Unavailable (a write failed; nothing is left behind).
        """
        why, target = check_export(kind, fmt, reason, output)
        filters: Filters = (
            LoginFilters(since=since, until=until)
            if kind == "logins"
            else AuditFilters(since=since, until=until)
        )
        query = filters.resolve(self.ctx.now())
        params: dict[str, object] = {
            "kind": kind,
            "format": fmt,
            "output": str(target),
            "reason": why,
            "filters": filters.typed(),
        }
        validate_tenant_name(name)
        with self.ctx.audited(Action.INSPECT_EXPORT, name, params) as attempt:
            tenant = self.inspectable(name)
            rows, digest = write_export(target, fmt, query.columns, self._stream(tenant, query))
            attempt.ok(rows=rows, sha256=digest)
        return ExportResult(tenant, kind, fmt, target, rows, digest)

    # -- the fleet ----------------------------------------------------------------------------

    def find_user(
        self,
        email: str,
        *,
        region: str | None = None,
        on_hit: Callable[[UserHit], None] | None = None,
        progress: Callable[[int, int, str], None] | None = None,
    ) -> UserSearch:
        """Every live tenant (of ``region``) where ``email`` is a user, with its last login.

        Tenants are searched in parallel, at most ``[inspection] parallel_per_cluster`` at once
        on each cluster, each thread with its own reader; ``on_hit`` gets each hit as it is
        found, in any order. Purged tenants are skipped; suspended and cancelled ones are
        searched and their state reported. Tenants that could not be searched are in
        ``failures``.

        Raises: InvalidInput (address, region), Forbidden (logged).
        """
        address = check_email(email)
        if region is not None:
            region_or_fail(self.ctx.settings, region)
        params: dict[str, object] = {"email": email, "region": region}
        with self.ctx.audited(Action.INSPECT_METADATA, region or "fleet", params) as attempt:
            with self.ctx.catalog.read() as tx:
                tenants = tx.tenants.all(region=region)
            purged = sum(1 for t in tenants if t.state == TenantState.PURGED)
            search = UserSearch(address, skipped_purged=purged)
            live = [t for t in tenants if t.state in INSPECTABLE and t.cluster]
            search.searched = len(live)
            search_tenants(
                live,
                address,
                search,
                parallel=self.ctx.settings.inspection.parallel_per_cluster,
                new_reader=self.new_reader,
                on_hit=on_hit,
                progress=progress,
            )
            counts = {
                "tenants": len(live),
                "found": len(search.hits),
                "failed": len(search.failures),
            }
            if search.failures:
                attempt.fail("unavailable", **counts)
            else:
                attempt.ok(**counts)
        search.hits.sort(key=lambda hit: hit.tenant.name)
        return search

    # -- readers ------------------------------------------------------------------------------

    def new_reader(self, cluster: str) -> InspectionReader:
        """A reader of its own for ``cluster`` (a worker thread's, a test's or a benchmark's;
        it checks no permission and logs nothing; the caller closes it).

        Raises: NotFound if no region of the config defines the cluster.
        """
        settings = self.ctx.cluster_settings(cluster)
        role = next(
            r.inspector_role for r in self.ctx.settings.regions.values() if settings in r.clusters
        )
        return self._factory(settings, role)

    def reader_of(self, tenant: Tenant) -> InspectionReader:
        """The reader of ``tenant``'s cluster (callers have authorised and will log)."""
        return self._reader(tenant.cluster or "")

    def _reader(self, cluster: str) -> InspectionReader:
        with self._lock:
            if cluster not in self._readers:
                self._readers[cluster] = self.new_reader(cluster)
            return self._readers[cluster]

    def close(self) -> None:
        with self._lock:
            for reader in self._readers.values():
                reader.close()
            self._readers.clear()
