"""Tenants: a filterable, sortable table with a detail pane.

The table only ever holds a bounded window of rows (``WINDOW``): DataTable measures every cell
it is given, so 10,000 rows would make each keystroke of the filter crawl.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.timer import Timer
from textual.widgets import DataTable, Input, Static

from screens.base import OpsScreen
from screens.formatting import count, day

WINDOW = 500
#: Above this many rows the filter waits for a pause in typing before it re-filters.
DEBOUNCE_ABOVE = 2_000
COLUMNS = (("name", "Name"), ("country", "Country"), ("region", "Region"), ("cluster", "Cluster"), ("state", "State"))
STATE_STYLE = {"active": "green", "suspended": "yellow", "provisioning": "cyan", "cancelled": "red", "purged": "dim"}


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
        Binding("r", "app.cycle_region", "Region", tooltip="region filter: all → each region → all"),
        Binding("escape", "leave_filter", "Table", show=False, tooltip="back from the filter to the table"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, Any]] = []
        self._haystacks: list[str] = []
        self._by_name: dict[str, dict[str, Any]] = {}
        self.sort_column = 0
        self.matches = 0
        self._debounce: Timer | None = None
        self._loaded_once = False

    def compose_body(self) -> ComposeResult:
        yield Input(placeholder="/ filter by name, country, region or state", id="tenants-filter", compact=True)
        yield Static("loading…", id="tenants-status")
        yield DataTable(id="tenants-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="tenants-detail")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        self.query_one(Input).cursor_blink = self.ops.cursor_blink
        self.watch(self.app, "region_filter", self.refresh_data, init=False)

    # -- loading ---------------------------------------------------------------------------

    def refresh_data(self) -> None:
        region = self.ops.region_filter
        self.load(lambda: self.console.tenants.rows(region=region), self._loaded)

    def _loaded(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self._haystacks = [f"{r['name']} {r['country']} {r['region']} {r['state']}".lower() for r in rows]
        self._by_name = {r["name"]: r for r in rows}
        self._loaded_once = True
        self.apply_filter()

    # -- filtering and sorting -------------------------------------------------------------

    @on(Input.Changed, "#tenants-filter")
    def _filter_changed(self) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        if len(self.rows) > DEBOUNCE_ABOVE:
            self._debounce = self.set_timer(0.2, self.apply_filter)
        else:
            self.apply_filter()

    @on(Input.Submitted, "#tenants-filter")
    def _filter_submitted(self) -> None:
        self.query_one(DataTable).focus()

    def apply_filter(self) -> None:
        """Re-fill the table with the first ``WINDOW`` matching rows in the chosen order."""
        if not self._loaded_once:
            return
        needle = self.query_one(Input).value.strip().lower()
        matching = [r for r, h in zip(self.rows, self._haystacks, strict=True) if needle in h] if needle else list(self.rows)
        key = COLUMNS[self.sort_column][0]
        matching.sort(key=lambda r: (r[key] or "", r["name"]))
        self.matches = len(matching)
        table = self.query_one(DataTable)
        keep = self._highlighted()
        table.clear()
        for r in matching[:WINDOW]:
            table.add_row(r["name"], r["country"], r["region"], r["cluster"] or "",
                          Text(r["state"], style=STATE_STYLE.get(r["state"], "")), key=r["name"])
        if keep is not None and keep in {r["name"] for r in matching[:WINDOW]}:
            table.move_cursor(row=table.get_row_index(keep))
        self._show_status(needle)
        self._show_detail(self._highlighted())

    def _show_status(self, needle: str) -> None:
        total = len(self.rows)
        sort = COLUMNS[self.sort_column][1].lower()
        if self.matches > WINDOW:
            text = f"showing {count(WINDOW)} of {count(self.matches)} — refine the filter"
        elif needle:
            text = f"{count(self.matches)} of {count(total)} tenants match “{needle}”"
        else:
            text = f"{count(total)} tenant{'s' if total != 1 else ''}"
        self.query_one("#tenants-status", Static).update(f"{text} · sorted by {sort}")

    def action_filter(self) -> None:
        self.query_one(Input).focus()

    def action_leave_filter(self) -> None:
        self.query_one(DataTable).focus()

    def action_sort(self) -> None:
        self.sort_column = (self.sort_column + 1) % len(COLUMNS)
        self.apply_filter()

    # -- detail ----------------------------------------------------------------------------

    def _highlighted(self) -> str | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return row_key.value

    @on(DataTable.RowHighlighted, "#tenants-table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail(event.row_key.value)

    def _show_detail(self, name: str | None) -> None:
        detail = self.query_one("#tenants-detail", Static)
        row = self._by_name.get(name or "")
        if row is None:
            detail.update("No tenant selected." if self.rows else "No tenants yet.")
            return
        text = Text()
        text.append(row["name"], style="bold")
        text.append("  ")
        text.append(row["state"], style=STATE_STYLE.get(row["state"], ""))
        if row.get("state_reason"):
            text.append(f" — {row['state_reason']}")
        if row.get("retain_until"):
            text.append(f" · kept until {day(row['retain_until'])}")
        text.append(f"\ncountry {row['country']} · region {row['region']} · cluster {row['cluster'] or '—'}")
        contact = row["contact_name"] or "—"
        if row["contact_email"]:
            contact += f" <{row['contact_email']}>"
        text.append(f"\ncontact {contact}")
        text.append(f"\ncreated {day(row['created_at'])} · updated {day(row['updated_at'])}", style="dim")
        detail.update(text)
