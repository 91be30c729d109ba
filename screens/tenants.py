"""Tenants: a filterable, sortable list with a detail pane; Enter opens a tenant, n provisions.

The list is paged from the catalog (:mod:`aptien_ops.screens.paged_list`): the catalog
filters, orders and counts the tenants, and the screen holds a bounded window of them drawn by
a virtual table, reading the next page as the cursor nears it. A switch to the screen reads one
page and one count, in a 10-tenant sandbox as in a 10,000-tenant fleet.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from aptien_ops.domain import TENANT_ORDERS, ListedTenant, TenantQuery
from aptien_ops.domain.billing import LicenceGroup
from aptien_ops.permissions import Action
from aptien_ops.screens.base import CLEAR_FILTER, FILTER, REGION_FILTER
from aptien_ops.screens.billing_render import (
    BILLING_FILTERS,
    licence_cell,
    licence_style,
    licence_text,
)
from aptien_ops.screens.event_table import Column, EventTable
from aptien_ops.screens.filter_bar import FilterBar
from aptien_ops.screens.formatting import (
    TENANT_STATE_STYLES,
    count,
    day,
    plural,
    tenant_contact,
    tenant_heading,
)
from aptien_ops.screens.page_window import PageSlice
from aptien_ops.screens.paged_list import PagedListScreen, PagedTable
from aptien_ops.screens.provision import ProvisionModal
from aptien_ops.screens.tenant_detail import TenantDetailScreen
from aptien_ops.services.billing import parse_state_filter

#: The list's columns, each an order ``s`` cycles through (``TENANT_ORDERS``). The name takes
#: a wide terminal's extra width; the name and the state are never pushed off. The licence
#: comes with the page (the catalog joins each tenant's billing), never row by row.
COLUMNS = (
    Column("Name", 12, share=3, shrink=True, essential=True, value=lambda t: t.name),
    Column("Country", 7, value=lambda t: t.country),
    Column("Region", 6, value=lambda t: t.region),
    Column("Cluster", 8, share=1, shrink=True, most=24, value=lambda t: t.cluster or ""),
    Column(
        "State",
        12,
        essential=True,
        value=lambda t: str(t.state),
        colour=lambda t: TENANT_STATE_STYLES.get(str(t.state), ""),
    ),
    Column(
        "Licence",
        8,
        shrink=True,
        most=22,
        value=lambda t: licence_cell(t.licence),
        colour=lambda t: licence_style(t.licence),
    ),
)
#: What cannot occur in a name, country code, region or state: such a key leaves the filter.
UNFILTERABLE = re.compile(r"[^\w\s.-]")


class TenantsScreen(PagedListScreen):
    """Every tenant, filtered with ``/``, sorted with ``s``, region cycled with ``R``, licence
    group cycled with ``b``."""

    MODE = "tenants"
    TITLE = "Tenants"
    NAV_KEY = "2"
    CSS_PATH = Path(__file__).with_name("tenants.tcss")
    AUTO_FOCUS = "#tenants-table"
    BINDINGS = [
        Binding(
            "enter",
            "open_detail",
            "Open",
            priority=True,
            tooltip="open the highlighted tenant: steps, history, lifecycle actions",
        ),
        replace(FILTER, tooltip="filter by name, country, region or state"),
        Binding("s", "sort", "Sort", tooltip="sort by the next column"),
        REGION_FILTER,
        Binding(
            "n",
            "provision",
            "Provision",
            tooltip="provision a tenant: name, country → region, contact",
        ),
        Binding(
            "b",
            "cycle_billing",
            "Billing",
            tooltip="licence filter: all → non-payment → expired → pending → good → none → all",
        ),
        # Priority, and only while filtering: acts before the filter's input takes the key.
        CLEAR_FILTER,
    ]
    PERMISSIONS = {"provision": Action.TENANT_PROVISION}
    DETAIL_SCREEN = TenantDetailScreen
    #: Other operators provision, suspend and cancel: the page around the cursor is read again
    #: by itself (the cursor stays on its tenant, the filter and the order stay).
    AUTO_REFRESH = True

    def __init__(self) -> None:
        super().__init__()
        self.sort_column = 0
        #: Which of ``BILLING_FILTERS`` narrows the list (0: every licence).
        self.billing_filter = 0

    def compose_body(self) -> ComposeResult:
        yield FilterBar(
            "filter by name, country, region or state",
            always_shown=True,
            unfilterable=UNFILTERABLE,
            id="tenants-filter",
        )
        yield Static("loading…", id="tenants-status")
        yield PagedTable(COLUMNS, self.window, id="tenants-table")
        yield Static(id="tenants-detail")

    def on_mount(self) -> None:
        self.watch(self.app, "region_filter", self._region_changed, init=False)

    # -- reading ---------------------------------------------------------------------------

    @property
    def licence_group(self) -> LicenceGroup | None:
        return BILLING_FILTERS[self.billing_filter]

    @property
    def tenant_query(self) -> TenantQuery:
        group = self.licence_group
        return TenantQuery(
            self.ops.region_filter,
            self.needle or None,
            TENANT_ORDERS[self.sort_column],
            None if group is None else parse_state_filter(str(group)),
        )

    def page_reader(
        self,
    ) -> Callable[[int, int, str | None], Callable[[], PageSlice[ListedTenant]]]:
        tenants, query = self.console.tenants, self.tenant_query

        def reader(
            offset: int, rows: int, around: str | None
        ) -> Callable[[], PageSlice[ListedTenant]]:
            def read() -> PageSlice[ListedTenant]:
                page = tenants.page(query, offset=offset, limit=rows, around=around)
                return PageSlice(page.offset, page.tenants, page.tally.matches, page.tally.total)

            return read

        return reader

    def row_key(self, row: ListedTenant) -> str:
        return row.name

    def _region_changed(self) -> None:
        self.read_list("again")

    def action_cycle_billing(self) -> None:
        self.billing_filter = (self.billing_filter + 1) % len(BILLING_FILTERS)
        self.read_list("again")

    def action_sort(self) -> None:
        self.sort_column = (self.sort_column + 1) % len(COLUMNS)
        self.read_list("again")

    # -- showing ---------------------------------------------------------------------------

    def page_taken(self) -> None:
        self._show_status()
        self._show_detail(self.table.highlighted)

    @on(EventTable.Highlighted)
    def _highlighted(self, event: EventTable.Highlighted) -> None:
        event.stop()
        self.page_taken()  # the status says which rows are on screen

    def _show_status(self) -> None:
        window, table = self.window, self.table
        sort = f" · sorted by {COLUMNS[self.sort_column].title.lower()}"
        text = Text()
        if not window.read:
            text.append("reading the tenants…", style="dim")
        elif not window.total:
            narrowed = self.needle or self.licence_group is not None
            text.append("no tenant holds the filter" if narrowed else "no tenants yet")
        else:
            top, bottom = table.on_screen()
            text.append(f"{count(top + 1)}–{count(bottom)}", style="bold")
            text.append(f" of {plural(window.total, 'tenant')}")
            if self.needle or self.licence_group is not None:
                text.append(f" (of {count(self.whole)})")
        if self.licence_group is not None:
            text.append(" · licence ")
            text.append(str(self.licence_group), style="bold")
        text.append(sort)
        if self.pending is not None and window.read:
            text.append(" · reading…", style="dim")
        self.query_one("#tenants-status", Static).update(text)

    def _show_detail(self, row: ListedTenant | None) -> None:
        detail = self.query_one("#tenants-detail", Static)
        if row is None:
            detail.update("No tenant selected." if self.window.total else "No tenants yet.")
            return
        text = tenant_heading(row)
        if row.retain_until:
            text.append(f" · kept until {day(row.retain_until)}")
        text.append(f"\ncountry {row.country} · region {row.region} · cluster {row.cluster or '—'}")
        text.append("\n")
        text.append_text(tenant_contact(row))
        text.append(f"\ncreated {day(row.created_at)} · updated {day(row.updated_at)}", style="dim")
        text.append(" · licence ", style="dim")
        text.append_text(licence_text(row.licence))
        detail.update(text)

    # -- opening and provisioning ----------------------------------------------------------

    def action_open_detail(self, then: str = "") -> None:
        """Open the highlighted tenant; ``then`` names an action to run there (the palette's
        way)."""
        row = self.table.highlighted
        if row is None:
            self.notify("no tenant selected", severity="warning")
            return
        self.app.push_screen(TenantDetailScreen(row.name, then=then or None))

    def action_provision(self) -> None:
        def provisioned(name: str | None) -> None:
            if name is not None:
                self.cursor_to = name
                self.read_list("again")

        # The form knows the names the window holds; the service refuses any other taken one.
        known = {t.name: str(t.state) for t in self.window.rows}
        self.app.push_screen(ProvisionModal(known), provisioned)
