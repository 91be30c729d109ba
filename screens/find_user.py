"""Find user (key 7): every live tenant where an e-mail address is a user, across the fleet.

The search runs :meth:`InspectionService.find_user` in a worker; each tenant found arrives as a
message while the others are still being searched, with a progress bar. The region filter
(``R``) narrows it. Tenants that could not be searched (a cluster down) are named. Only
operators with ``security`` get the search box; others are told why, and nothing is called.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Input, Label, ProgressBar, Static

from aptien_ops.errors import InvalidInput, OpsError
from aptien_ops.inspect_query import check_email
from aptien_ops.permissions import Action
from aptien_ops.screens.base import (
    CLEAR_FILTER,
    FILTER,
    REGION_FILTER,
    OpsScreen,
    highlighted_key,
    open_row,
)
from aptien_ops.screens.columns import ColumnSpec
from aptien_ops.screens.filter_bar import FilterBar
from aptien_ops.screens.formatting import (
    count,
    day,
    minute,
    plain,
    plural,
    short_minute,
    tenant_state_text,
)
from aptien_ops.screens.inspect_kinds import needs_security, shown_result
from aptien_ops.screens.lists import ListRow, ListTable
from aptien_ops.screens.tenant_detail import TenantDetailScreen
from aptien_ops.services.inspection_results import SearchFailure, UserHit, UserSearch
from aptien_ops.terminal_text import shown

#: The tenant and the state are never pushed off; the address logged in from takes a wide
#: terminal's extra width (a whole IPv6 address).
COLUMNS = (
    ColumnSpec("Tenant", 12, share=2, shrink=True, essential=True),
    ColumnSpec("Region", 2),
    ColumnSpec("State", 6, essential=True),
    ColumnSpec("Last login", 11, key="last_login"),
    ColumnSpec("From", 10, share=2, shrink=True, most=39, key="ip"),
)
#: Rows shown at most: an address is a user of a handful of tenants, never of the whole fleet.
SHOWN_ROWS = 1_000
#: Rows the final, sorted list adds to the table per frame once a search ends.
CHUNK_ROWS = 100


class UserFound(Message, bubble=False):
    """Posted from the search threads for each tenant where the address is a user."""

    def __init__(self, search: int, hit: UserHit) -> None:
        super().__init__()
        self.search, self.hit = search, hit


class SearchProgress(Message, bubble=False):
    """Posted from the search threads after each tenant."""

    def __init__(self, search: int, done: int, total: int, tenant: str) -> None:
        super().__init__()
        self.search, self.done, self.total, self.tenant = search, done, total, tenant


class FindUserScreen(OpsScreen):
    """An e-mail address in, the tenants where it is a user out (with their last login)."""

    MODE = "find-user"
    TITLE = "Find user"
    NAV_KEY = "7"
    CSS_PATH = Path(__file__).with_name("find_user.tcss")
    BINDINGS = [
        Binding(
            "e",
            "edit_email",
            "E-mail",
            tooltip="type an e-mail address; Enter searches every tenant",
        ),
        REGION_FILTER,
        FILTER,
        CLEAR_FILTER,
        open_row("open the highlighted tenant: steps, history, lifecycle actions"),
        Binding(
            "escape",
            "leave_email",
            "Table",
            show=False,
            priority=True,
            tooltip="from the address to the results",
        ),
    ]
    PERMISSIONS = {"edit_email": Action.INSPECT_METADATA}

    def __init__(self) -> None:
        super().__init__()
        self.email: str | None = None
        self.result: UserSearch | None = None
        self.searching = False
        self._search = 0
        self._rows: dict[str, UserHit] = {}
        #: The final list's rows not yet in the table (added a chunk per frame).
        self._queued: list[ListRow] = []

    def compose_body(self) -> ComposeResult:
        yield Static(id="find-explain")
        with Vertical(id="find-body"):
            with Horizontal(id="find-form"):
                yield Label("Find user", id="find-label")
                yield Input(
                    placeholder="greta@acme.example — Enter searches every live tenant",
                    id="find-email",
                    compact=True,
                )
            with Horizontal(id="find-progress-line"):
                yield Static(id="find-status")
                yield ProgressBar(id="find-progress", show_eta=False)
            yield FilterBar(id="find-filter")
            yield ListTable(COLUMNS, id="find-table")
            yield Static(id="find-detail")

    def on_mount(self) -> None:
        self._email_box().cursor_blink = self.ops.cursor_blink
        self.query_one("#find-progress").display = False
        self.watch(self.app, "region_filter", self._region_changed, init=False)

    def _email_box(self) -> Input:
        return self.query_one("#find-email", Input)

    # -- who may search --------------------------------------------------------------------

    def refresh_data(self) -> None:
        """Nothing to load: show the search box, or why there is none."""
        allowed = self.ops.may(Action.INSPECT_METADATA)
        explain = self.query_one("#find-explain", Static)
        explain.display = not allowed
        self.query_one("#find-body").display = allowed
        # Disabled, not only hidden: a hidden box that kept the focus would still take keys.
        self._email_box().disabled = not allowed
        if self.ops.roles is None:
            explain.update(Text("checking your roles…", style="dim"))
        elif not allowed:
            explain.update(needs_security(self.ops.roles, what="Find user"))
            self._clear()
        elif self.result is None and not self.searching:
            self._email_box().focus()
            self._show_status()

    def _clear(self) -> None:
        self._search += 1
        self.email, self.result, self.searching = None, None, False
        self._rows.clear()
        self._queued = []
        self.query_one(ListTable).fill(())
        self.query_one("#find-detail", Static).update("")

    # -- searching -------------------------------------------------------------------------

    @on(Input.Submitted, "#find-email")
    def _submitted(self, event: Input.Submitted) -> None:
        self.search(event.value)

    def search(self, email: str) -> None:
        """Search every live tenant (of the region filter) for ``email``; bad input is refused
        here."""
        if not self.ops.may(Action.INSPECT_METADATA):
            return
        try:
            check_email(email)
        except InvalidInput as exc:
            self.query_one("#find-status", Static).update(Text(exc.one_line(), style="bold red"))
            return
        self._clear()
        self.email, self.searching = email.strip(), True
        search, region, address = self._search, self.ops.region_filter, email.strip()
        bar = self.query_one(ProgressBar)
        bar.update(total=None, progress=0)
        self.query_one("#find-progress").display = True

        def found(hit: UserHit) -> None:
            self.post_message(UserFound(search, hit))

        def progress(done: int, total: int, tenant: str) -> None:
            self.post_message(SearchProgress(search, done, total, tenant))

        inspection = self.console.inspection
        self.load(
            lambda: final_list(
                inspection.find_user(address, region=region, on_hit=found, progress=progress)
            ),
            lambda final: self._searched(search, final),
        )
        self.query_one(ListTable).focus()
        self._show_status()

    def _region_changed(self) -> None:
        if self.email is not None and self.is_current:
            self.search(self.email)

    @on(UserFound)
    def _user_found(self, event: UserFound) -> None:
        if event.search == self._search:
            self._add(event.hit)

    @on(SearchProgress)
    def _progress(self, event: SearchProgress) -> None:
        if event.search == self._search and self.searching:
            self.query_one(ProgressBar).update(total=event.total, progress=event.done)
            self._show_status(f"{event.done}/{event.total} {event.tenant}")

    def _add(self, hit: UserHit) -> None:
        name = hit.tenant.name
        if name in self._rows or len(self._rows) >= SHOWN_ROWS:
            return
        self._rows[name] = hit
        self.query_one(ListTable).append(_row(hit))
        if len(self._rows) == 1:
            self._show_detail(name)

    def _searched(self, search: int, final: FinalList) -> None:
        """The search is over: the final list (every hit, in order, its rows made in the
        worker) replaces the streamed rows, a chunk per frame."""
        if search != self._search:
            return
        result, hits, rows = final
        self.searching, self.result = False, result
        self.query_one("#find-progress").display = False
        self._rows = hits
        table = self.query_one(ListTable)
        table.fill(rows[:CHUNK_ROWS])
        self._queued = rows[CHUNK_ROWS:]
        if table.row_count:
            table.move_cursor(row=0)
            self._show_highlighted()
        self._show_status()
        if self._queued:
            self.call_after_refresh(self._add_queued, search)

    def _add_queued(self, search: int) -> None:
        if search != self._search:
            return
        chunk, self._queued = self._queued[:CHUNK_ROWS], self._queued[CHUNK_ROWS:]
        self.query_one(ListTable).extend(chunk)
        if self._queued:
            self.call_after_refresh(self._add_queued, search)

    def service_refused(self, error: OpsError) -> None:
        self.searching = False
        self.query_one("#find-progress").display = False
        self.query_one("#find-status", Static).update(Text(error.one_line(), style="bold red"))
        super().service_refused(error)

    # -- showing ---------------------------------------------------------------------------

    def _show_status(self, progress: str = "") -> None:
        status = self.query_one("#find-status", Static)
        where = f"region {self.ops.region_filter}" if self.ops.region_filter else "every region"
        if self.email is None:
            status.update(
                Text(
                    f"Type an address and press Enter to search the live tenants of {where}.",
                    style="dim",
                )
            )
            return
        if self.searching:
            status.update(
                Text(
                    f"searching {where} for {shown(self.email)}… {progress}".rstrip(),
                    style="dim",
                )
            )
            return
        result = self.result
        assert result is not None
        text = Text()
        if result.hits:
            found = len(result.hits)
            text.append(
                f"{shown(result.email)} is a user of {plural(found, 'tenant')}",
                style="bold green",
            )
        else:
            text.append(f"no tenant has a user {shown(result.email)}", style="bold yellow")
        text.append(f" · {count(result.searched)} searched in {where}", style="dim")
        if result.skipped_purged:
            text.append(f" · {count(result.skipped_purged)} purged skipped", style="dim")
        if result.failures:
            text.append(
                f"\n⚠ {count(len(result.failures))} could not be searched: ", style="bold red"
            )
            text.append(self._failure_summary(result.failures), style="red")
        status.update(text)

    @staticmethod
    def _failure_summary(failures: list[SearchFailure]) -> str:
        """``cluster us-sandbox-1 (3 tenants): <first error>``, per cluster."""
        by_cluster: dict[str, list[SearchFailure]] = {}
        for failure in failures:
            by_cluster.setdefault(failure.tenant.cluster or "?", []).append(failure)
        parts = [
            f"cluster {cluster} ({plural(len(group), 'tenant')}): {shown(group[0].error)}"
            for cluster, group in sorted(by_cluster.items())
        ]
        return "; ".join(parts)

    @on(DataTable.RowHighlighted, "#find-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        # Not event.row_key: the event may predate a sort that moved another row under the
        # cursor (results stream in, then the final list is sorted), and would show that row.
        self._show_highlighted()

    def _show_highlighted(self) -> None:
        key = highlighted_key(self.query_one("#find-table", DataTable))
        if key is not None:
            self._show_detail(key)

    def _show_detail(self, name: str | None) -> None:
        hit = self._rows.get(name or "")
        detail = self.query_one("#find-detail", Static)
        if hit is None:
            detail.update("")
            return
        user, tenant = hit.user, hit.tenant
        text = Text()
        text.append(shown(user.email), style="bold")
        text.append(f" in {tenant.name} ({tenant.region}, {tenant.cluster})")
        text.append(
            f"\n{'an admin' if user.is_admin else 'a user'}"
            f" ({'active' if user.active else 'disabled'}) since {day(user.created_at)}"
        )
        text.append("\nlast login ", style="dim")
        text.append(
            f"{minute(user.last_login)} from {shown(user.last_login_ip or '—')}"
            if user.last_login
            else "never"
        )
        if user.last_attempt:
            text.append(" · last attempt ", style="dim")
            result = shown(shown_result(user.last_attempt_result or ""))
            text.append(f"{short_minute(user.last_attempt)} {result}")
        detail.update(text)

    # -- keys ------------------------------------------------------------------------------

    def action_edit_email(self) -> None:
        self._email_box().focus()

    def action_leave_email(self) -> None:
        self.query_one(ListTable).focus()

    def action_open_detail(self) -> None:
        name = highlighted_key(self.query_one(ListTable))
        if name is None:
            self.notify("no tenant found yet", severity="warning")
            return
        self.app.push_screen(TenantDetailScreen(name))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "leave_email":
            return self.focused is self._email_box()
        return super().check_action(action, parameters)


#: A finished search, its hits by tenant and their rows in order (at most ``SHOWN_ROWS``).
FinalList = tuple[UserSearch, dict[str, UserHit], list[ListRow]]


def final_list(result: UserSearch) -> FinalList:
    """Runs in the search's worker: the hits by tenant (the first of each), ordered by tenant
    name and cut to ``SHOWN_ROWS``, with their rows made here, off the UI thread."""
    hits: dict[str, UserHit] = {}
    for hit in result.hits:
        hits.setdefault(hit.tenant.name, hit)
    ordered = sorted(hits)[:SHOWN_ROWS]
    return result, {name: hits[name] for name in ordered}, [_row(hits[name]) for name in ordered]


def _row(hit: UserHit) -> ListRow:
    """A tenant where the address is a user, as the results list shows it."""
    return ListRow(
        hit.tenant.name,
        (
            hit.tenant.name,
            hit.tenant.region,
            tenant_state_text(hit.tenant.state),
            short_minute(hit.user.last_login) or "never",
            plain(hit.user.last_login_ip or "—"),
        ),
    )
