"""What every command shares: the global options and the (lazily opened) console."""

from __future__ import annotations

import gc
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

from aptien_ops.cli.output import echo, emit_json, say
from aptien_ops.domain import Clock, Identity, utcnow
from aptien_ops.terminal_text import shown

if TYPE_CHECKING:
    from aptien_ops.composition import Console


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
    freeze: bool = True
    """Freeze what is allocated so far out of collection once the console is open: right for a
    process that ends after its command; a process that runs many (tests) would pay a full
    collection of its whole heap after each, once it is thawed again."""
    unattended: bool = False
    """The command runs without an operator at a terminal (``worker``): in production it may
    then be started without sudo, as a systemd unit, and acts as the service account."""
    _console: Console | None = field(default=None, repr=False)

    def console(self, *, defer_catalog: bool = False) -> Console:
        """The console, opened on first call. The TUI passes ``defer_catalog`` (see
        ``open_console``): its first frame is drawn before the catalog is connected.

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
                unattended=self.unattended,
            )
            if self.freeze:
                gc.freeze()
            gc.enable()
        return self._console

    def close(self) -> None:
        if self._console is not None:
            self._console.close()
            self._console = None

    def out(self, data: Any, human: str | None = None) -> None:
        """Print ``data`` as JSON with --json, else ``human`` (or the JSON if there is none)."""
        if self.json:
            emit_json(data)
        else:
            echo(human if human is not None else str(data))

    def info(self, message: str) -> None:
        if not self.json:
            say(message)

    def confirm(self, question: str) -> None:
        """Ask before something destructive; ``--yes`` answers for scripts.

        Raises: InvalidInput when there is no terminal to ask and no ``--yes``; NotConfirmed
        when the operator answers no.
        """
        from aptien_ops.errors import InvalidInput, NotConfirmed

        if self.yes:
            return
        if not sys.stdin.isatty():
            raise InvalidInput(
                f"{question} — no terminal to ask", hint="pass --yes to confirm in scripts"
            )
        if not click.confirm(shown(question), default=False, err=True):
            raise NotConfirmed()


pass_state = click.make_pass_decorator(CliState)
