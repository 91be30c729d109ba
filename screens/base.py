"""What every screen of the console shares: service calls in worker threads (results back as
messages, refusals shown with the service's own one-line message: ``service_calls``), reloads
of shared state, and permission-aware bindings.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual import events
from textual._context import active_app
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import DataTable, Input
from textual.widgets.data_table import RowKey

from aptien_ops.permissions import Action
from aptien_ops.screens.filter_bar import Filterable, FilterBar, FilterInput
from aptien_ops.screens.footer import OpsFooter
from aptien_ops.screens.header import OpsHeader
from aptien_ops.screens.service_calls import ServiceCaller, ServiceOutcome

if TYPE_CHECKING:
    from aptien_ops.composition import Console
    from aptien_ops.screens.app import OpsApp
    from aptien_ops.screens.lists import ListTable

#: The region filter's key (shift+r), alike on every screen that shows tenants by region; ``r``
#: reloads on every screen (the app's binding).
REGION_FILTER = Binding(
    "R", "app.cycle_region", "Region", tooltip="region filter: all → each region → all"
)
#: ``/`` on every list: the filter bar (screens/filter_bar.py). A priority binding: the app runs
#: it before it hands the next key to the focused widget, so the letters typed right after ``/``
#: (fast typing, a slow SSH link) land in the filter, not on the list's own keys.
FILTER = Binding(
    "slash",
    "filter",
    "Filter",
    priority=True,
    tooltip="filter the list by any text its rows show",
)
#: Escape in a filter bar: back to the table. A priority binding, so that the bar's input does
#: not take the key; screens offer it only while the bar has the focus.
LEAVE_FILTER = Binding(
    "escape",
    "leave_filter",
    "Table",
    show=False,
    priority=True,
    tooltip="back from the filter to the table",
)
#: Escape on a filtered list: clears the filter; in an empty filter bar, back to the list. A
#: priority binding, so that the bar's input does not take the key; offered only while the bar
#: has the focus or a filter applies.
CLEAR_FILTER = Binding(
    "escape",
    "clear_filter",
    "Clear filter",
    show=False,
    priority=True,
    tooltip="clear the filter; again: back to the list",
)


def open_row(tooltip: str) -> Binding:
    """Enter on a list: open the highlighted row (``action_open_detail``). A priority binding,
    so that the table's own Enter does not take it; not offered while typing in an input."""
    return Binding("enter", "open_detail", "Open", show=False, priority=True, tooltip=tooltip)


#: Screens of shared state (``OpsScreen.AUTO_REFRESH``) read it again this often while shown,
#: unless ``[tui] refresh_seconds`` says otherwise.
AUTO_REFRESH_SECONDS = 30.0


class OpsTable(DataTable[Any]):
    """Textual's DataTable, drawn again once it has measured the rows just added.

    DataTable measures new rows when it is next idle, but caches each cell's rendering without
    the column's width: a frame drawn between ``add_row`` and that measurement kept cells cut
    to the old width (``anat`` for ``anatolia-foods``) until the cursor passed over them.
    Tables are filled from workers' messages, so such a frame is likely: bump the cache key.
    """

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        super()._update_dimensions(new_rows)
        self._update_count += 1
        self.refresh()


def highlighted_key(table: DataTable[Any]) -> str | None:
    """The key of the row under ``table``'s cursor; None when the table is empty."""
    if table.row_count == 0:
        return None
    row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
    return row_key.value


def move_to_key(table: DataTable[Any], key: str | None) -> None:
    """Put the cursor on the row of ``key`` again if the table (reloaded) still has it."""
    if key is not None and key in table.rows:
        table.move_cursor(row=table.get_row_index(key))


