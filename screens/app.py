"""The Textual app: one mode per screen, app-wide keys and the operator's roles.

Navigation (the tabs, switching screens), the long jobs (quitting while one runs) and the idle
lock are parts of the app of their own: ``navigation``, ``jobs`` and ``idle_lock``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, work
from textual.actions import ActionParseResult
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.dom import DOMNode
from textual.driver import Driver
from textual.drivers.linux_driver import LinuxDriver
from textual.geometry import Size
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen

from aptien_ops.errors import OpsError
from aptien_ops.permissions import Action, Offer, approvers, offered
from aptien_ops.policy import Policy
from aptien_ops.screens.base import OpsScreen
from aptien_ops.screens.commands import OpsCommands
from aptien_ops.screens.dashboard import DashboardScreen
from aptien_ops.screens.idle_lock import IdleLock
from aptien_ops.screens.input_guard import install as guard_input
from aptien_ops.screens.jobs import JobTracking
from aptien_ops.screens.navigation import SCREENS, Navigation, Tab
from aptien_ops.screens.service_calls import ServiceCaller
from aptien_ops.screens.size_guard import SizeGuard, too_small
from aptien_ops.screens.terminal_driver import ConsoleDriver
from aptien_ops.wording import approvers_words

if TYPE_CHECKING:
    from aptien_ops.composition import Console
    from aptien_ops.services.sessions import SessionStarted

__all__ = ["SCREENS", "OpsApp", "Tab"]


guard_input()  # escape sequences a client sends as input never act as keys (before any driver)


class OpsApp(Navigation, JobTracking, IdleLock, ServiceCaller):
    """The interactive console over ``console``'s services.

    ``clock`` returns monotonic seconds; the idle lock measures with it, so tests can move
    time forward instead of waiting. ``cursor_blink=False`` keeps snapshots stable.

    A console whose catalog is not connected yet (``open_console(defer_catalog=True)``, as
    ``aptien-ops tui`` opens it) gets its first frame drawn without it: the header's roles
    say "…" and the dashboard's cards "loading…". The catalog is connected, and the roles
    read, in a worker right after that frame; service calls made before then wait for it in
    their own workers. If it cannot be connected the app exits with ``start_error`` set.
    """

    TITLE = "Aptien Ops"
    CSS_PATH = Path(__file__).with_name("app.tcss")
    COMMANDS = App.COMMANDS | {OpsCommands}
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {
        t.mode: t.screen for t in SCREENS
    }
    DEFAULT_MODE = DashboardScreen.MODE
    BINDINGS = [
        *(Binding(t.key, f"goto('{t.mode}')", t.title, show=False) for t in SCREENS),
        Binding("question_mark,f1", "help", "Help", tooltip="keys per screen (this list)"),
        Binding("ctrl+l", "lock", "Lock now", show=False, tooltip="lock now; Enter unlocks"),
        Binding(
            "ctrl+z", "suspend", "Suspend", show=False, tooltip="back to the shell; fg returns"
        ),
        Binding(
            "r,ctrl+r",
            "screen.refresh",
            "Reload",
            show=False,
            tooltip="read what the screen shows again, keeping the cursor and the filter",
        ),
        Binding("q", "quit", "Quit", tooltip="quit (ctrl+q works everywhere)"),
    ]
    #: How often the idle lock looks at the clock.
    IDLE_CHECK_SECONDS = 5.0

    roles: reactive[frozenset[str] | None] = reactive(None)
    """The operator's roles as the catalog had them at start (None until read)."""
    region_filter: reactive[str | None] = reactive(None)
    """The region filter shown in the header (None: all regions)."""
    catalog_ready: reactive[bool] = reactive(False)
    """True once the console's catalog is connected (at once if it was when the app began)."""

    def __init__(
        self,
        console: Console,
        *,
        clock: Callable[[], float] | None = None,
        cursor_blink: bool = True,
        compose_ahead: bool = False,
        record_session: bool = False,
    ) -> None:
        super().__init__()
        self.record_session = record_session
        """Record this session's start in the ops log once the catalog is connected (the
        command line records its end); a refusal ends the app with ``start_error``."""
        self.session: SessionStarted | None = None
        self.composes_ahead = compose_ahead
        """Compose the other screens after the first frame (``compose_ahead``; off by default:
        on this 2-core machine it did not bring a first visit down to a return, see
        docs/benchmarks.md)."""
        self.services = console
        self.set_reactive(OpsApp.catalog_ready, console.connected)
        self.start_error: OpsError | None = None
        """Why the catalog could not be connected after the first frame (the app then exits)."""
        self.clock = clock or time.monotonic
        self.cursor_blink = cursor_blink
        self.idle_lock_minutes = console.settings.security.idle_lock_minutes
        """Sandbox: lock after this many idle minutes. Production: end the session (the policy
        the catalog holds sets it once the catalog is connected)."""
        self.session_hours = console.settings.security.session_max_hours
        """The session ends this many hours after it began, idle or not (production: the
        policy the catalog holds sets it once the catalog is connected)."""
        self.session_warned = False
        self.policy: Policy | None = None
        """The policy in force, once the catalog is connected (who approves what)."""
        """Whether the operator was told that the session ends soon."""
        self.production = not console.settings.sandbox
        self.session_started = self.last_input = self.clock()
        self.ended: str | None = None
        """Why the app ended the session itself (the command line says so once it has left)."""
        self.locked = False
        self._held_notices: list[tuple[str, dict[str, object]]] = []
        self.jobs: dict[OpsScreen, str] = {}
        """Long jobs running in a screen's worker (a backup run, a verification): what each
        is doing. ``q`` asks before quitting while there is one."""
        self.quit_when_done = False
        """The operator chose to quit once the running jobs are done."""
        self.leaving = threading.Event()
        """Set when the connection is lost (SIGHUP) or the console told to stop (SIGTERM): a
        long job (a backup run, a schema migration) finishes the step under way, records it
        and starts no other, so that the console leaves soon, not after the whole run."""

    # -- what the operator may do ----------------------------------------------------------

    def offer(self, action: Action) -> Offer:
        """Whether ``action`` is offered, and why not: read-only mode and the roles read at
        start decide (nothing is offered while the roles are still loading)."""
        return offered(self.roles or (), action, self.services.ctx.read_only)

    def refusal(self, action: Action) -> str | None:
        """Why ``action`` is not offered, in the words the CLI refuses it with
        (``vic may not operator.grant (needs role admin)``); None when it is."""
        if self.roles is None:
            return "your roles are still being read from the catalog: try again in a moment"
        offer = self.offer(action)
        if offer.allowed:
            return None
        return offer.refusal(self.services.identity.operator).one_line()

    def approvers_of(self, action: Action) -> str:
        """Who may approve a four-eyes request for ``action``, in the words the CLI uses
        (``another admin or security operator``): the policy in force once it is read, the
        built-in approvers until then."""
        roles = (
            self.policy.approver_roles(str(action))
            if self.policy is not None
            else approvers(str(action))
        )
        return approvers_words(roles)

    def may(self, action: Action) -> bool:
        """Whether to offer ``action`` (see :meth:`offer`)."""
        return self.offer(action).allowed

    def offers(self, screen: type[OpsScreen] | OpsScreen, action: str) -> bool:
        """Whether to offer ``screen``'s binding ``action``: one without a permission always."""
        permission = screen.PERMISSIONS.get(action)
        return permission is None or self.may(permission)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.locked or isinstance(self.screen, SizeGuard):
            return action in ("quit", "help_quit")
        if action in ("goto", "cycle_region") and isinstance(self.screen, ModalScreen):
            return False
        return True

    async def run_action(
        self,
        action: str | ActionParseResult,
        default_namespace: DOMNode | None = None,
        namespaces: Mapping[str, DOMNode] | None = None,
    ) -> bool:
        """Run an action; one that a screen refuses for the operator's roles, read-only mode
        or the highlighted row's state is not silently ignored: the operator is told why (its
        key stays hidden from the footer and the palette)."""
        target, name, _ = self._parse_action(
            action, self if default_namespace is None else default_namespace, namespaces
        )
        if isinstance(target, OpsScreen) and not self.locked:
            why = target.refusal(name)
            if why is not None:
                self.notify(why, title="Not allowed", severity="warning", timeout=6)
                return True
        return await super().run_action(action, default_namespace, namespaces)

    def get_driver_class(self) -> type[Driver]:
        """On a real terminal, Textual's driver made safe for one that goes away (a dropped
        SSH connection) and for ctrl+z / fg: screens/terminal_driver.py. A driver named in
        TEXTUAL_DRIVER, and tests' headless one, stay as Textual chooses them."""
        chosen = super().get_driver_class()
        if chosen is LinuxDriver:
            return ConsoleDriver
        return chosen

    def on_resize(self, event: events.Resize) -> None:
        self.guard_size(event.size)  # self.size is still the old one

    def guard_size(self, size: Size) -> None:
        """Below 60×20, cover the console with a line asking for a bigger terminal."""
        if too_small(size) and not isinstance(self.screen, SizeGuard):
            self.push_screen(SizeGuard(size))
            self.refresh_bindings()

    def on_mount(self) -> None:
        self.app_resume_signal.subscribe(self, self.redraw_after_resume)
        self.guard_size(self.size)
        if self.catalog_ready:
            self.load(self._roles_and_limits, self._roles_loaded)
            if self.composes_ahead:
                self.compose_ahead()
        else:
            self.call_after_refresh(self._connect)
        self.call_after_refresh(self.keep_out_of_collection)  # the dashboard, once drawn
        if self.idle_lock_minutes or self.production or self.session_hours:
            self.set_interval(self.IDLE_CHECK_SECONDS, self.check_idle_lock, name="idle lock")

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        # No "Screenshot": it would write tenants' contacts to a file on a shared bastion.
        return (c for c in super().get_system_commands(screen) if c.title != "Screenshot")

    @work(thread=True, exit_on_error=False, group="connect")
    def _connect(self) -> None:
        # After the first frame: the import and schema check it spares must still be paid
        # before the first service call, so pay them while the operator reads the dashboard.
        self._call_service(self._open_catalog, self._catalog_opened, changed=False)

    def _open_catalog(self) -> frozenset[str] | OpsError:
        """Runs in a worker thread: connect the catalog, then read the operator's roles and
        the session limits of the policy in force."""
        try:
            self.services.connect()
            if self.record_session:
                self.session = self.services.sessions.start()
            return self._roles_and_limits()
        except OpsError as error:
            return error

    def _roles_and_limits(self) -> frozenset[str]:
        """Runs in a worker thread: the operator's roles, and the policy's session limits."""
        roles = self.services.ctx.my_roles()
        self.call_from_thread(self._limits, self.services.ctx.policy)
        return roles

    def _limits(self, policy: Policy) -> None:
        self.policy = policy
        self.session_hours = policy.session_hours  # a sandbox's: its config's
        if self.production:
            self.idle_lock_minutes = policy.idle_minutes

    def _catalog_opened(self, outcome: frozenset[str] | OpsError) -> None:
        if isinstance(outcome, OpsError):
            # Nothing on any screen works without the catalog: leave, and let the command line
            # report it as it reports every error (its one line, its exit code).
            self.start_error = outcome
            self.exit(return_code=outcome.exit_code)
            return
        self.roles = frozenset(outcome)
        self.catalog_ready = True

    def _roles_loaded(self, roles: frozenset[str]) -> None:
        self.roles = frozenset(roles)

    def refresh_roles(self) -> None:
        """Read the operator's roles from the catalog again (after a grant or revoke, on
        refresh): what the screens offer follows at once. A no-op until the catalog is
        connected (the first read follows the connection)."""
        if not self.catalog_ready:
            return
        self.services.ctx.forget_roles()
        self._reread_roles()

    def refresh_screen(self) -> None:
        """Read the current screen's data and the operator's roles again (the palette's
        Refresh; r or ctrl+r on a screen)."""
        screen = self.screen
        if isinstance(screen, OpsScreen):
            screen.action_refresh()
        else:
            self.refresh_roles()

    @work(thread=True, exclusive=True, exit_on_error=False, group="roles")
    def _reread_roles(self) -> None:
        self._call_service(self.services.ctx.my_roles, self._roles_loaded, changed=False)

    def watch_catalog_ready(self, ready: bool) -> None:
        if ready and self.composes_ahead:
            self.compose_ahead()

    def watch_roles(self) -> None:
        self.refresh_bindings()

    def action_cycle_region(self) -> None:
        order: list[str | None] = [None, *self.services.settings.regions]
        self.region_filter = (
            order[(order.index(self.region_filter) + 1) % len(order)]
            if self.region_filter in order
            else None
        )
