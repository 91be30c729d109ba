"""``billing sync``: every linked tenant's licence and latest invoice, read from Stripe."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from aptien_ops.cli.billing import billing
from aptien_ops.cli.state import CliState, pass_state
from aptien_ops.terminal_text import shown
from aptien_ops.wording import plural

if TYPE_CHECKING:
    from aptien_ops.services.billing_sync import SyncResult

#: Changed tenants listed by name; the rest are counted (``--json`` lists them all).
SHOWN_CHANGES = 50


def summary(result: SyncResult) -> str:
    """What changed, for a person: counts, then each changed tenant's licence."""
    tenants = plural(result.linked, "linked tenant")
    changed = plural(len(result.changes), "tenant")
    if result.full:
        lines = [f"full sync: {tenants} read from Stripe, {changed} changed"]
    else:
        e = result.events
        read = sum(e.values())
        lines = [
            f"{plural(read, 'event')} since the last sync: {e.get('changed', 0)} changed a"
            f" tenant, {e.get('unchanged', 0)} changed nothing kept, {e.get('seen', 0)} applied"
            f" before, {e.get('stale', 0)} older than what is kept, {e.get('unlinked', 0)} about"
            f" no linked tenant; {changed} changed"
        ]
    for change in result.changes[:SHOWN_CHANGES]:
        licence = (
            f"{change.before} -> {change.after}"
            if change.before != change.after
            else str(change.after)
        )
        lines.append(f"  {shown(change.tenant)}  {licence}  ({', '.join(change.fields)})")
    if len(result.changes) > SHOWN_CHANGES:
        lines.append(f"  … and {len(result.changes) - SHOWN_CHANGES} more (--json lists them)")
    lines.append(f"cursor: {shown(result.cursor or 'none (Stripe has no events)')}")
    return "\n".join(lines)


@billing.command("sync")
@click.option(
    "--full",
    is_flag=True,
    help="Read every subscription and invoice again (else only the events since the last sync).",
)
@pass_state
def billing_sync(state: CliState, full: bool) -> None:
    """Bring every linked tenant's licence and latest invoice up to date from Stripe.

    Reads the events since the last sync (the first sync, or --full, reads every subscription
    and invoice instead), each event applied once, the newer state winning. The billing role
    and admins sync. Stripe unreachable or refusing the key, or billing not connected: exit 6,
    with nothing after the failure applied; run it again.

    \b
    Examples:
      aptien-ops billing sync
      aptien-ops billing sync --full --json
    """
    from aptien_ops.cli.progress import Steps

    result = state.console().billing_sync.sync(full=full, progress=Steps(enabled=not state.json))
    state.out(result.as_json(), summary(result))
