"""Fleet: the clusters, drift between the catalog and them (grouped by kind), and schema
migration.

The check (one query per cluster) runs in a worker each time the screen is shown, the status
line saying where it is; ``d`` runs the deep check, which also opens every tenant database; ``m``
upgrades tenant schemas with a progress bar fed by messages from the worker thread; ``a`` on a
cluster's row drafts a maintenance notice to the tenants on that cluster (the Notices screen's
draft form, its scope prefilled).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Group, RenderableType
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Label, ProgressBar, Static

from aptien_ops.errors import OpsError
from aptien_ops.permissions import Action
from aptien_ops.screens.base import CLEAR_FILTER, FILTER, REGION_FILTER, OpsScreen
from aptien_ops.screens.columns import ColumnSpec, SpecGrid
from aptien_ops.screens.filter_bar import FilterBar
from aptien_ops.screens.fleet_clusters import CLUSTER_COLUMNS, announce_maintenance, cluster_rows
from aptien_ops.screens.formatting import count, plain, plural
from aptien_ops.screens.lists import ListRow, ListScroll, ListTable
from aptien_ops.screens.modals import ConfirmModal, OpsModal
from aptien_ops.services.fleet import Finding, MigrationResult
from aptien_ops.tenant_schema import TENANT_SCHEMA_VERSION

#: Each kind of drift in the order an operator deals with it, with what it means.
KINDS = {
    "cluster-unreachable": "Clusters that do not answer",
    "backup-store-unreachable": "Backup stores that do not answer",
    "login-drift": "Logins the cluster allows or refuses against the tenant's state",
    "access-drift": "Owners and CONNECT grants not as provisioned",
    "missing-database": "Catalog tenants whose database is missing",
    "unreadable-database": "Databases the cluster cannot read",
    "orphan-database": "Databases the catalog does not know (orphans)",
    "stuck-provisioning": "Provisioning stopped part-way (rerun provision)",
    "over-capacity": "Clusters over capacity",
    "schema-behind": "Schemas behind this version (m migrates)",
    "schema-unrecorded": "Schema versions the cluster does not record (m records them)",
    "backup-missing": "Indexed backups missing from their store",
    "backup-unindexed": "Backups in a store, not in the index (an operator's check adds them)",
    "past-retention": "Cancelled tenants past retention, awaiting purge",
}
#: Findings listed in all (shared by the kinds found, at least ``SHOWN_PER_KIND_AT_LEAST``
#: each); the rest are counted, and the CLI's ``fleet check --json`` lists every one. A rich
#: table is measured cell by cell on the UI thread: its rows must not grow with the fleet.
FINDINGS_SHOWN = 60
SHOWN_PER_KIND_AT_LEAST = 5
MIGRATE_PARALLEL = 2


def _finding_text(finding: Finding) -> str:
    """What a finding shows (its kind's heading and its row), lower-cased for the filter."""
    kind = KINDS.get(finding.kind, finding.kind)
    where = f"{finding.tenant or finding.cluster or '—'} {finding.region} · {finding.cluster}"
    return f"{kind} {where} {finding.detail}".lower()


class MigrateProgress(Message, bubble=False):
    """Posted from the migration thread after each tenant."""

    def __init__(self, done: int, total: int, tenant: str) -> None:
        super().__init__()
        self.done, self.total, self.tenant = done, total, tenant


class ClusterChecked(Message, bubble=False):
    """Posted from the check thread as it reaches each cluster."""

    def __init__(self, cluster: str) -> None:
        super().__init__()
        self.cluster = cluster


#: Which tenant (or cluster), where, and what is wrong: the detail wraps, the names are cut
#: (with …) only on a narrow terminal.
FINDING_COLUMNS = (
    ColumnSpec("Tenant", 14, shrink=True, essential=True, most=44),
    ColumnSpec("Where", 10, shrink=True),
    ColumnSpec("Detail", 16, share=1, wrap=True),
)


def _finding_row(f: Finding) -> tuple[Text, Text, Text]:
    return (
        plain(f"  {f.tenant or f.cluster or '—'}"),
        plain(f"{f.region} · {f.cluster or '—'}", "dim"),
        plain(f.detail),
    )


def findings_report(findings: Sequence[Finding]) -> RenderableType:
    """Findings grouped by kind, each group a small table: tenant or cluster, where, detail."""
    parts: list[RenderableType] = []
    by_kind: dict[str, list[Finding]] = {}
    for f in findings:
        by_kind.setdefault(f.kind, []).append(f)
    known = [k for k in KINDS if k in by_kind]
    others = sorted(set(by_kind) - set(KINDS))
    shown_per_kind = max(SHOWN_PER_KIND_AT_LEAST, FINDINGS_SHOWN // max(1, len(by_kind)))
    rows = {kind: [_finding_row(f) for f in by_kind[kind][:shown_per_kind]] for kind in by_kind}
    every_row = [row for kind_rows in rows.values() for row in kind_rows]
    for kind in known + others:
        group = by_kind[kind]
        if parts:
            parts.append(Text(""))
        parts.append(Text(f"{KINDS.get(kind, kind)} ({count(len(group))})", style="bold yellow"))
        # Sized by every group's rows, so that the columns of every group line up.
        parts.append(SpecGrid(FINDING_COLUMNS, rows[kind], header=False, measure=every_row))
        if len(group) > shown_per_kind:
            parts.append(
                Text(
                    f"  … and {count(len(group) - shown_per_kind)} more: "
                    "aptien-ops fleet check --json",
                    style="dim",
                )
            )
    return Group(*parts)


@dataclass(frozen=True)
class FindingsView:
    """The findings of one region filter, counted and laid out in the worker that read them."""

    findings: int
    kinds: int
    report: RenderableType | None
    """None: no drift."""
    shown: tuple[Finding, ...] = ()
    """The findings themselves, for the filter bar (``/``) to narrow."""

    @classmethod
    def of(cls, findings: Sequence[Finding], region: str | None) -> FindingsView:
        shown = [f for f in findings if region is None or f.region == region]
        report = findings_report(shown) if shown else None
        return cls(len(shown), len({f.kind for f in shown}), report, tuple(shown))


class FleetScreen(OpsScreen):
    """Does every cluster hold exactly what the catalog says, at this code's schema version?"""

    MODE = "fleet"
    TITLE = "Fleet"
    NAV_KEY = "6"
    CSS_PATH = Path(__file__).with_name("fleet.tcss")
    AUTO_FOCUS = "#fleet-findings"
    BINDINGS = [
        Binding(
            "c", "check", "Check again", tooltip="compare the catalog with every cluster again"
        ),
        Binding(
            "d",
            "deep_check",
            "Deep check",
            tooltip="check again, also opening every tenant database to read its schema (slow)",
        ),
        Binding(
            "m",
            "migrate",
            "Migrate",
            tooltip="upgrade tenant schemas to this version (region filter applies)",
        ),
        Binding(
            "a",
            "announce",
            "Announce",
            tooltip="announce maintenance on the highlighted cluster (a notice's draft form)",
        ),
        REGION_FILTER,
        FILTER,
        CLEAR_FILTER,
    ]
    PERMISSIONS = {
        "check": Action.FLEET_CHECK,
        "deep_check": Action.FLEET_CHECK,
        "migrate": Action.FLEET_MIGRATE,
        "announce": Action.NOTICE_DRAFT,
    }

    def __init__(self) -> None:
        super().__init__()
        self.findings: dict[str | None, FindingsView] | None = None
        """What each region filter shows (None until the first check is in)."""
        self.deep = False
        """Whether the findings shown come from a deep check."""
        self.checking = False
        """A check is on its way (the status line says which cluster it is at)."""

    def compose_body(self) -> ComposeResult:
        yield Static("checking…", id="fleet-status")
        with Horizontal(id="fleet-migration"):
            yield Label(id="fleet-migration-label")
            yield ProgressBar(id="fleet-progress", show_eta=False)
        yield ListTable(CLUSTER_COLUMNS, id="fleet-clusters")
        yield FilterBar(id="fleet-filter")
        with ListScroll(id="fleet-findings"):
            yield Static(id="fleet-report")

    def on_mount(self) -> None:
        self.query_one("#fleet-migration").display = False
        self.watch(self.app, "region_filter", self._show_findings, init=False)

    # -- checking --------------------------------------------------------------------------

    def refresh_data(self, *, deep: bool = False) -> None:
        # Said on the status line, the last findings kept below it: an animated loading
        # indicator over them repainted the region 60 times a second for the seconds a check
        # takes, on the UI thread, while the check's worker wanted the interpreter lock.
        self.checking = True
        what = "every tenant database" if deep else "the clusters"
        self.query_one("#fleet-status", Static).update(f"checking {what}…")

        def report(cluster: str) -> None:
            self.post_message(ClusterChecked(cluster))

        def check() -> tuple[dict[str | None, FindingsView], bool]:
            clusters = cluster_rows(self.console.regions.list())
            self.app.call_from_thread(self._show_clusters, clusters)
            result = self.console.fleet.check(deep=deep, progress=report)
            regions = [None, *self.console.settings.regions]
            views = {region: FindingsView.of(result.findings, region) for region in regions}
            return views, result.deep

        self.load(check, self._checked)

    def _show_clusters(self, rows: list[ListRow]) -> None:
        self.query_one("#fleet-clusters", ListTable).fill(rows)

    def action_check(self) -> None:
        self.refresh_data()

    def action_deep_check(self) -> None:
        self.refresh_data(deep=True)

    @on(ClusterChecked)
    def _cluster_checked(self, event: ClusterChecked) -> None:
        if self.checking:
            self.query_one("#fleet-status", Static).update(f"checking {event.cluster}…")

    def _checked(self, checked: tuple[dict[str | None, FindingsView], bool]) -> None:
        self.findings, self.deep = checked
        self.checking = False
        self._show_findings()

    def _show_findings(self) -> None:
        if self.findings is None:
            return
        region = self.ops.region_filter
        view = self.findings.get(region) or FindingsView(0, 0, None)
        if self._show_filtered(view.shown):
            return
        clusters = sum(
            len(r.clusters)
            for name, r in self.console.settings.regions.items()
            if region in (None, name)
        )
        where = plural(clusters, "cluster") + (f" of region {region}" if region else "")
        if self.deep:
            where += " (deep: every database opened)"
        status = self.query_one("#fleet-status", Static)
        report = self.query_one("#fleet-report", Static)
        if view.report is None:
            status.update(Text(f"no drift: the catalog and {where} agree", style="bold green"))
            report.update(
                Text(
                    "Every tenant database is where the catalog says, "
                    f"at schema v{TENANT_SCHEMA_VERSION}.",
                    style="dim",
                )
            )
            return
        kinds = view.kinds
        status.update(
            Text(
                f"{plural(view.findings, 'finding')} of {plural(kinds, 'kind')} on {where}",
                style="bold yellow",
            )
        )
        report.update(view.report)

    def filter_changed(self, needle: str) -> None:
        self._show_findings()

    def _show_filtered(self, findings: Sequence[Finding]) -> bool:
        """Show only the findings holding the filter's text; False, showing nothing, if no
        filter applies. They are picked and laid out in a worker (``prepare``): a large
        fleet's findings are many, and matching each on the UI thread grew with the fleet."""
        bar = self.query_one(FilterBar)
        needle = bar.needle
        if not needle:
            bar.show_count(len(findings), len(findings))
            return False

        def narrow() -> tuple[int, RenderableType]:
            matching = [f for f in findings if needle in _finding_text(f)]
            return len(matching), findings_report(matching)

        def show(narrowed: tuple[int, RenderableType]) -> None:
            if bar.needle != needle:  # typed on meanwhile: a newer one is on its way
                return
            matching, report = narrowed
            bar.show_count(matching, len(findings))
            self.query_one("#fleet-status", Static).update(
                Text(
                    f"{count(matching)} of {count(len(findings))} findings hold the filter",
                    style="bold yellow" if matching else "dim",
                )
            )
            self.query_one("#fleet-report", Static).update(report)

        self.prepare(narrow, show)
        return True

    def service_refused(self, error: OpsError) -> None:
        self.checking = False
        self.query_one("#fleet-migration").display = False
        if self.findings is None:
            self.query_one("#fleet-status", Static).update(Text(error.one_line(), style="red"))
        super().service_refused(error)

    # -- migrating -------------------------------------------------------------------------

    def action_migrate(self) -> None:
        region = self.ops.region_filter
        scope = f"in region {region}" if region else "in every region"

        question = (
            f"Upgrade the schema of every live tenant {scope} to v{TENANT_SCHEMA_VERSION}? "
            "One transaction per tenant; rerunning resumes where it stopped."
        )
        self.app.push_screen(
            ConfirmModal(question, yes="Migrate", title="Migrate schemas").acting(
                self, lambda _yes: self._migrate(region), self._migrated
            )
        )

    def _migrate(self, region: str | None) -> Callable[[], list[MigrationResult]]:
        """Show the migration's progress (here and in the dialog); the call that runs it. It
        counts as a running job until it is over: ``q`` asks first."""
        self.ops.job_started(self, "migrating tenant schemas")
        self.query_one("#fleet-migration").display = True
        self.query_one("#fleet-migration-label", Label).update("migrating…")
        self.query_one(ProgressBar).update(total=None, progress=0)

        def report(done: int, total: int, tenant: str) -> None:
            self.post_message(MigrateProgress(done, total, tenant))

        return lambda: self.console.fleet.migrate(
            region=region,
            parallel=MIGRATE_PARALLEL,
            progress=report,
            interrupted=self.ops.leaving.is_set,  # a hang-up: no further tenant starts
        )

    @on(MigrateProgress)
    def _migrate_progress(self, event: MigrateProgress) -> None:
        self.query_one(ProgressBar).update(total=event.total, progress=event.done)
        progress = f"{event.done}/{event.total} {event.tenant[:24]}"
        self.query_one("#fleet-migration-label", Label).update(progress)
        dialog = self.app.screen
        if isinstance(dialog, OpsModal) and dialog.working:
            dialog.show_working(progress)

    def _migrated(self, results: list[MigrationResult]) -> None:
        failed = [r for r in results if r.error]
        upgraded = len(results) - len(failed)
        tenants = plural(upgraded, "tenant")
        message = f"{tenants} at schema v{TENANT_SCHEMA_VERSION}"
        if failed:
            first = failed[0]
            self.notify(
                f"{message}; {len(failed)} failed, first {first.tenant}: {first.error}",
                title="Migration",
                severity="error",
                timeout=15,
                markup=False,
            )
        else:
            self.notify(message, title="Migration done", markup=False)

    def action_announce(self) -> None:
        announce_maintenance(self, self.query_one("#fleet-clusters", ListTable))

    def after_change(self) -> None:
        self.query_one("#fleet-migration").display = False
        self.ops.job_ended(self)
        self.refresh_data()
