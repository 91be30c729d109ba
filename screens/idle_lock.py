"""The idle lock: lock (sandbox) or end the session (production) after idle minutes, hold
toasts back while locked."""

from __future__ import annotations

from collections.abc import Callable

from textual import events
from textual.app import App
from textual.notifications import SeverityLevel

from aptien_ops.screens.formatting import plural
from aptien_ops.screens.lock import LockScreen
from aptien_ops.terminal_text import shown


class IdleLock(App[None]):
    """The app's part that locks the console (mixed into ``OpsApp``, whose ``__init__`` sets
    the clock, the limits and ``locked``)."""

    clock: Callable[[], float]
    idle_lock_minutes: int
    session_hours: int
    session_warned: bool
    production: bool
    session_started: float
    last_input: float
    ended: str | None
    locked: bool
    roles: frozenset[str] | None
    _held_notices: list[tuple[str, dict[str, object]]]

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

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseDown)) and not event.is_forwarded:
            self.last_input = self.clock()
        await super().on_event(event)

    #: How long before the end of a session (``session_hours``) the operator is warned.
    SESSION_WARNING_MINUTES = 10

    def check_idle_lock(self) -> None:
        """After ``idle_lock_minutes`` without a key (0: never): a sandbox locks, production
        ends the session (the operator logs in again over SSH). A session older than
        ``session_hours`` ends, busy or not, after a warning ``SESSION_WARNING_MINUTES``
        before."""
        now = self.clock()
        if self.session_hours:
            left = self.session_started + self.session_hours * 3600 - now
            if left <= 0:
                self.end_session(f"the session ended after {plural(self.session_hours, 'hour')}")
                return
            if left <= self.SESSION_WARNING_MINUTES * 60 and not self.session_warned:
                self.session_warned = True
                minutes = plural(max(1, round(left / 60)), "minute")
                self.notify(
                    f"This session ends in {minutes} (it lasts at most"
                    f" {plural(self.session_hours, 'hour')}): finish what you are doing, then"
                    " log in again.",
                    title="Session ending",
                    severity="warning",
                    timeout=self.SESSION_WARNING_MINUTES * 60,
                )
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
