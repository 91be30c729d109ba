"""The dashboard: the fleet at a glance, from aggregate queries only (fast with 10,000 tenants)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static

from aptien_ops.domain import Approval, ApprovalState, TenantCount, TenantState
from aptien_ops.errors import OpsError
from aptien_ops.permissions import Action, may_approve, offered
from aptien_ops.regions import RegionSummary
from aptien_ops.screens.backup_render import BackupHealth, health_text
from aptien_ops.screens.base import REGION_FILTER, OpsScreen
from aptien_ops.screens.billing_render import card_text
from aptien_ops.screens.columns import ColumnSpec, SpecGrid
from aptien_ops.screens.formatting import count, plural
from aptien_ops.screens.jobs_render import dashboard_text as jobs_card
from aptien_ops.screens.partner_render import partners_text
from aptien_ops.services.billing_results import BillingSummary, NotConnected
from aptien_ops.services.partner_results import PartnerSummary

if TYPE_CHECKING:
    from aptien_ops.domain.job_board import JobBoard
    from aptien_ops.services.incident_results import BreachCheck
    from aptien_ops.services.op_notice_results import NoticeRow

#: Columns of the tenants card, in the order an operator scans them.
STATES = (
    TenantState.ACTIVE,
    TenantState.SUSPENDED,
    TenantState.PROVISIONING,
    TenantState.CANCELLED,
    TenantState.PURGED,
)

#: The counts card: counts are as wide as they are (a state's title may be cut at 60
#: columns, with …); no column takes a wide terminal's extra width.
COUNT_COLUMNS = (
    ColumnSpec("region", 6, essential=True),
    *(ColumnSpec(str(state), 5, shrink=True, justify="right") for state in STATES),
    ColumnSpec("total", 5, justify="right"),
)
#: The regions card: the clusters' names last, taking what the numbers leave.
REGION_COLUMNS = (
    ColumnSpec("region", 6, essential=True),
    ColumnSpec("tenants", 7, justify="right"),
    ColumnSpec("capacity", 8, justify="right"),
    ColumnSpec("load", 5, justify="right"),
    ColumnSpec("clusters", 8, share=1, shrink=True),
)
#: The placeholders: the label whole, the sentence wrapped.
LATER_COLUMNS = (ColumnSpec("", 8), ColumnSpec("", 20, share=1, wrap=True))

#: What later capabilities will show here; kept as placeholders so the layout does not jump.
LATER = (("Breaches", "an incident awaiting its report shows on top (security, admin; key !)"),)


@dataclass
class Fleet:
    """One load of the dashboard; each part holds its data, the service's refusal, or None while
    it is not read yet (its card says "loading…")."""

    counts: list[TenantCount] | OpsError | None = None
    regions: list[RegionSummary] | OpsError | None = None
    pending: list[Approval] | OpsError | None = None
    backups: BackupHealth | OpsError | None = None
    partners: PartnerSummary | OpsError | None = None
    billing: BillingSummary | NotConnected | OpsError | None = None
    notices: list[NoticeRow] | OpsError | None = None
    """Operational notices in progress or scheduled, with their stored scope per region."""
    incidents: BreachCheck | None = None
    """Incidents whose clock runs; None unless the operator may see incidents (its card is
    shown only while there is one)."""
    jobs: JobBoard | None = None
    """The job queue (a PostgreSQL catalog's; its card is shown only while jobs failed)."""

    def complete(self) -> bool:
        optional = ("incidents", "jobs")
        return all(
            getattr(self, f.name) is not None for f in fields(self) if f.name not in optional
        )


class DashboardScreen(OpsScreen):
    """Tenants per region and state, region capacity, approvals waiting, what is to come.

    Until the app has connected the catalog (``OpsApp.catalog_ready``: at start-up, after the
    first frame) the cards say "loading…"; the fleet is then read in workers, never here.
    """

    MODE = "dashboard"
    TITLE = "Dashboard"
    NAV_KEY = "1"
    CSS_PATH = Path(__file__).with_name("dashboard.tcss")
    BINDINGS = [REGION_FILTER]
    AUTO_REFRESH = True

    class FleetShown(Message):
        """The cards now show a load of the fleet (``DashboardScreen.fleet``)."""

    fleet: Fleet | None = None

    def compose_body(self) -> ComposeResult:
        fleet = Fleet()
        with VerticalScroll(id="dashboard-cards"):
            yield Static(id="dashboard-incidents", classes="card")
            yield Static(id="dashboard-jobs", classes="card")
            yield Static(_card(fleet.counts, self._tenants), id="dashboard-tenants", classes="card")
            yield Static(
                _card(fleet.regions, self._regions), id="dashboard-regions", classes="card"
            )
            yield Static(
                _card(fleet.pending, self._approvals), id="dashboard-approvals", classes="card"
            )
            yield Static(
                _card(fleet.notices, self._notices), id="dashboard-notices", classes="card"
            )
            yield Static(
                _card(fleet.backups, self._backups), id="dashboard-backups", classes="card"
            )
            yield Static(
                _card(fleet.partners, self._partners), id="dashboard-partners", classes="card"
            )
            yield Static(
                _card(fleet.billing, self._billing), id="dashboard-billing", classes="card"
            )
            yield Static(self._later(), id="dashboard-later", classes="card")

    def on_mount(self) -> None:
        self.query_one("#dashboard-incidents").display = False
        self.query_one("#dashboard-jobs").display = False
        titles = {
            "#dashboard-incidents": "Breaches: the 72-hour clock",
            "#dashboard-jobs": "Jobs: failed for good",
            "#dashboard-tenants": "Tenants by region and state",
            "#dashboard-regions": "Regions: capacity and load",
            "#dashboard-approvals": "Four-eyes approvals",
            "#dashboard-notices": "Notices: in progress and upcoming",
            "#dashboard-backups": "Backups: overdue and failed",
            "#dashboard-partners": "Partners: breaches and warnings (partner check)",
            "#dashboard-billing": "Billing: licences and payments",
            "#dashboard-later": "Not configured yet",
        }
        for selector, title in titles.items():
            self.query_one(selector).border_title = title
        self.watch(self.app, "region_filter", self._render_fleet, init=False)

    def refresh_data(self) -> None:
        if not self.ops.catalog_ready:
            # The first frame shows "loading…"; the fleet is read once the app has connected
            # the catalog, after that frame, so nothing delays it.
            self.watch(self.app, "catalog_ready", self._catalog_ready, init=False)
            return
        self.load(self._read_fleet, self._loaded)

    def _catalog_ready(self, ready: bool) -> None:
        # Not shown now (a key pressed before the catalog was there): read when shown again.
        if ready and self.fleet is None and self.is_current:
            self.refresh_data()

    def _read_backups(self) -> BackupHealth | OpsError:
        """Runs in a worker thread."""
        try:
            return BackupHealth.read(self.console.backups)
        except OpsError as error:
            return error

    def _backups_loaded(self, backups: BackupHealth | OpsError) -> None:
        if self.fleet is not None:
            self.fleet.backups = backups
            self._render_fleet()
            self.post_message(self.FleetShown())

    def _roles_changed(
        self, old: frozenset[str] | None = None, new: frozenset[str] | None = None
    ) -> None:
        # The first roles to arrive (the app reads them while this screen loads) change only
        # what the approvals card offers: redraw it, do not read the fleet a second time.
        if old is None:
            self.refresh_bindings()
            self._render_fleet()
        else:
            super()._roles_changed()

    def _read_fleet(self) -> Fleet:
        """Runs in a worker thread: the aggregate reads, each allowed to fail on its own
        (backups are read next, by ``_read_backups``)."""
        fleet = Fleet()
        services = self.console
        try:
            fleet.counts = services.tenants.counts()
        except OpsError as error:
            fleet.counts = error
        try:
            fleet.regions = services.regions.list()
        except OpsError as error:
            fleet.regions = error
        try:
            fleet.pending = services.approvals.list(ApprovalState.PENDING)
        except OpsError as error:
            fleet.pending = error
        try:
            fleet.notices = [
                row for row in services.op_notices.list() if str(row.notice.status) in UPCOMING
            ]
        except OpsError as error:
            fleet.notices = error
        try:
            fleet.partners = services.partners.summary()
        except OpsError as error:
            fleet.partners = error
        try:
            fleet.billing = services.billing.summary()
        except OpsError as error:
            fleet.billing = error
        # Asked only if the operator may see incidents (a refusal would be logged). The app
        # may not have its roles yet on the first load (they are read in a worker of their
        # own): then this worker reads them, rather than hiding the card until the next load.
        roles = self.ops.roles
        if roles is None:
            roles = frozenset(services.ctx.my_roles())
        if offered(roles, Action.BREACH_VIEW, services.ctx.read_only).allowed:
            try:
                fleet.incidents = services.incidents.check()
            except OpsError:
                fleet.incidents = None  # the Incidents screen says why
        if services.job_board.available:
            try:
                fleet.jobs = services.job_board.read().board
            except OpsError:
                fleet.jobs = None  # the Jobs screen says why
        return fleet

    def _loaded(self, fleet: Fleet) -> None:
        # Backups are read after (what is due and what failed, counted by the catalog): the
        # other aggregate cards are shown first, the backups card keeps what it showed.
        if self.fleet is not None:
            fleet.backups = self.fleet.backups
        self.fleet = fleet
        self._render_fleet()
        self.post_message(self.FleetShown())
        # Started once these cards are painted: the read holds the interpreter lock for a while.
        self.call_after_refresh(self.load, self._read_backups, self._backups_loaded)

    def _render_fleet(self) -> None:
        if self.fleet is None:
            return
        self.query_one("#dashboard-tenants", Static).update(_card(self.fleet.counts, self._tenants))
        self.query_one("#dashboard-regions", Static).update(
            _card(self.fleet.regions, self._regions)
        )
        self.query_one("#dashboard-approvals", Static).update(
            _card(self.fleet.pending, self._approvals)
        )
        self.query_one("#dashboard-backups", Static).update(
            _card(self.fleet.backups, self._backups)
        )
        self.query_one("#dashboard-notices", Static).update(
            _card(self.fleet.notices, self._notices)
        )
        self.query_one("#dashboard-partners", Static).update(
            _card(self.fleet.partners, self._partners)
        )
        self.query_one("#dashboard-billing", Static).update(
            _card(self.fleet.billing, self._billing)
        )
        card = self.query_one("#dashboard-incidents", Static)
        running = self.fleet.incidents.running if self.fleet.incidents is not None else ()
        card.display = bool(running)
        if running:
            card.update(_incidents(running))
        jobs = self.query_one("#dashboard-jobs", Static)
        jobs.display = bool(self.fleet.jobs and self.fleet.jobs.failed)
        if self.fleet.jobs and self.fleet.jobs.failed:
            jobs.update(jobs_card(self.fleet.jobs))

    def _wanted_regions(self, known: list[str]) -> list[str]:
        region = self.ops.region_filter
        return [region] if region else known

    def _tenants(self, counts: list[TenantCount] | OpsError) -> SpecGrid | Text:
        if isinstance(counts, OpsError):
            return Text(counts.one_line(), style="red")
        by_region: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for c in counts:
            by_region[c.region][str(c.state)] += c.count
        known = list(self.console.settings.regions) + sorted(
            set(by_region) - set(self.console.settings.regions)
        )
        rows: list[tuple[Text | str, ...]] = []
        regions = self._wanted_regions(known)
        for region in regions:
            cells = [by_region[region][str(s)] for s in STATES]
            rows.append((region, *(_cell(n) for n in cells), _total(sum(cells))))
        if len(regions) > 1:
            cells = [sum(by_region[r][str(s)] for r in regions) for s in STATES]
            rows.append((Text("all", style="bold"), *(_cell(n) for n in cells), _total(sum(cells))))
        return SpecGrid(COUNT_COLUMNS, rows)

    def _regions(self, regions: list[RegionSummary] | OpsError) -> SpecGrid | Text:
        if isinstance(regions, OpsError):
            return Text(regions.one_line(), style="red")
        rows: list[tuple[Text | str, ...]] = []
        wanted = self.ops.region_filter
        for region in regions:
            if wanted and region.name != wanted:
                continue
            load = region.load
            style = "red" if load >= 0.9 else "yellow" if load >= 0.75 else ""
            rows.append(
                (
                    region.name,
                    count(region.tenants),
                    count(region.capacity),
                    Text(f"{load:.1%}", style=style),
                    ", ".join(c.name for c in region.clusters),
                )
            )
        return SpecGrid(REGION_COLUMNS, rows)

    def _approvals(self, pending: list[Approval] | OpsError) -> Text:
        if isinstance(pending, OpsError):
            return Text(pending.one_line(), style="red")
        if not pending:
            return Text("No requests are waiting for approval.")
        me = self.console.identity.operator
        roles = self.ops.roles or frozenset()
        for_me = sum(1 for a in pending if a.requested_by != me and may_approve(roles, a.action))
        text = Text(f"{plural(len(pending), 'request')} pending", style="bold yellow")
        if for_me and self.ops.may(Action.APPROVAL_DECIDE):
            text.append(
                f" — {for_me} await{'s' if for_me == 1 else ''} your decision (press 4)", style=""
            )
        return text

    def _backups(self, backups: BackupHealth | OpsError) -> Text:
        if isinstance(backups, OpsError):
            # One line on the dashboard (the message can name long paths); the screen says why.
            return Text(f"backups cannot be read ({backups.code}): press 8 to see why", style="red")
        return health_text(backups, self.ops.region_filter)

    def _partners(self, summary: PartnerSummary | OpsError) -> Text:
        if isinstance(summary, OpsError):
            return Text(summary.one_line(), style="red")
        return partners_text(summary, self.console.settings.partners.expiring_within_days)

    def _billing(self, summary: BillingSummary | NotConnected | OpsError) -> Text:
        if isinstance(summary, OpsError):
            return Text(summary.one_line(), style="red")
        region = self.ops.region_filter
        return card_text(summary, [region] if region else None)

    def _notices(self, rows: list[NoticeRow] | OpsError) -> Text:
        """In progress and scheduled notices, a line each (the first few), or that there is
        none; with a region filter, those whose stored scope holds a tenant there."""
        if isinstance(rows, OpsError):
            return Text(rows.one_line(), style="red")
        from aptien_ops.screens.notice_render import card_text

        region = self.ops.region_filter
        return card_text([r.notice for r in rows if not region or r.regions.get(region)], region)

    @staticmethod
    def _later() -> SpecGrid:
        rows = [(Text(label, style="bold"), Text(text, style="dim")) for label, text in LATER]
        return SpecGrid(LATER_COLUMNS, rows, header=False)


def _incidents(running: Any) -> Text:
    """``2 incidents awaiting a report · most urgent INC-… OVERDUE by 8h 00m (press !)``."""
    from aptien_ops.screens.incident_render import clock_cell

    first = running[0]  # soonest deadline first
    text = Text(f"{plural(len(running), 'incident')} awaiting a report · most urgent {first.id} ")
    text.append_text(clock_cell(first.countdown))
    text.append(" (press !)")
    return text


#: The notices' statuses the dashboard shows: told to clients, not over.
UPCOMING = ("scheduled", "in-progress")


def _card(part: Any, render: Callable[[Any], SpecGrid | Text]) -> SpecGrid | Text | str:
    return "loading…" if part is None else render(part)


def _cell(n: int) -> Text:
    return Text(count(n), style="dim" if n == 0 else "")


def _total(n: int) -> Text:
    return Text(count(n), style="bold")
