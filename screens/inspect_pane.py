"""One tenant's logins or audit, as a tab of the tenant screen: a filter bar with the CLI's
filters, a virtual table paged from the database as the operator scrolls, and the detail of
the highlighted event.

Pages come from :meth:`InspectionService.browse` (which checks the role and logs the
inspection once) and its cursor, one worker call per page; the window keeps at most
``MAX_ROWS`` events. An operator without ``security`` sees why instead, and nothing is called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Checkbox, Input, Static

from aptien_ops.errors import InvalidInput, OpsError
from aptien_ops.inspect_query import AuditFilters, LoginFilters
from aptien_ops.permissions import Action
from aptien_ops.screens.activity_chart import ActivityChart
from aptien_ops.screens.base import LEAVE_FILTER
from aptien_ops.screens.event_table import EventTable
from aptien_ops.screens.event_window import MAX_ROWS, PAGE_ROWS, EventWindow
from aptien_ops.screens.formatting import count
from aptien_ops.screens.inspect_kinds import (
    NO_FILTER,
    EventKind,
    applied,
    filter_widths,
    needs_security,
)
from aptien_ops.screens.service_calls import ServiceCaller
from aptien_ops.services.inspection import Browser
from aptien_ops.services.inspection_results import Page
from aptien_ops.terminal_text import shown

#: What the failed switch takes of the filter bar (``▐X▌ failed`` and its margin).
SWITCH_CELLS = 11

if TYPE_CHECKING:
    from aptien_ops.screens.app import OpsApp


class EventBrowser(Vertical, ServiceCaller):
    """A tenant's events of one kind. Nothing is read until :meth:`activate` (tab first shown)."""

    BINDINGS = [
        Binding(
            "slash",
            "filter",
            "Filter",
            tooltip="filter: the same filters as the CLI; Enter applies",
        ),
        Binding("f", "toggle_failed", "Failed", tooltip="logins: only failed ones (again: all)"),
        LEAVE_FILTER,
    ]

    def __init__(
        self,
        tenant: str,
        kind: EventKind,
        *,
        page_rows: int = PAGE_ROWS,
        max_rows: int = MAX_ROWS,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id, classes="event-browser")
        self.tenant = tenant
        self.kind = kind
        self.window: EventWindow[Any] = EventWindow(page_rows, max_rows)
        self.browser: Browser | None = None
        self.activated = False
        #: Which page is on its way ("after", "before" or "first"), or None.
        self.pending: str | None = None
        self.error: str | None = None
        self.notice: str | None = None
        self.applied = ""
        """The filters the rows held were read with (the status line says them)."""
        self._generation = 0

    @property
    def ops(self) -> OpsApp:
        return cast("OpsApp", self.app)

    def compose(self) -> ComposeResult:
        yield Static(id=f"{self.kind.kind}-explain", classes="inspect-explain")
        with Vertical(classes="inspect-body"):
            with Horizontal(classes="filter-bar"):
                for field in self.kind.fields:
                    box = Input(
                        placeholder=field.placeholder,
                        id=f"{self.kind.kind}-{field.name}",
                        compact=True,
                    )
                    box.styles.width = field.width or "1fr"
                    yield box
                if self.kind.has_failed_switch:
                    yield Checkbox("failed", id=f"{self.kind.kind}-failed", compact=True)
            if self.kind.kind == "logins":
                yield ActivityChart(self.tenant, id="logins-chart")
            yield Static(classes="event-status")
            yield EventTable(
                self.kind.columns, self.window, alert=self.kind.alert, id=f"{self.kind.kind}-table"
            )
            yield Static(classes="event-detail")

    def on_mount(self) -> None:
        for box in self.query(Input):
            box.cursor_blink = self.ops.cursor_blink
        self.query_one(".inspect-body").display = False
        self.watch(self.app, "roles", self._roles_changed, init=False)

    def on_resize(self, event: events.Resize) -> None:
        switch = SWITCH_CELLS if self.kind.has_failed_switch else 0
        widths, narrowed = filter_widths(self.kind.fields, event.size.width - switch)
        for field, width in zip(self.kind.fields, widths, strict=True):
            box = self.query_one(f"#{self.kind.kind}-{field.name}", Input)
            box.styles.width = width
            box.placeholder = field.short or field.placeholder if narrowed else field.placeholder

    @property
    def table(self) -> EventTable:
        return self.query_one(EventTable)

    # -- who may see it --------------------------------------------------------------------

    def activate(self) -> None:
        """The tab was shown: read the first page if the operator may (once)."""
        if not self.activated:
            self.activated = True
            self._show_access()
        if self.query_one(".inspect-body").display:
            self.table.focus()

    def _roles_changed(self) -> None:
        if self.activated:
            self._show_access()

    def _show_access(self) -> None:
        allowed = self.ops.may(Action.INSPECT_METADATA)
        explain = self.query_one(".inspect-explain", Static)
        explain.display = not allowed
        self.query_one(".inspect-body").display = allowed
        for box in self.query("Input, Checkbox"):
            box.disabled = not allowed  # a hidden box that kept the focus would still take keys
        if self.ops.roles is None:
            explain.update(Text("checking your roles…", style="dim"))
        elif not allowed:
            explain.update(needs_security(self.ops.roles, what=self.kind.title))
            self._forget()
        elif self.browser is None and self.pending is None:
            self.start()

    def _forget(self) -> None:
        """Drop every event held (the roles no longer allow them)."""
        self._generation += 1
        self.browser, self.pending = None, None
        self.window.clear()
        self.table.reset()

    # -- filters ---------------------------------------------------------------------------

    def filters(self) -> LoginFilters | AuditFilters:
        """The filters as typed in the bar."""
        values = {
            f.name: self.query_one(f"#{self.kind.kind}-{f.name}", Input).value
            for f in self.kind.fields
        }
        failed = self.kind.has_failed_switch and self.query_one(Checkbox).value
        return self.kind.filters(values, failed)

    def start(self) -> None:
        """Read the first page for the filters in the bar (bad filters are refused here, unread)."""
        filters = self.filters()
        try:
            filters.resolve(self.ops.services.ctx.now())
        except InvalidInput as exc:
            self.error = exc.one_line()
            self._show_status()
            return
        self._forget()
        self.error, self.pending = None, "first"
        self.applied = applied(filters)
        generation = self._generation
        name, kind = self.tenant, self.kind.kind
        rows, inspection = self.window.page_rows, self.ops.services.inspection

        def first_page() -> tuple[Browser, Page]:
            browser = inspection.browse(name, kind, filters)
            return browser, browser.page(rows)

        self.load(first_page, lambda found: self._first_page(generation, found))
        self._show_status()
        if isinstance(filters, LoginFilters):
            self.query_one(ActivityChart).show_window(filters)

    def _first_page(self, generation: int, found: tuple[Browser, Page]) -> None:
        if generation != self._generation:
            return
        self.browser, page = found
        self.notice = page.notice
        self._take(generation, "after", 0, page)

    @on(Input.Submitted)
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.start()
        self.table.focus()

    @on(Checkbox.Changed)
    def _failed_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        self.start()

    def action_filter(self) -> None:
        self.query(Input).first().focus()

    def action_leave_filter(self) -> None:
        self.table.focus()

    def action_toggle_failed(self) -> None:
        box = self.query_one(Checkbox)
        box.value = not box.value

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        body = self.query_one(".inspect-body").display
        if action in ("filter", "toggle_failed", "leave_filter") and not body:
            return False
        if action == "toggle_failed":
            return self.kind.has_failed_switch and not isinstance(self.screen.focused, Input)
        if action == "leave_filter":
            return isinstance(self.screen.focused, (Input, Checkbox))
        return True

    # -- paging ----------------------------------------------------------------------------

    @on(EventTable.Wanted)
    def _wanted(self, event: EventTable.Wanted) -> None:
        event.stop()
        if event.direction == "top":
            self.start()
            return
        if self.pending is not None or self.browser is None:
            return
        request = (
            self.window.next_request()
            if event.direction == "after"
            else self.window.previous_request()
        )
        if request is None:
            return
        number, cursor = request
        browser, rows, generation = self.browser, self.window.page_rows, self._generation
        self.pending = event.direction
        self.load(
            lambda: browser.page(rows, after=cursor),
            lambda page: self._take(generation, event.direction, number, page),
        )
        self._show_status()

    def _take(self, generation: int, direction: str, number: int, page: Page) -> None:
        if generation != self._generation:
            return
        self.pending = None
        try:
            dropped_above, _ = self.window.add(number, page.rows, page.next_cursor)
        except ValueError:
            return  # an answer for a window that has moved on
        added_above = len(page.rows) if direction == "before" else 0
        self.table.window_changed(added_above=added_above, dropped_above=dropped_above)
        self._show_status()
        self.table.check_edges()  # the cursor may already be near the new edge

    def service_refused(self, error: OpsError) -> None:
        self.pending = None
        self.error = error.one_line()
        self._show_status()
        super().service_refused(error)

    # -- showing ---------------------------------------------------------------------------

    @on(EventTable.Highlighted)
    def _highlighted(self, event: EventTable.Highlighted) -> None:
        event.stop()
        detail = self.query_one(".event-detail", Static)
        if event.row is None:
            detail.update(Text("no event selected", style="dim"))
        else:
            detail.update(self.kind.detail(event.row))
        self._show_status()

    def _show_status(self) -> None:
        text = Text()
        window, what = self.window, self.kind.title.lower()
        if self.error is not None:
            text.append(self.error, style="bold red")
        elif self.pending == "first":
            text.append(f"reading {what}…", style="dim")
        elif not len(window):
            text.append(f"no {what} match these filters" if self.browser else "", style="yellow")
        else:
            text.append(f"row {count(self.table.cursor + 1)}", style="bold")
            text.append(f" · holding {count(window.first + 1)}–{count(window.end)}, newest first")
            if self.pending:
                text.append(" · loading…", style="dim")
            elif not window.has_after:
                text.append(" · oldest reached", style="dim")
        if self.applied and self.error is None:
            text.append(f" · {self.applied}", style="dim" if self.applied == NO_FILTER else "bold")
        if self.notice:
            text.append(f"\n{shown(self.notice)}", style="yellow")
        self.query_one(".event-status", Static).update(text)
