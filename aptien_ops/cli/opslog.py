"""``ops-log`` commands."""

from __future__ import annotations

import click

from aptien_ops.cli.output import say, table
from aptien_ops.cli.params import grep_option
from aptien_ops.cli.state import CliState, pass_state


@click.group("ops-log")
def ops_log() -> None:
    """The tamper-evident log of every operator action and denial.

    \b
    Examples:
      aptien-ops ops-log list --limit 20
      aptien-ops ops-log list --limit 20 --before 381   (the page before entry #381)
      aptien-ops ops-log list --grep acme-gmbh   (the newest entries naming it, of all time)
      aptien-ops ops-log verify     (exit 7 names the first edited, removed or reordered entry)
      aptien-ops ops-log verify --witness store --witness /var/log/siem/aptien-ops.jsonl
    """


@ops_log.command("list")
@click.option(
    "--limit", default=50, show_default=True, type=int, help="How many entries, newest first."
)
@click.option(
    "--before",
    type=click.IntRange(min=1, max=2**63 - 1),  # a sequence number is a 64-bit integer
    metavar="SEQ",
    help="Only entries older than entry SEQ: the next page back (the last seq shown).",
)
@grep_option("entries")
@pass_state
def ops_log_list(state: CliState, limit: int, before: int | None, grep: str | None) -> None:
    """The newest entries (or those before an entry: page back through all of history)."""
    found = state.console().opslog.list(limit, before=before, grep=grep)
    entries = [e.as_json() for e in found]
    state.out(
        entries,
        table(entries, ("seq", "at", "operator", "action", "target", "outcome", "approval_id")),
    )


@ops_log.command("verify")
@click.option(
    "--witness",
    "witnesses",
    multiple=True,
    metavar="FILE|store",
    help="Also check against a witness outside the catalog: a copy of the JSON event log"
    " (the SIEM's; repeat for rotated files, .gz read too) or `store` (the checkpoints that"
    " backup run signs into each region's backup store; ./store for a file of that name)."
    " Detects a wipe, a truncation and a rollback to an earlier head.",
)
@pass_state
def ops_log_verify(state: CliState, witnesses: tuple[str, ...]) -> None:
    """Check every entry's HMAC, the chain and the signed head (and the witnesses)."""
    from aptien_ops.services.opslog_service import Witnesses

    report = state.console().opslog.verify(Witnesses.parse(witnesses))
    human = f"ops log intact: {report.entries} entries, head at #{report.head_seq}"
    if report.witness is not None:
        w = report.witness
        human += f"\nthe witnesses saw {w.witnessed} entries, up to #{w.highest_seq}: all present"
        human += "".join(f"\n  {source}" for source in w.sources)
        for problem in w.untrusted:  # on stderr even with --json: someone should look
            say(f"aptien-ops: not trusted as a witness: {problem}")
    state.out(report.as_json(), human)
