"""Tenants: a filterable, sortable table with a detail pane; Enter opens a tenant, n provisions.

The table only ever holds a bounded window of rows (``WINDOW``): DataTable measures every cell
it is given, so 10,000 rows would make each keystroke of the filter crawl.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.timer import Timer
from textual.widgets import DataTable, Static

from aptien_ops.domain import Tenant
from aptien_ops.permissions import Action
from aptien_ops.screens.base import (
    CLEAR_FILTER,
    REGION_FILTER,
    OpsScreen,
    highlighted_key,
)
from aptien_ops.screens.filter_bar import FilterBar
from aptien_ops.screens.formatting import (
    count,
    day,
    plural,
    tenant_contact,
    tenant_heading,
    tenant_state_text,
)
from aptien_ops.screens.lists import ListRow, ListTable
from aptien_ops.screens.provision import ProvisionModal
from aptien_ops.screens.tenant_detail import TenantDetailScreen

WINDOW = 500
#: Above this many rows the filter waits for a pause in typing before it re-filters.
DEBOUNCE_ABOVE = 2_000
COLUMNS = (
    ("name", "Name"),
    ("country", "Country"),
    ("region", "Region"),
    ("cluster", "Cluster"),
    ("state", "State"),
)
#: What cannot occur in a name, country code, region or state: such a key leaves the filter.
UNFILTERABLE = re.compile(r"[^\w\s.-]")


@dataclass(frozen=True)
class TenantWindow:
    """What the table shows for one filter and order: at most ``WINDOW`` rows of ``matches``."""

    needle: str
    rows: list[ListRow]
    matches: int


@dataclass(frozen=True)
class Fleet:
    """One load of the tenants, with what filtering needs prepared (in the worker that read
    them): each one's row as the list shows it (its visible text is the filter's haystack),
    the tenants by name, and their states for the provision form."""

    rows: list[Tenant] = field(default_factory=list)
    list_rows: list[ListRow] = field(default_factory=list)
    by_name: dict[str, Tenant] = field(default_factory=dict)
    states: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, rows: list[Tenant]) -> Fleet:
        return cls(
            rows,
            [_list_row(r) for r in rows],
            {r.name: r for r in rows},
            {r.name: str(r.state) for r in rows},
        )

    def window(self, needle: str, key: str) -> TenantWindow:
        """The rows matching ``needle`` ordered by column ``key`` (then name), cut to
        ``WINDOW``. Runs in a worker."""
        matching = [
            (tenant, row)
            for tenant, row in zip(self.rows, self.list_rows, strict=True)
            if not needle or needle in row.text
        ]
        matching.sort(key=lambda pair: (str(getattr(pair[0], key) or ""), pair[0].name))
        return TenantWindow(needle, [row for _, row in matching[:WINDOW]], len(matching))


class TenantsScreen(OpsScreen):
    """Every tenant, filtered with ``/``, sorted with ``s``, region cycled with ``r``."""

    MODE = "tenants"
    TITLE = "Tenants"
    NAV_KEY = "2"
    CSS_PATH = Path(__file__).with_name("tenants.tcss")
    AUTO_FOCUS = "#tenants-table"
    BINDINGS = [
        Binding("slash", "filter", "Filter", tooltip="filter by name, country, region or state"),
        Binding("s", "sort", "Sort", tooltip="sort by the next column"),
        REGION_FILTER,
        Binding(
            "enter",
            "open_detail",
            "Open",
            priority=True,
            tooltip="open the highlighted tenant: steps, history, lifecycle actions",
        ),
        Binding(
            "n",
            "provision",
            "Provision",
            tooltip="provision a tenant: name, country → region, contact",
        ),
        # Priority, and only while filtering: acts before the filter's input takes the key.
        CLEAR_FILTER,
    ]
    PERMISSIONS = {"provision": Action.TENANT_PROVISION}
    DETAIL_SCREEN = TenantDetailScreen

    def __init__(self) -> None:
        super().__init__()
        self.fleet = Fleet()
        self.matches = 0
        self.sort_column = 0
        self._debounce: Timer | None = None
        self._loaded_once = False
        #: Highlight this tenant once the next load is in (one just provisioned).
        self._select_after_load: str | None = None

    def compose_body(self) -> ComposeResult:
        yield FilterBar(
            "filter by name, country, region or state",
            always_shown=True,
            unfilterable=UNFILTERABLE,
            id="tenants-filter",
        )
        yield Static("loading…", id="tenants-status")
        yield ListTable(limit=WINDOW, id="tenants-table")
        yield Static(id="tenants-detail")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        self.watch(self.app, "region_filter", self.refresh_data, init=False)

    # -- loading ---------------------------------------------------------------------------

    def refresh_data(self) -> None:
        region = self.ops.region_filter
        self.load(lambda: Fleet.read(self.console.tenants.list(region=region)), self._loaded)

    def _loaded(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self._loaded_once = True
        self.apply_filter()

    # -- filtering and sorting -------------------------------------------------------------

    def filter_changed(self, needle: str) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        if len(self.fleet.rows) > DEBOUNCE_ABOVE:
            self._debounce = self.set_timer(0.2, self.apply_filter)
        else:
            self.apply_filter()

    def apply_filter(self) -> None:
        """Re-fill the table with the first ``WINDOW`` matching rows in the chosen order (picked
        in a worker: filtering and sorting 10,000 tenants is no work for the UI thread)."""
        if not self._loaded_once:
            return
        fleet, needle = self.fleet, self.query_one(FilterBar).needle
        key = COLUMNS[self.sort_column][0]
        self.prepare(lambda: fleet.window(needle, key), self._show_window)

    def _show_window(self, window: TenantWindow) -> None:
        self.matches = window.matches
        table = self.query_one(ListTable)
        wanted, self._select_after_load = self._select_after_load, None
        # Already filtered: the table's own filter stays blank. The cursor keeps its tenant.
        table.fill(window.rows, cursor_to=wanted)
        self._show_status()
        self._show_detail(self._highlighted())

    def on_list_table_shown(self, event: ListTable.Shown) -> None:
        # The worker filtered the rows: the bar counts the matches among every tenant (and
        # OpsScreen's handler, which would count the window's rows, is not called).
        event.prevent_default()
        self.query_one(FilterBar).show_count(self.matches, len(self.fleet.rows))

    def _show_status(self) -> None:
        total = len(self.fleet.rows)
        sort = COLUMNS[self.sort_column][1].lower()
        if self.matches > WINDOW:
            text = f"showing {count(WINDOW)} of {count(self.matches)} — refine the filter"
        else:
            text = plural(total, "tenant")
        self.query_one("#tenants-status", Static).update(Text(f"{text} · sorted by {sort}"))

    def action_sort(self) -> None:
        self.sort_column = (self.sort_column + 1) % len(COLUMNS)
        self.apply_filter()

    # -- opening and provisioning ----------------------------------------------------------

    def action_open_detail(self, then: str = "") -> None:
        """Open the highlighted tenant; ``then`` names an action to run there (the palette's
        way)."""
        name = self._highlighted()
        if name is None:
            self.notify("no tenant selected", severity="warning")
            return
        self.app.push_screen(TenantDetailScreen(name, then=then or None))

    def action_provision(self) -> None:
        def provisioned(name: str | None) -> None:
            if name is not None:
                self._select_after_load = name
                self.refresh_data()

        self.app.push_screen(ProvisionModal(self.fleet.states), provisioned)

    # -- detail ----------------------------------------------------------------------------

    def _highlighted(self) -> str | None:
        return highlighted_key(self.query_one(ListTable))

    @on(DataTable.RowHighlighted, "#tenants-table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail(event.row_key.value)

    def _show_detail(self, name: str | None) -> None:
        detail = self.query_one("#tenants-detail", Static)
        row = self.fleet.by_name.get(name or "")
        if row is None:
            detail.update("No tenant selected." if self.fleet.rows else "No tenants yet.")
            return
        text = tenant_heading(row)
        if row.retain_until:
            text.append(f" · kept until {day(row.retain_until)}")
        text.append(f"\ncountry {row.country} · region {row.region} · cluster {row.cluster or '—'}")
        text.append("\n")
        text.append_text(tenant_contact(row))
        text.append(f"\ncreated {day(row.created_at)} · updated {day(row.updated_at)}", style="dim")
        detail.update(text)


def _list_row(tenant: Tenant) -> ListRow:
    return ListRow(
        tenant.name,
        (
            tenant.name,
            tenant.country,
            tenant.region,
            tenant.cluster or "",
            tenant_state_text(tenant.state),
        ),
    )