class OpsScreen(Screen[None], ServiceCaller):
    """A top-level screen (one per app mode): the header, a body, and the footer.

    Subclasses set ``MODE``, ``TITLE`` and ``NAV_KEY``, list in ``PERMISSIONS`` which of their
    actions need which permission (those bindings and palette commands are hidden unless the
    operator's roles and read-only mode allow them), and load their data in ``refresh_data``.
    """

    MODE: ClassVar[str] = ""
    TITLE: ClassVar[str] = ""
    NAV_KEY: ClassVar[str] = ""
    #: False: reached by its key, help and the palette, but not shown in the header's tabs
    #: (80 columns hold no more of them).
    IN_TABS: ClassVar[bool] = True
    #: action name -> the permission it needs; the service still decides.
    PERMISSIONS: ClassVar[dict[str, Action]] = {}
    #: A screen opened from this one for the highlighted row; its keys are listed in help and
    #: the palette, which reaches them through this screen's ``open_detail(action)``.
    DETAIL_SCREEN: ClassVar[type[OpsScreen] | None] = None
    #: Shared state (others change it): read again every ``[tui] refresh_seconds`` while the
    #: screen is shown (never while hidden or under a dialog), and say when in the footer.
    AUTO_REFRESH: ClassVar[bool] = False
    _reload_timer: Timer | None = None

    def __init__(self, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name, id)
        # Textual restyles the whole app (every stylesheet parsed again, every node of every
        # screen matched: ~35 ms here) when it enters a mode whose screen has not seen the
        # stylesheet's current version, and a screen made for a mode never gets it marked:
        # twice on a first visit, once more on the first return. Its nodes are styled with
        # the current stylesheet when they mount (and the screen's own .tcss is loaded before
        # that), so the screen starts current; a theme change still restyles it.
        app = active_app.get(None)
        if app is not None:
            self._css_update_count = app._css_update_count

    @classmethod
    def help_sections(cls) -> list[tuple[str, list[tuple[str, str]]]]:
        """Keys of the screen's parts that are not its own bindings (help lists them after it)."""
        return []

    @property
    def ops(self) -> OpsApp:
        return cast("OpsApp", self.app)

    @property
    def console(self) -> Console:
        return self.ops.services

    def compose(self) -> ComposeResult:
        yield OpsHeader()
        yield from self.compose_body()
        yield OpsFooter(self.refresh_seconds if self.AUTO_REFRESH else AUTO_REFRESH_SECONDS)

    def compose_body(self) -> ComposeResult:
        """The screen's own widgets, between the header and the footer."""
        yield from ()

    def on_mount(self) -> None:
        self.watch(self.app, "roles", self._roles_changed, init=False)
        if self.AUTO_REFRESH and self.refresh_seconds > 0:
            self._reload_timer = self.set_interval(
                self.refresh_seconds, self.timed_reload, name="auto refresh", pause=True
            )

    @property
    def refresh_seconds(self) -> float:
        """How often a screen of shared state reads again by itself: ``[tui] refresh_seconds``
        (0: only on demand)."""
        return float(self.console.settings.tui.refresh_seconds)

    def _roles_changed(self) -> None:
        self.refresh_bindings()
        if self.is_current:
            self.refresh_data()

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        # After the screen's first frame: a reading worker competes with the UI thread for the
        # interpreter lock, and would hold that frame back (placeholders first, then data).
        self.call_after_refresh(self.refresh_data)
        if self._reload_timer is not None:
            self._reload_timer.reset()
            self._reload_timer.resume()

    def on_screen_suspend(self) -> None:
        if self._reload_timer is not None:
            self._reload_timer.pause()

    def timed_reload(self) -> None:
        """The timer's tick: read again unless a dialog is open over the screen or the last
        read has not come back yet (a slow catalog is not asked twice)."""
        if self.is_current and not self.reading():
            self.refresh_data()

    def on_service_outcome(self, outcome: ServiceOutcome) -> None:
        # Textual calls ServiceCaller's handler too (every class's in the MRO): only the stamp.
        if self.AUTO_REFRESH and outcome.error is None and not outcome.changed:
            now = self.console.ctx.now()
            self.query_one(OpsFooter).show_refreshed(f"{now:%H:%M}")

    def refresh_data(self) -> None:
        """Start loading what the screen shows (in a worker)."""

    def after_change(self) -> None:
        self.refresh_data()

    def action_refresh(self) -> None:
        self.ops.refresh_roles()  # another operator may have granted or revoked one since
        self.refresh_data()

    def refusal(self, action: str) -> str | None:
        """Why the operator may not take ``action`` here now, worded as the CLI refuses it:
        their roles or read-only mode (``PERMISSIONS``), or — in a subclass — the highlighted
        row's state. None when it is offered. A refused action's key is hidden, and pressing
        it shows this (the app's ``run_action``)."""
        permission = self.PERMISSIONS.get(action)
        return None if permission is None else self.ops.refusal(permission)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        typing = isinstance(self.focused, Input)
        if action == "open_detail" and typing:
            return False  # Enter submits what is typed
        if action in ("filter", "clear_filter"):
            bar = self.filter_bar()
            if bar is None:
                return False
            if action == "filter" and typing and not bar.editing:
                return False  # ``/`` is text in another input
            if action == "clear_filter":  # not from another input: its own Esc goes first
                return bar.editing or (bool(bar.needle) and not typing)
        return self.refusal(action) is None

    # -- the list's filter (screens with a FilterBar) ----------------------------------------

    def filter_bar(self) -> FilterBar | None:
        bars = self.query(FilterBar)
        return bars.first() if bars else None

    def list_widget(self) -> Widget:
        """The list the filter narrows (the focus goes back there): ``AUTO_FOCUS``."""
        return self.query_one(self.AUTO_FOCUS or DataTable)

    def filter_changed(self, needle: str) -> None:
        """Show the rows holding ``needle`` (blank: all); the bar says how many. The default
        narrows the screen's :class:`~aptien_ops.screens.lists.ListTable`."""
        table = self.list_widget()
        if isinstance(table, Filterable):
            table.filter(needle)

    def on_list_table_shown(self, event: ListTable.Shown) -> None:
        bar = self.filter_bar()
        if bar is not None:
            bar.show_count(event.table.matches, event.table.total)

    def on_filter_bar_changed(self, event: FilterBar.Changed) -> None:
        self.filter_changed(event.needle)

    def on_filter_bar_done(self) -> None:
        self.list_widget().focus()

    def on_filter_input_left(self, event: FilterInput.Left) -> None:
        self.list_widget().focus()
        # Posted from the app's own loop: a key posted from this handler would carry the screen
        # as its sender and stop bubbling before the app checks the bindings.
        self.app.call_later(self.app.simulate_key, event.key)

    def action_filter(self) -> None:
        bar = self.filter_bar()
        if bar is not None:
            bar.open()

    def action_clear_filter(self) -> None:
        bar = self.filter_bar()
        if bar is None:
            return
        if bar.needle:
            bar.clear()  # the list shows every row again; the focus stays where it is
        elif bar.editing:
            self.list_widget().focus()
