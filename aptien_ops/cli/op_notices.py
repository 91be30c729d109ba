"""``notice`` commands: operational notices (maintenance, outages, changes) told to the tenants
they affect: draft, list, show, resolve and cancel."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from aptien_ops.cli.breach import TIMES, a_moment
from aptien_ops.cli.output import echo, fields, table
from aptien_ops.cli.params import TextLimit, reason_option
from aptien_ops.cli.progress import Steps
from aptien_ops.cli.state import CliState, pass_state
from aptien_ops.domain.free_text import NOTICE_BODY, NOTICE_TITLE, NOTICE_UPDATE_TEXT
from aptien_ops.terminal_text import shown
from aptien_ops.wording import plural

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from aptien_ops.services.op_notice_results import Delivery, NoticeDetail, SendResult


@click.group("notice", epilog=TIMES)
def notice() -> None:
    """Operational notices: a maintenance, an outage or a change, told to exactly the tenants
    it affects (by region, cluster or name). Every member of staff sees notices; operators
    and admins write them.

    \b
    Examples:
      aptien-ops notice draft --kind maintenance --title "Database upgrade" \\
          --body "Short read-only window." --from 2026-12-10T22:00Z --to 2026-12-10T23:00Z \\
          --clusters eu-fra-1
      aptien-ops notice list                 (every notice not resolved or cancelled)
      aptien-ops notice edit NTC-2026-0001 --to 2026-12-11T00:00Z
      aptien-ops notice send NTC-2026-0001 --dry-run
      aptien-ops notice resolve NTC-2026-0001 --text "Done."
    """


def _names(value: str | None) -> tuple[str, ...]:
    return tuple(v for v in (value or "").split(",") if v.strip())


def _detail(state: CliState, detail: NoticeDetail) -> None:
    data = detail.as_json()
    if state.json:
        state.out(data)
        return
    nested = ("updates", "scope", "scope_tenants", "scope_regions", "moved", "body")
    record = {k: v for k, v in data.items() if k not in nested}
    record["scope"] = detail.notice.scope.words()
    text = fields(record)
    text += "\n\n" + detail.notice.body
    per_region = ", ".join(f"{r}: {n:,}" for r, n in detail.regions.items())
    text += f"\n\nSCOPE  {plural(len(detail.tenants), 'tenant')} ({per_region or '-'})"
    for moved in detail.moved:
        text += f"\n  {moved.words()}"
    text += "\n\nUPDATES\n" + table(
        [s.as_json() for s in detail.steps], ("at", "operator", "kind", "status", "text")
    )
    echo(text)


@notice.command("draft")
@click.option("--kind", required=True, help="maintenance, outage or change.")
@click.option(
    "--title", required=True, callback=TextLimit(NOTICE_TITLE), help=f"{NOTICE_TITLE.help}."
)
@click.option(
    "--body",
    required=True,
    callback=TextLimit(NOTICE_BODY),
    help=f"What happens and what clients should do, Markdown, {NOTICE_BODY.help}.",
)
@click.option("--from", "starts_at", callback=a_moment, help="When it starts (default: now).")
@click.option("--to", "ends_at", callback=a_moment, help="When it ends (none: open-ended).")
@click.option("--regions", help="The regions it affects, comma-separated.")
@click.option("--clusters", help="The clusters it affects, comma-separated.")
@click.option("--tenants", help="The tenants it affects, comma-separated.")
@click.option("--all", "everything", is_flag=True, help="Every tenant.")
@click.option(
    "--audience",
    default="representatives",
    show_default=True,
    help="Who is told: representatives (the tenants' contacts), users (read from the tenant"
    " databases when it is sent; a second operator approves) or both.",
)
@pass_state
def notice_draft(
    state: CliState,
    kind: str,
    title: str,
    body: str,
    starts_at: datetime | None,
    ends_at: datetime | None,
    regions: str | None,
    clusters: str | None,
    tenants: str | None,
    everything: bool,
    audience: str,
) -> None:
    """Write a notice; its scope is resolved now to the active and suspended tenants it names
    and stored with it (exit 2 if it names none: nothing is written). Give exactly one of
    --regions, --clusters, --tenants and --all."""
    from aptien_ops.services.op_notices import NoticeDraft

    given = NoticeDraft(
        kind,
        title,
        body,
        starts_at,
        ends_at,
        _names(regions),
        _names(clusters),
        _names(tenants),
        everything,
        audience,
    )
    detail = state.console().op_notices.draft(given)
    human = f"drafted {detail.id}: {plural(len(detail.tenants), 'tenant')} in scope"
    state.out(detail.as_json(), human)


@notice.command("list")
@click.option("--status", help="draft, scheduled, in-progress, resolved or cancelled.")
@click.option("--all", "everything", is_flag=True, help="Resolved and cancelled notices too.")
@pass_state
def notice_list(state: CliState, status: str | None, everything: bool) -> None:
    """Notices not resolved or cancelled, latest start first."""
    rows = state.console().op_notices.list(status=status, everything=everything)
    data = [r.as_json() for r in rows]
    columns = ("id", "kind", "status", "starts_at", "ends_at", "scope", "title")
    state.out(data, table(data, columns) + f"\n{plural(len(rows), 'notice')}")


@notice.command("show")
@click.argument("notice_id", metavar="ID")
@pass_state
def notice_show(state: CliState, notice_id: str) -> None:
    """One notice: its record, body, scope (per region, and who moved since) and updates."""
    _detail(state, state.console().op_notices.show(notice_id))


@notice.command("edit")
@click.argument("notice_id", metavar="ID")
@click.option("--title", callback=TextLimit(NOTICE_TITLE), help=f"{NOTICE_TITLE.help}.")
@click.option("--body", callback=TextLimit(NOTICE_BODY), help=f"Markdown, {NOTICE_BODY.help}.")
@click.option("--from", "starts_at", callback=a_moment, help="When it starts.")
@click.option("--to", "ends_at", callback=a_moment, help="When it ends.")
@click.option("--open-ended", is_flag=True, help="It has no end yet (an outage).")
@click.option("--window", metavar="FROM..TO", help="--from and --to in one.")
@pass_state
def notice_edit(
    state: CliState,
    notice_id: str,
    title: str | None,
    body: str | None,
    starts_at: datetime | None,
    ends_at: datetime | None,
    open_ended: bool,
    window: str | None,
) -> None:
    """Change a draft or scheduled notice's title, body or window (exit 5 once it is in
    progress, resolved or cancelled). What was sent stays sent; the status pages show the new
    text. A second operator's approval to tell its users is void after an edit: the next
    send or update asks again."""
    from aptien_ops.domain.incident_input import parse_window
    from aptien_ops.errors import InvalidInput
    from aptien_ops.services.op_notices import NoticeEdit

    if window is not None:
        if starts_at or ends_at or open_ended:
            raise InvalidInput("--window, or --from and --to (--open-ended), not both")
        starts_at, ends_at = parse_window(window)
    change = NoticeEdit(title, body, starts_at, ends_at, open_ended)
    detail = state.console().op_notices.edit(notice_id, change)
    state.out(detail.as_json(), f"edited {detail.id}: {detail.steps[-1].text}")


@notice.command("resolve")
@click.argument("notice_id", metavar="ID")
@click.option(
    "--text",
    callback=TextLimit(NOTICE_UPDATE_TEXT),
    help=f"A closing word, {NOTICE_UPDATE_TEXT.help}.",
)
@pass_state
def notice_resolve(state: CliState, notice_id: str, text: str | None) -> None:
    """Mark a notice resolved; an open-ended window ends now."""
    detail = state.console().op_notices.resolve(notice_id, text)
    state.out(detail.as_json(), f"resolved {detail.id}")


@notice.command("cancel")
@click.argument("notice_id", metavar="ID")
@reason_option("Why it is cancelled", kept="the notice's updates and the ops log")
@pass_state
def notice_cancel(state: CliState, notice_id: str, reason: str) -> None:
    """Cancel a notice that will not happen (or was drafted in error)."""
    detail = state.console().op_notices.cancel(notice_id, reason)
    state.out(detail.as_json(), f"cancelled {detail.id}")


def _sent_text(result: SendResult) -> str:
    regions = ", ".join(f"{r}: {n:,}" for r, n in result.regions.items())
    tenants = sum(result.regions.values())
    head = f"{result.notice_id}: {plural(tenants, 'tenant')} ({regions})"
    lines = [head + f", {plural(result.representatives, 'representative')} with an e-mail"]
    if result.users:
        lines[0] += f", {plural(result.users, 'user')}"
    if result.delivery is not None:
        d = result.delivery
        verb = "resumed" if result.resumed else "sent"
        lines.append(f"{verb} {d.subject} ({d.step.kind} {d.step.status})")
        lines += [
            f"  {c.channel}: {c.sent} sent, {c.pending} pending, {c.failed} failed"
            for c in d.channels
        ]
        lines += _failures(d)
    lines += [f"  note: {n}" for n in result.notes]
    if result.sample is not None:
        subject, body = result.sample
        lines += ["", f"Subject: {subject}", "", body.rstrip()]
    return "\n".join(lines)


def _failures(delivery: Delivery) -> list[str]:
    """``  failed email acme-gmbh/representative: 550 …`` per failed row listed."""
    return [
        f"  failed {r.channel} {shown(r.recipient)} after {plural(r.attempts, 'attempt')}:"
        f" {shown(r.reason or '')}"
        for r in delivery.failed
    ]


def _finish(state: CliState, result: SendResult) -> None:
    from aptien_ops.errors import Unavailable

    state.out(result.as_json(), _sent_text(result))
    if result.undelivered:
        raise Unavailable(
            f"notice {result.notice_id} is not delivered to everyone (pending or failed)",
            hint=f"aptien-ops notice deliveries {result.notice_id}; notice send again sends"
            " what is pending",
        )


def _progress(state: CliState) -> Callable[[str, int, int], None]:
    """Per channel, a bar rewritten in place on a terminal; elsewhere (a log, cron's mail) one
    line per tenth of the work and the last: ``email 10000/10000``, never one per e-mail."""
    return Steps(enabled=not state.json)


@notice.command("send")
@click.argument("notice_id", metavar="ID")
@click.option(
    "--channels",
    default="email,inapp",
    show_default=True,
    help="email, inapp (website may be named: every send rewrites the status pages; alone it"
    " is refused, exit 2).",
)
@click.option("--dry-run", is_flag=True, help="Counts per region and a rendered sample only.")
@click.option(
    "--enqueue",
    is_flag=True,
    help="Queue a job per region for its workers (a PostgreSQL catalog); returns at once.",
)
@pass_state
def notice_send(
    state: CliState, notice_id: str, channels: str, dry_run: bool, enqueue: bool
) -> None:
    """Send a drafted notice to its audience in the tenants of its stored scope, once each per
    channel: the representatives (the tenant's contact e-mail; in-app to the tenant's user
    with that address) and/or the tenants' users (read from their databases). Telling users
    needs a second operator: the first run records the request (exit 8), a security or admin
    operator approves it, then run it again. Run again after an interruption, it delivers only
    what is still pending. The status pages are rewritten after it. Exit 6 if some notice is
    not delivered (listed); exit 2 if the scope reaches nobody now. With --enqueue: the send
    is recorded, then a job per region delivers its tenants' part, run by that region's
    workers as you (exit 2 on a SQLite catalog)."""
    console = state.console()
    service = console.op_notice_sending
    if enqueue and not dry_run:
        from aptien_ops.cli.jobs import show_enqueued

        queue = console.jobs.queue("notice send --enqueue")
        show_enqueued(state, service.enqueue(notice_id, channels.split(","), queue))
        return
    result = service.send(
        notice_id, channels.split(","), dry_run=dry_run, progress=_progress(state)
    )
    _finish(state, result)


@notice.command("update")
@click.argument("notice_id", metavar="ID")
@click.option("--status", required=True, help="scheduled, in-progress or resolved.")
@click.option(
    "--text",
    required=True,
    callback=TextLimit(NOTICE_UPDATE_TEXT),
    help=f"What changed, {NOTICE_UPDATE_TEXT.help}.",
)
@pass_state
def notice_update(state: CliState, notice_id: str, status: str, text: str) -> None:
    """Record an update of a sent notice and send it to the same audience on the channels of
    the first send (once each); the status pages are rewritten. To users, it needs the
    approval of the notice as it is (after an edit: exit 8, a new request)."""
    service = state.console().op_notice_sending
    _finish(state, service.update(notice_id, status, text, progress=_progress(state)))


@notice.command("deliveries")
@click.argument("notice_id", metavar="ID")
@pass_state
def notice_deliveries(state: CliState, notice_id: str) -> None:
    """Each delivery of a notice (its send and updates) per channel: sent, pending, failed."""
    found = state.console().op_notice_sending.deliveries(notice_id)
    rows = [{**d.as_json(), "channel": c.channel, **c.as_json()} for d in found for c in d.channels]
    columns = ("update", "kind", "status", "at", "channel", "sent", "pending", "failed")
    text = table(rows, columns) + f"\n{plural(len(found), 'delivery', 'deliveries')}"
    for d in found:
        if d.failed:
            text += f"\nupdate {d.step.id} ({d.step.kind}):\n" + "\n".join(_failures(d))
    state.out([d.as_json() for d in found], text)


@notice.command("publish")
@pass_state
def notice_publish(state: CliState) -> None:
    """Write each region's status page into the website directory: status.html, status.json
    and status.atom, with the notices sent there that are scheduled or in progress and those
    finished within 90 days (drafts never). Run it after a send or an update (or from cron)."""
    published = state.console().op_notice_status.publish()
    counts = ", ".join(f"{r}: {n:,}" for r, n in published.regions.items())
    state.out(published.as_json(), f"status pages written ({counts})")
