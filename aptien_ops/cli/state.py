"""What every command shares: the global options and the (lazily opened) console."""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

from aptien_ops.cli.output import emit_json, say
from aptien_ops.domain import Clock, Identity, utcnow

if TYPE_CHECKING:
    from aptien_ops.composition import Console
    from aptien_ops.glance import DashboardGlance


@dataclass
class CliState:
    config: str | None = None
    json: bool = False
    yes: bool = False
    verbose: bool = False
    read_only: bool = False
    clock: Clock = utcnow
    """The console's clock (tests pass a fixed one; the command line never sets it)."""
    identity: Identity | None = None
    """Who the console acts as, if not this process's own identity (tests only)."""
    _console: Console | None = field(default=None, repr=False)

    def console(self, *, defer_catalog: bool = False) -> Console:
        """The console, opened on first call (``defer_catalog``: see ``open_console``).

        Raises: as ``open_console`` (ConfigError, Unavailable, Conflict).
        """
        if self._console is None:
            from aptien_ops.composition import open_console

            self._console = open_console(
                self.config,
                read_only=self.read_only,
                verbose=self.verbose,
                defer_catalog=defer_catalog,
                clock=self.clock,
                identity=self.identity,
            )
            gc.freeze()
            gc.enable()
        return self._console

    def start_tui(self) -> Callable[[], tuple[Console, DashboardGlance | None]]:
        """Start opening the console for the TUI; the returned function finishes it.

        In between the caller imports Textual while a glance at the catalog is read (see
        ``aptien_ops.glance.start_dashboard_glance``). With a glance, the first frame is drawn
        from it and the catalog connects afterwards (``Console.connect``, which the app calls
        once that frame is up). Without one (first use, a schema to create or upgrade, an
        operator who may not see the dashboard, any error) the console is opened at once, as
        :meth:`console` does, so a problem is reported before the TUI starts.

        The finishing function raises as :meth:`console`.
        """
        from aptien_ops.composition import open_console
        from aptien_ops.config import load_settings
        from aptien_ops.glance import start_dashboard_glance
        from aptien_ops.identity import current_identity

        settings = load_settings(self.config)
        waiting = start_dashboard_glance(
            settings, (self.identity or current_identity(sandbox=settings.sandbox)).operator
        )

        def finish() -> tuple[Console, DashboardGlance | None]:
            glance = waiting()
            self._console = open_console(
                settings=settings,
                read_only=self.read_only,
                verbose=self.verbose,
                defer_catalog=glance is not None,
                clock=self.clock,
                identity=self.identity,
            )
            gc.freeze()
            gc.enable()
            return self._console, glance

        return finish

    def tui_console(self) -> tuple[Console, DashboardGlance | None]:
        """:meth:`start_tui` and its finish in one call. Raises: as :meth:`console`."""
        return self.start_tui()()

    def close(self) -> None:
        if self._console is not None:
            self._console.close()
            self._console = None

    def out(self, data: Any, human: str | None = None) -> None:
        """Print ``data`` as JSON with --json, else ``human`` (or the JSON if there is none)."""
        if self.json:
            emit_json(data)
        else:
            click.echo(human if human is not None else data)

    def info(self, message: str) -> None:
        if not self.json:
            say(message)

    def confirm(self, question: str) -> None:
        """Ask before something destructive; ``--yes`` answers for scripts.

        Raises: InvalidInput when there is no terminal to ask and no ``--yes``.
        """
        from aptien_ops.errors import InvalidInput

        if self.yes:
            return
        if not sys.stdin.isatty():
            raise InvalidInput(
                f"{question} — no terminal to ask", hint="pass --yes to confirm in scripts"
            )
        if not click.confirm(question, default=False, err=True):
            raise InvalidInput("cancelled by the operator")


pass_state = click.make_pass_decorator(CliState)
