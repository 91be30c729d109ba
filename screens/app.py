"""The Textual app: one mode per screen, app-wide keys, the operator's roles, and the idle lock."""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, work
from textual.actions import ActionParseResult
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.dom import DOMNode
from textual.notifications import SeverityLevel
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen

from aptien_ops.errors import OpsError
from aptien_ops.permissions import Action, Offer, offered
from aptien_ops.policy import Policy
from aptien_ops.screens.base import OpsScreen, ServiceCaller
from aptien_ops.screens.commands import OpsCommands
from aptien_ops.screens.dashboard import DashboardScreen
from aptien_ops.screens.formatting import plural
from aptien_ops.screens.help import HelpScreen
from aptien_ops.screens.lock import LockScreen
from aptien_ops.screens.modals import ConfirmModal
from aptien_ops.terminal_text import shown

if TYPE_CHECKING:
    from aptien_ops.composition import Console


@dataclass(frozen=True)
class Tab:
    """A top-level screen as navigation knows it, before its module is imported.

    The first frame needs only the dashboard: every other screen's module (with the widgets and
    services it pulls in, ~25 ms of start-up) is imported when it is first shown, or when help
    or the palette lists every screen. Key, mode, title and ``in_tabs`` repeat the class's
    ``NAV_KEY``, ``MODE``, ``TITLE`` and ``IN_TABS``; tests/tui/test_fast_start.py holds them
    together.
    """

    key: str
    mode: str
    title: str
    target: str
    """``module:Class`` of the screen."""
    in_tabs: bool = True
    short: str = ""
    """The title in the tabs when the full titles do not fit the width (80 columns)."""

    def load(self) -> type[OpsScreen]:
        return _screen_class(self.target)

    def screen(self) -> OpsScreen:
        """A new instance (what ``App.MODES`` calls when the mode is first entered)."""
        return self.load()()


@cache
def _screen_class(target: str) -> type[OpsScreen]:
    module, _, name = target.partition(":")
    screen_class: type[OpsScreen] = getattr(importlib.import_module(module), name)
    return screen_class


SCREENS: tuple[Tab, ...] = (
    Tab(
        "1", "dashboard", "Dashboard", "aptien_ops.screens.dashboard:DashboardScreen", short="Dash"
    ),
    Tab("2", "tenants", "Tenants", "aptien_ops.screens.tenants:TenantsScreen"),
    Tab("3", "operators", "Operators", "aptien_ops.screens.operators:OperatorsScreen"),
    Tab("4", "approvals", "Approvals", "aptien_ops.screens.approvals:ApprovalsScreen"),
    Tab("5", "opslog", "Ops log", "aptien_ops.screens.opslog:OpsLogScreen", short="Log"),
    Tab("6", "fleet", "Fleet", "aptien_ops.screens.fleet:FleetScreen"),
    Tab("7", "find-user", "Find user", "aptien_ops.screens.find_user:FindUserScreen", short="Find"),
    Tab("8", "backups", "Backups", "aptien_ops.screens.backups:BackupsScreen"),
    Tab("9", "policy", "Policy", "aptien_ops.screens.policy:PolicyScreen", in_tabs=False),
    Tab("0", "partners", "Partners", "aptien_ops.screens.partners:PartnersScreen"),
)


