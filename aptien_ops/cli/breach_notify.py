"""``breach notify | deliveries | exempt``: notices to the affected people (GDPR Art. 34),
exactly once per recipient and channel, and the exemptions of Art. 34(3)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from aptien_ops.cli.breach import breach
from aptien_ops.cli.output import table
from aptien_ops.cli.params import TextLimit
from aptien_ops.cli.state import CliState, pass_state
from aptien_ops.domain.free_text import INCIDENT_TEXT
from aptien_ops.terminal_text import shown

if TYPE_CHECKING:
    from aptien_ops.services.notice_results import Deliveries

CHANNELS_HELP = "Comma-separated: email, website, inapp (default: all three)."


def _deliveries_text(d: Deliveries) -> str:
    rows = [{"channel": c.channel, **c.as_json()} for c in d.channels]
    text = table(rows, ("channel", "sent", "pending", "failed")) if rows else "nothing queued"
    for r in d.failed:
        text += f"\nfailed {r.channel} {shown(r.recipient)}: {shown(r.reason or '')}"
    for e in d.exemptions:
        text += f"\nexempt (Art. 34(3)) {e.ground}: {shown(e.rationale)}"
    return text


@breach.command("notify")
@click.argument("incident_id", metavar="ID")
@click.option("--channels", default="email,website,inapp", show_default=True, help=CHANNELS_HELP)
@click.option("--dry-run", is_flag=True, help="Say what would be sent; record nothing.")
@click.option(
    "--enqueue",
    is_flag=True,
    help="Queue a job per region for its workers (a PostgreSQL catalog); returns at once.",
)
@pass_state
def breach_notify(
    state: CliState, incident_id: str, channels: str, dry_run: bool, enqueue: bool
) -> None:
    """Notify the incident's affected people by e-mail, on the website and in-app.

    Four-eyes: the first run records a request (exit 8) bound to the notice texts and the
    recipient snapshot; a different security or admin operator approves it (approval
    approve ID); then run this command again to send. A rerun after any interruption sends
    only what is pending. With --enqueue, the approved campaign is queued instead: a job per
    region (its website entry and the people of its tenants), delivered by that region's
    workers as you (exit 2 on a SQLite catalog).

    \b
    Examples:
      aptien-ops breach notify INC-2026-0001 --dry-run
      aptien-ops breach notify INC-2026-0001 --channels email,website
      aptien-ops breach notify INC-2026-0001 --enqueue
    """
    from aptien_ops.cli.progress import Bar

    console = state.console()
    notices = console.notices
    if enqueue and not dry_run:
        from aptien_ops.cli.jobs import show_enqueued

        queue = console.jobs.queue("breach notify --enqueue")
        show_enqueued(state, notices.enqueue(incident_id, channels, queue))
        return
    if dry_run:
        plan = notices.plan(incident_id, channels)
        then = "sends (approved)" if plan.approved else "records a request for approval"
        state.out(
            plan.as_json(),
            f"would notify {plan.people} people of {incident_id} by {', '.join(plan.channels)}"
            f"\nsubject: {shown(plan.subject)}\na run without --dry-run {then}",
        )
        return
    bars: dict[str, Bar] = {}

    def progress(channel: str, done: int, total: int) -> None:
        bar = bars.setdefault(channel, Bar(channel, enabled=not state.json))
        bar(done, total)

    result = notices.notify(incident_id, channels, progress=progress)
    state.out(result.as_json(), _deliveries_text(result))


@breach.command("deliveries")
@click.argument("incident_id", metavar="ID")
@pass_state
def breach_deliveries(state: CliState, incident_id: str) -> None:
    """Per channel how many notices were sent, are pending and failed (with the reason)."""
    result = state.console().notices.deliveries(incident_id)
    state.out(result.as_json(), _deliveries_text(result))


@breach.command("exempt")
@click.argument("incident_id", metavar="ID")
@click.option(
    "--ground",
    default="unintelligible",
    show_default=True,
    help="Art. 34(3): unintelligible (a), risk-removed (b) or disproportionate (c).",
)
@click.option(
    "--reason",
    required=True,
    callback=TextLimit(INCIDENT_TEXT),
    help=f"Why the people need not be told (kept with the incident; {INCIDENT_TEXT.help}).",
)
@pass_state
def breach_exempt(state: CliState, incident_id: str, ground: str, reason: str) -> None:
    """Record an Art. 34(3) exemption instead of notifying; the reports list it."""
    exemption = state.console().notices.exempt(incident_id, reason, ground)
    state.out(exemption.as_json(), f"recorded exemption ({exemption.ground}) for {incident_id}")
