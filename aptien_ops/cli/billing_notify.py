"""``billing notify``: licence-ending and non-payment notices to the tenants' representatives."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from aptien_ops.cli.billing import billing
from aptien_ops.cli.output import table
from aptien_ops.cli.state import CliState, pass_state
from aptien_ops.errors import Unavailable
from aptien_ops.terminal_text import shown
from aptien_ops.wording import plural

if TYPE_CHECKING:
    from aptien_ops.services.billing_notices import NoticeRun


def _channel(counts: dict[str, dict[str, int]], name: str) -> str:
    c = counts.get(name)
    if c is None:
        return "-"
    if c["failed"] or c["pending"]:
        return f"{c['sent']} sent, {c['failed']} failed, {c['pending']} pending"
    return "sent" if c["sent"] else "-"


def summary(run: NoticeRun) -> str:
    lines = [_notices(run)]
    for s in run.suspensions:
        told = s.told_at.date().isoformat()
        lines.append(f"{s.tenant}: {shown(s.outcome)} (told of non-payment on {told})")
    return "\n".join(lines)


def _notices(run: NoticeRun) -> str:
    if not run.notices:
        return "no billing notice is due"
    rows = []
    for n in run.notices:
        row = n.as_json()
        counts = row["channels"]
        assert isinstance(counts, dict)
        row["period_end"] = (n.period_end or "")[:10] or None
        row["email"] = _channel(counts, "email")
        row["inapp"] = _channel(counts, "inapp")
        rows.append(row)
    columns = ("tenant", "notice", "period_end") + (() if run.dry_run else ("email", "inapp"))
    lines = [table(rows, columns)]
    lines += [f"  {n.tenant}: {shown(n.note)}" for n in run.notices if n.note]
    verb = "due (dry run: nothing sent)" if run.dry_run else "sent"
    lines.append(f"{plural(len(run.notices), 'notice')} {verb}")
    return "\n".join(lines)


@billing.command("notify")
@click.option("--dry-run", is_flag=True, help="List the notices due; send and record nothing.")
@click.option(
    "--enqueue",
    is_flag=True,
    help="Queue a job per region for its workers (a PostgreSQL catalog); returns at once.",
)
@pass_state
def billing_notify(state: CliState, dry_run: bool, enqueue: bool) -> None:
    """Tell each tenant's representative, by e-mail and in-app message, of a licence ending
    within [billing] notice_days (it will not renew) and of non-payment (past_due, unpaid):
    once per tenant, notice and period, through the notices' outbox (a rerun sends only what
    is still pending). Nothing due: exit 0. A notice not delivered (an address refused, the
    representative unreachable, the mail server down): listed, then exit 6. The billing role
    and admins. With [billing] suspend_after_unpaid_days set, tenants still unpaid that many
    days after their non-payment notice are suspended (an operator or admin role needed: a
    refusal is listed and ends with its exit code). With --enqueue: a job per region with
    something due, run by that region's workers as you (exit 2 on a SQLite catalog).

    \b
    Examples:
      aptien-ops billing notify --dry-run
      aptien-ops --json billing notify            (cron)
      aptien-ops billing notify --enqueue
    """
    console = state.console()
    service = console.billing_notices
    if enqueue and not dry_run:
        from aptien_ops.cli.jobs import show_enqueued

        show_enqueued(state, service.enqueue(console.jobs.queue("billing notify --enqueue")))
        return
    if dry_run:
        plan = service.plan()
        state.out(plan.as_json(), summary(plan))
        return

    def progress(channel: str, done: int, total: int) -> None:
        if not state.json:
            click.echo(f"{channel}: {done}/{total}", err=True)

    run = service.notify(progress=progress)
    state.out(run.as_json(), summary(run))
    refused = [s.error for s in run.suspensions if s.error is not None]
    if run.undelivered:
        names = ", ".join(f"{n.tenant} ({n.notice})" for n in run.undelivered[:5])
        raise Unavailable(
            f"{plural(len(run.undelivered), 'notice')} not delivered: {names}",
            hint="see the notes above; aptien-ops billing notify again sends what is pending",
        )
    if refused:
        raise refused[0]