class OpsApp(App[None], ServiceCaller):
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
            "ctrl+r", "screen.refresh", "Reload", show=False, tooltip="reload what the screen shows"
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
    ) -> None:
        super().__init__()
        self.services = console
        self.set_reactive(OpsApp.catalog_ready, console.connected)
        self.start_error: OpsError | None = None
        """Why the catalog could not be connected after the first frame (the app then exits)."""
        self.clock = clock or time.monotonic
        self.cursor_blink = cursor_blink
        self.idle_lock_minutes = console.settings.security.idle_lock_minutes
        """Sandbox: lock after this many idle minutes. Production: end the session (the policy
        the catalog holds sets it once the catalog is connected)."""
        self.session_hours = 0
        """Production: the session ends this many hours after it began, idle or not."""
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

    def may(self, action: Action) -> bool:
        """Whether to offer ``action`` (see :meth:`offer`)."""
        return self.offer(action).allowed

    def offers(self, screen: type[OpsScreen] | OpsScreen, action: str) -> bool:
        """Whether to offer ``screen``'s binding ``action``: one without a permission always."""
        permission = screen.PERMISSIONS.get(action)
        return permission is None or self.may(permission)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.locked:
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

    def on_mount(self) -> None:
        if self.catalog_ready:
            self.load(self._roles_and_limits, self._roles_loaded)
        else:
            self.call_after_refresh(self._connect)
        if self.idle_lock_minutes or self.production:
            self.set_interval(self.IDLE_CHECK_SECONDS, self.check_idle_lock, name="idle lock")

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        # No "Screenshot": it would write tenants' contacts to a file on a shared bastion.
        return (c for c in super().get_system_commands(screen) if c.title != "Screenshot")

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Show a toast; while locked, hold it back until unlock (it may name a tenant).

        Every toast passes here (a screen's ``notify`` calls the app's): its text is escaped
        for the terminal and never parsed as markup, whatever ``markup`` says (toasts quote
        names, targets and refusals).
        """
        message, title, markup = shown(message, multiline=True), shown(title), False
        if self.locked:
            self._held_notices.append(
                (
                    message,
                    {"title": title, "severity": severity, "timeout": timeout, "markup": markup},
                )
            )
            return
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

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
            return self._roles_and_limits()
        except OpsError as error:
            return error

    def _roles_and_limits(self) -> frozenset[str]:
        """Runs in a worker thread: the operator's roles, and the policy's session limits."""
        roles = self.services.ctx.my_roles()
        self.call_from_thread(self._limits, self.services.ctx.policy)
        return roles

    def _limits(self, policy: Policy) -> None:
        if self.production:
            self.idle_lock_minutes = policy.idle_minutes
            self.session_hours = policy.session_hours

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
        Refresh; ctrl+r on a screen)."""
        screen = self.screen
        if isinstance(screen, OpsScreen):
            screen.action_refresh()
        else:
            self.refresh_roles()

    @work(thread=True, exclusive=True, exit_on_error=False, group="roles")
    def _reread_roles(self) -> None:
        self._call_service(self.services.ctx.my_roles, self._roles_loaded, changed=False)

    def watch_roles(self) -> None:
        self.refresh_bindings()

    # -- long jobs and quitting ------------------------------------------------------------

    def job_started(self, screen: OpsScreen, doing: str) -> None:
        self.jobs[screen] = doing

    def job_ended(self, screen: OpsScreen) -> None:
        """A screen's job is over (done, refused or failed): quit if the operator asked to."""
        self.jobs.pop(screen, None)
        if self.quit_when_done and not self.jobs:
            self.exit()

    async def action_quit(self) -> None:
        """Quit; while a backup run or a verification is going, ask first. Its worker thread
        cannot be stopped halfway (each backup is written whole or not at all), so the
        console offers to quit once it is done, showing its progress until then."""
        if not self.jobs:
            self.exit()
            return
        # Locked, the question names no tenant (the lock screen hides them all).
        doing = plural(len(self.jobs), "job") if self.locked else "; ".join(self.jobs.values())

        def decided(yes: bool | None) -> None:
            if yes:
                self.quit_when_done = True
                self.notify(
                    f"quitting once this is done: {doing}", title="Quit when done", timeout=30
                )

        question = (
            f"Still going: {doing}.\nIt cannot be stopped halfway safely. Quit once it is"
            " done? Its progress stays on the Backups screen until then."
        )
        self.push_screen(
            ConfirmModal(question, yes="Quit when done", title="A job is running"), decided
        )

    # -- navigation ------------------------------------------------------------------------

    @staticmethod
    def navigation() -> list[tuple[str, str, str]]:
        """(key, mode, title) of every top-level screen, in tab order."""
        return [(t.key, t.mode, t.title) for t in SCREENS]

    @staticmethod
    def tab_modes() -> frozenset[str]:
        """Modes shown in the header's tabs (without importing any screen)."""
        return frozenset(t.mode for t in SCREENS if t.in_tabs)

    @staticmethod
    def tabs(*, short: bool = False) -> list[tuple[str, str, str]]:
        """(key, mode, title) of the screens shown in the header's tabs; ``short``: with the
        short titles that fit 80 columns."""
        return [
            (t.key, t.mode, (t.short or t.title) if short else t.title)
            for t in SCREENS
            if t.in_tabs
        ]

    @staticmethod
    def screen_classes() -> tuple[type[OpsScreen], ...]:
        """Every top-level screen class, in tab order (imports those not shown yet)."""
        return tuple(t.load() for t in SCREENS)

    def action_goto(self, mode: str) -> None:
        if mode != self.current_mode:
            if not self.services.connected:
                # The screen's reads wait for the catalog (a fraction of a second at start).
                self.notify("connecting to the catalog…", timeout=2)
            self.switch_mode(mode)

    async def run_on_screen(self, mode: str, action: str) -> None:
        """Switch to ``mode`` and run one of its actions once its data is in (the palette's way)."""
        if self.locked:
            return
        if mode != self.current_mode:
            await self.switch_mode(mode)
        screen = self.screen
        opened_on_top = type(screen) not in self.screen_classes() and isinstance(screen, OpsScreen)
        if opened_on_top and not hasattr(screen, f"action_{action.partition('(')[0]}"):
            await self.pop_screen()  # a detail screen opened on the mode's own screen: back to it
            screen = self.screen
        # Queued behind the screen's resume (which reloads after the next frame), so its reload
        # has started by the time this runs.
        screen.call_after_refresh(self._when_loaded, screen, action)

    async def _when_loaded(
        self, screen: Screen[Any], action: str, groups: tuple[str, ...] = ("load", "prepare")
    ) -> None:
        """Run ``action`` once the screen's reads (``load``) and then the rows picked from them
        (``prepare``, started when the read is shown) are in."""
        group, *later = groups
        busy = [
            w for w in self.workers if w.node is screen and w.group == group and not w.is_finished
        ]
        await self.workers.wait_for_complete(busy)
        # What they read arrives as a message already queued on the screen; what follows, after.
        if later:
            screen.call_later(self._when_loaded, screen, action, tuple(later))
        else:
            screen.call_later(screen.run_action, action)

    def action_cycle_region(self) -> None:
        order: list[str | None] = [None, *self.services.settings.regions]
        self.region_filter = (
            order[(order.index(self.region_filter) + 1) % len(order)]
            if self.region_filter in order
            else None
        )

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    # -- idle lock -------------------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseDown)) and not event.is_forwarded:
            self.last_input = self.clock()
        await super().on_event(event)

    def check_idle_lock(self) -> None:
        """After ``idle_lock_minutes`` without a key (0: never): a sandbox locks, production
        ends the session (the operator logs in again over SSH); production also ends a session
        older than ``session_hours``."""
        now = self.clock()
        if self.production and self.session_hours:
            if now - self.session_started >= self.session_hours * 3600:
                self.end_session(f"the session ended after {plural(self.session_hours, 'hour')}")
                return
        if self.idle_lock_minutes and not self.locked:
            if now - self.last_input >= self.idle_lock_minutes * 60:
                idle = plural(self.idle_lock_minutes, "idle minute")
                if self.production:
                    self.end_session(f"the session ended after {idle}")
                else:
                    self.lock(f"Locked after {idle}.")

    def end_session(self, why: str) -> None:
        """Leave the TUI; the command line tells the operator why and how to come back."""
        self.ended = f"{why}: log in again to go on"
        self.clear_notifications()
        self.exit()

    def action_lock(self) -> None:
        self.lock("Locked by the operator (ctrl+l).")

    def lock(self, why: str) -> None:
        """Cover every screen with the lock screen until Enter (and, in production, a role
        check)."""
        if self.locked:
            return
        self.locked = True
        self.clear_notifications()  # a toast could still show a tenant or an operator
        self.push_screen(LockScreen(why))
        self.refresh_bindings()

    def unlock(self, roles: frozenset[str] | None) -> None:
        """Leave the lock screen; ``roles`` (production) replaces the roles read at start."""
        self.locked = False
        self.last_input = self.clock()
        if roles is not None:
            self.roles = roles
        self.call_later(self._leave_lock)

    async def _leave_lock(self) -> None:
        if isinstance(self.screen, LockScreen):
            await self.pop_screen()
        self.refresh_bindings()
        # Shown only now: a toast raised on the lock screen would vanish with it.
        held, self._held_notices = self._held_notices, []
        for message, options in held:
            self.notify(message, **options)  # type: ignore[arg-type]
