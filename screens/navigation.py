"""Navigation: the top-level screens (tabs) and switching between them."""

from __future__ import annotations

import asyncio
import gc
import importlib
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.screen import Screen
from textual.widget import AwaitMount
from textual.worker import Worker

from aptien_ops.screens.base import OpsScreen
from aptien_ops.screens.help import HelpScreen

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
    tiny: str = ""
    """The title in the tabs when the short ones do not fit either (60 columns)."""

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
    Tab("3", "operators", "Operators", "aptien_ops.screens.operators:OperatorsScreen", tiny="Oper"),
    Tab("4", "approvals", "Approvals", "aptien_ops.screens.approvals:ApprovalsScreen", tiny="Appr"),
    Tab("5", "opslog", "Ops log", "aptien_ops.screens.opslog:OpsLogScreen", short="Log"),
    Tab("6", "fleet", "Fleet", "aptien_ops.screens.fleet:FleetScreen"),
    Tab("7", "find-user", "Find user", "aptien_ops.screens.find_user:FindUserScreen", short="Find"),
    Tab("8", "backups", "Backups", "aptien_ops.screens.backups:BackupsScreen", tiny="Bkup"),
    Tab("9", "policy", "Policy", "aptien_ops.screens.policy:PolicyScreen", in_tabs=False),
    Tab("0", "partners", "Partners", "aptien_ops.screens.partners:PartnersScreen"),
    Tab(
        "exclamation_mark",
        "incidents",
        "Incidents",
        "aptien_ops.screens.incidents:IncidentsScreen",
        in_tabs=False,
    ),
    Tab("N", "notices", "Notices", "aptien_ops.screens.notices:NoticesScreen", in_tabs=False),
    Tab("J", "jobs", "Jobs", "aptien_ops.screens.jobs_screen:JobsScreen", in_tabs=False),
)


