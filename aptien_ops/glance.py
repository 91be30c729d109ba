"""The dashboard at a glance: what the TUI's first frame shows, read without SQLAlchemy.

The first frame needs only the operator's roles, the tenant counts per region and state, the
cluster loads and the pending approvals. :func:`dashboard_glance` reads them through the
``catalog_glance`` adapter (the raw driver: stdlib ``sqlite3`` or ``psycopg``) in a few
milliseconds, so the dashboard is drawn before SQLAlchemy is even imported; the full console
connects right after, in the background.

It answers None whenever the normal start must run instead, which then reports any problem
the usual way: no catalog yet (first use), a schema older or newer than this code, a catalog
not bootstrapped, a URL form the adapter does not handle, any error, and an operator the
permission matrix does not let see all three dashboard cards (the services would refuse, and
log the denial in the ops log, which only the full console can write).
"""

from __future__ import annotations

import importlib
import os
import pickle
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aptien_ops.config import Settings
from aptien_ops.domain import Approval, ClusterLoad, TenantCount
from aptien_ops.errors import OpsError
from aptien_ops.permissions import Action, is_allowed
from aptien_ops.region_capacity import RegionSummary, region_summaries

if TYPE_CHECKING:
    from aptien_ops.ports import CatalogGlance

#: What the dashboard shows, and so what an operator must be allowed to see for the glance.
DASHBOARD_ACTIONS = (Action.TENANT_VIEW, Action.REGION_VIEW, Action.APPROVAL_VIEW)


@dataclass(frozen=True)
class DashboardGlance:
    """What the catalog holds for the dashboard, read in one read-only transaction."""

    operator: str
    roles: frozenset[str]
    """The operator's roles; empty if they are not an active operator."""
    counts: list[TenantCount]
    """As ``CatalogTx.tenant_counts()``: per region and state, ordered by both."""
    loads: list[ClusterLoad]
    """As ``CatalogTx.cluster_loads()``: live tenants per cluster, sorted."""
    pending: list[Approval]
    """As ``CatalogTx.approvals(PENDING)``: oldest first."""

    def regions(self, settings: Settings) -> list[RegionSummary]:
        """Each configured region with its clusters, capacity and load (``RegionService.list()``)."""
        return region_summaries(settings, self.loads)


def catalog_kind(url: str) -> str | None:
    """``sqlite`` or ``postgresql`` for the catalog URLs the glance reads; None for any other."""
    scheme = url.partition("://")[0]
    if scheme == "sqlite":
        return "sqlite"
    if scheme in ("postgresql", "postgresql+psycopg", "postgres"):
        return "postgresql"
    return None


def dashboard_glance(settings: Settings, operator: str) -> DashboardGlance | None:
    """The dashboard's data for ``operator``, or None when the normal start must run instead.

    Never raises a console error: any ``OpsError`` (catalog unreachable, unreadable password
    file, …) means None, and opening the full console then reports it.
    """
    kind = catalog_kind(settings.catalog.url)
    if kind is None:
        return None
    adapter_class = importlib.import_module("aptien_ops.backends").load("catalog_glance", kind)
    try:
        adapter: CatalogGlance = adapter_class(settings.catalog)
        glance: DashboardGlance | None = adapter.glance(operator)
    except OpsError:
        return None
    if glance is None or not all(is_allowed(glance.roles, action) for action in DASHBOARD_ACTIONS):
        return None
    return glance


def start_dashboard_glance(
    settings: Settings, operator: str
) -> Callable[[], DashboardGlance | None]:
    """Start reading :func:`dashboard_glance` while the caller does something else (import
    Textual); calling the returned function waits for the answer (None as there).

    The read runs in a forked child when this process has a single thread: on PostgreSQL it
    means importing psycopg (~50 ms) and a round trip per statement, which then overlap the
    caller's work on another core. With other threads running, a fork could copy a lock one of
    them holds into the child, so the glance is read here and now instead.
    """
    if not hasattr(os, "fork") or threading.active_count() > 1:
        glance = dashboard_glance(settings, operator)
        return lambda: glance
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _child(settings, operator, write_end)  # never returns
    os.close(write_end)

    def result() -> DashboardGlance | None:
        with os.fdopen(read_end, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(pid, 0)
        if status != 0 or not data:
            return None  # the child failed (and logged why): start the usual way
        # Our own forked child wrote it to a pipe only the two of us hold.
        glance: DashboardGlance | None = pickle.loads(data)
        return glance

    return result


def _child(settings: Settings, operator: str, write_end: int) -> None:
    # A forked copy of the caller: it must leave through os._exit, never back into the
    # caller's code, exit handlers or buffered output.
    ok = False
    try:
        glance = dashboard_glance(settings, operator)
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(pickle.dumps(glance))
        ok = True
    finally:
        if not ok:
            _log_bug(settings, sys.exc_info()[1])
        os._exit(0 if ok else 1)


def _log_bug(settings: Settings, error: BaseException | None) -> None:
    """A bug in the child goes to the log file, as every internal error does."""
    from aptien_ops.eventlog import EventLog

    if isinstance(error, Exception):
        log = EventLog(settings.logging.file)
        try:
            log.internal_error(error)
        except OSError:
            pass  # nowhere to write it: the parent starts the usual way all the same
        finally:
            log.close()
