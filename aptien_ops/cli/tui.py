"""Starting the TUI from the command line (Textual is imported only here, only when needed)."""

from __future__ import annotations

import os
import shutil
import sys

import click

from aptien_ops.cli.state import CliState, pass_state
from aptien_ops.errors import InvalidInput

MIN_COLUMNS, MIN_LINES = 80, 24


def check_terminal() -> None:
    """Raises: InvalidInput when the terminal cannot show the TUI, pointing to scripted mode."""
    if os.environ.get("TERM", "") in ("", "dumb"):
        raise InvalidInput(
            "this terminal (TERM=dumb) cannot show the console",
            hint="use the scripted mode: aptien-ops --help",
        )
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise InvalidInput(
            "the console needs a terminal on stdin and stdout",
            hint="use the scripted mode: aptien-ops --help",
        )
    size = shutil.get_terminal_size((0, 0))
    if size.columns < MIN_COLUMNS or size.lines < MIN_LINES:
        raise InvalidInput(
            f"the terminal is {size.columns}x{size.lines}; the console needs at least {MIN_COLUMNS}x{MIN_LINES}",
            hint="enlarge the window, or use the scripted mode: aptien-ops --help",
        )


def run_tui(state: CliState) -> None:
    """Run the TUI until the operator quits.

    The dashboard's first frame comes from a glance at the catalog when there is one, so the
    console connects (SQLAlchemy, schema check) only once that frame is up.

    Raises: InvalidInput (no usable terminal), and as ``CliState.console``.
    """
    check_terminal()
    finish = state.start_tui()
    from aptien_ops.screens.app import OpsApp  # Textual's import overlaps the glance at the catalog

    console, glance = finish()
    OpsApp(console, glance=glance).run()


@click.command("tui")
@pass_state
def tui(state: CliState) -> None:
    """Open the interactive console (needs a terminal of at least 80x24)."""
    run_tui(state)