class Navigation(App[None]):
    """The app's part that switches between the top-level screens (mixed into ``OpsApp``)."""

    services: Console
    locked: bool
    _holding = False
    """A switch of ours is under way: its ``delay_update`` holds frames until it ends them."""
    _held: tuple[AbstractContextManager[None], ...] = ()
    _thaw_on_exit = False
    """The frames it holds back (Textual's batch updates), ended by ``_draw_held``."""

    @staticmethod
    def navigation() -> list[tuple[str, str, str]]:
        """(key, mode, title) of every top-level screen, in tab order."""
        return [(t.key, t.mode, t.title) for t in SCREENS]

    @staticmethod
    def tab_modes() -> frozenset[str]:
        """Modes shown in the header's tabs (without importing any screen)."""
        return frozenset(t.mode for t in SCREENS if t.in_tabs)

    @staticmethod
    def tabs(*, short: bool = False, tiny: bool = False) -> list[tuple[str, str, str]]:
        """(key, mode, title) of the screens shown in the header's tabs; ``short``: with the
        short titles that fit 80 columns; ``tiny``: with those that fit 60."""
        return [
            (t.key, t.mode, t.tiny or t.short or t.title if tiny else t.short or t.title)
            if short or tiny
            else (t.key, t.mode, t.title)
            for t in SCREENS
            if t.in_tabs
        ]

    @staticmethod
    def screen_classes() -> tuple[type[OpsScreen], ...]:
        """Every top-level screen class, in tab order (imports those not shown yet)."""
        return tuple(t.load() for t in SCREENS)

    def compose_ahead(self) -> None:
        """Compose the top-level screens not shown yet, one after the other after the next
        frame, while the operator reads the first: a first visit then costs what a return
        does. A screen composed ahead is mounted, not resumed: it reads nothing until it is
        shown. One the operator reaches before it is mounted is composed then, as it would
        have been (and the one composed ahead is dropped)."""
        self.call_after_refresh(self._compose_next, [t for t in SCREENS if t.in_tabs])

    def _compose_next(self, tabs: list[Tab]) -> None:
        tabs = [t for t in tabs if t.mode not in self._screen_stacks]
        if tabs and not self.locked:  # nothing is prepared behind the lock
            self.run_worker(
                self._compose_one(tabs[0], tabs[1:]), group="compose-ahead", exit_on_error=False
            )

    async def _compose_one(self, tab: Tab, rest: list[Tab]) -> None:
        # What App._init_mode does for a new mode, less the ScreenResume it sends; the mode is
        # given its screen only once the screen is mounted (its keys query its widgets).
        screen, mounted = self._get_screen(tab.screen())
        self._load_screen_css(screen)
        await mounted
        if tab.mode in self._screen_stacks or tab.mode not in self._modes:
            await screen.remove()  # shown meanwhile: composed then
        else:
            self._screen_stacks[tab.mode] = [screen]
            self.keep_out_of_collection()
        self.call_after_refresh(self._compose_next, rest)

    def action_goto(self, mode: str) -> None:
        if mode != self.current_mode:
            if not self.services.connected:
                # The screen's reads wait for the catalog (a fraction of a second at start).
                self.notify("connecting to the catalog…", timeout=2)
            self.show_mode(mode)

    def show_mode(self, mode: str) -> AwaitMount:
        """Switch to ``mode`` and draw its screen as soon as it is ready.

        Textual draws nothing for 50 ms after a switch (``delay_update``), to hide a screen
        still being composed: that was most of a return's key-to-paint. Here the frames are
        held back only until the screen is mounted (at once on a return) and has handled its
        resume (restyled, laid out), then it is drawn. Mounting is awaited in a task of its
        own: the app goes on handling its messages meanwhile.
        """
        new = mode not in self._screen_stacks
        self._holding = True
        try:
            mounted = self.switch_mode(mode)
        finally:
            self._holding = False
        if self._held or new:
            self.run_worker(
                self._draw_when_mounted(mounted, new), group="draw", exit_on_error=False
            )
        return mounted

    async def _draw_when_mounted(self, mounted: AwaitMount, new: bool) -> None:
        try:
            await mounted
        finally:
            # Queued behind the screen's resume: the first frame drawn is the resumed screen.
            self.screen.call_later(self._draw_held)
        if new:
            self.keep_out_of_collection()

    def keep_out_of_collection(self) -> None:
        """Move every object alive now out of the garbage collector's full passes
        (``gc.freeze``), after the first frame and after each screen is first composed.

        A screen's widgets live as long as the app, and a full collection walks every
        object not frozen while it holds the interpreter lock: with the screens composed it
        stalled the UI thread ~50–150 ms of CPU, several times a minute while a list was
        read (the workers' rows trigger it too). What is frozen stays alive until the app
        ends, when it is thawed (``on_unmount``): the cyclic garbage not yet collected at
        those moments, a few thousand objects each time.
        """
        self._thaw_on_exit = True
        gc.freeze()

    def on_unmount(self) -> None:
        if self._thaw_on_exit:
            gc.unfreeze()  # to the oldest generation, collected as any other object again

    def delay_update(self, delay: float = 0.05) -> None:
        if not self._holding:
            super().delay_update(delay)
            return
        held = self.batch_update()
        held.__enter__()
        self._held = (*self._held, held)

    def _draw_held(self) -> None:
        held, self._held = self._held, ()
        for batch in held:
            batch.__exit__(None, None, None)
        if held:
            self.screen.refresh()

    async def run_on_screen(self, mode: str, action: str) -> None:
        """Switch to ``mode`` and run one of its actions once its data is in (the palette's way)."""
        if self.locked:
            return
        if mode != self.current_mode:
            await self.show_mode(mode)
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

        def busy() -> list[Worker[Any]]:
            return [
                w
                for w in self.workers
                if w.node is screen and w.group == group and not w.is_finished
            ]

        # A newer read cancels an older one (a screen resumed twice reads twice): wait for the
        # one that stays.
        while waiting := busy():
            await asyncio.gather(*(w.wait() for w in waiting), return_exceptions=True)
        # What they read arrives as a message already queued on the screen; what follows, after.
        if later:
            screen.call_later(self._when_loaded, screen, action, tuple(later))
        else:
            screen.call_later(screen.run_action, action)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())
