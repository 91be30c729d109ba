"""``ops-log`` commands."""

from __future__ import annotations

import click

from aptien_ops.cli.output import table
from aptien_ops.cli.state import CliState, pass_state


@click.group("ops-log")
def ops_log() -> None:
    """The tamper-evident log of every operator action and denial.

    \b
    Examples:
      aptien-ops ops-log list --limit 20
      aptien-ops ops-log verify     (exit 7 names the first edited, removed or reordered entry)
    """


@ops_log.command("list")
@click.option(
    "--limit", default=50, show_default=True, type=int, help="How many entries, newest first."
)
@pass_state
def ops_log_list(state: CliState, limit: int) -> None:
    """The newest entries."""
    entries = [e.as_json() for e in state.console().opslog.list(limit)]
    state.out(
        entries,
        table(entries, ("seq", "at", "operator", "action", "target", "outcome", "approval_id")),
    )


@ops_log.command("verify")
@pass_state
def ops_log_verify(state: CliState) -> None:
    """Check every entry's HMAC, the chain and the signed head."""
    report = state.console().opslog.verify()
    state.out(
        report.as_json(), f"ops log intact: {report.entries} entries, head at #{report.head_seq}"
    )
