"""Pure text of operational notices for the screens: the list's cells and summary, a notice's
heading, scope, updates and deliveries, a dry run's preview, the dashboard's card.

Titles, bodies, update texts and operators' names are other people's text: each reaches a
``Text`` through :func:`plain` / :func:`shown` only, never as markup.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from rich.text import Text

from aptien_ops.domain.op_notices import Notice, NoticeStep
from aptien_ops.screens.formatting import minute, plain, plural, short_minute
from aptien_ops.screens.incident_render import channel_line
from aptien_ops.services.op_notice_results import Delivery, NoticeDetail, SendResult
from aptien_ops.terminal_text import shown

#: A notice's status, coloured alike on every screen.
STATUS_STYLES = {
    "draft": "cyan",
    "scheduled": "yellow",
    "in-progress": "bold yellow",
    "resolved": "green",
    "cancelled": "dim",
}
#: Who a notice tells, in words.
AUDIENCE_WORDS = {
    "representatives": "the tenants' representatives",
    "users": "the tenants' users (four-eyes)",
    "both": "representatives and users (four-eyes)",
}
#: A notice's kind: an outage stands out.
KIND_STYLES = {"outage": "bold red", "maintenance": "", "change": ""}


def status_cell(status: str) -> Text:
    return Text(str(status), style=STATUS_STYLES.get(str(status), ""))


def kind_cell(kind: str) -> Text:
    return Text(str(kind), style=KIND_STYLES.get(str(kind), ""))


def window_words(starts: datetime, ends: datetime | None) -> str:
    """``2026-12-10 22:00 → 23:00 UTC``, ``… → 2026-12-11 01:00 UTC`` or ``… → open-ended``."""
    start = minute(starts)
    if ends is None:
        return f"{start} UTC → open-ended"
    end = minute(ends)
    same_day = end[:10] == start[:10]
    return f"{start} → {end[11:] if same_day else end} UTC"


#: A kind as the list's narrow column words it (the pane under it says it in full).
KIND_SHORT = {"maintenance": "maint."}


def list_cells(notice: Notice, tenants: int) -> tuple[Text | str, ...]:
    """Id, status, start, tenants in scope, kind, title (plain)."""
    kind = str(notice.kind)
    return (
        notice.id,
        status_cell(str(notice.status)),
        short_minute(notice.starts_at),
        Text(f"{tenants:,}", justify="right"),
        Text(KIND_SHORT.get(kind, kind), style=KIND_STYLES.get(kind, "")),
        plain(notice.title),
    )


def summary_text(notice: Notice, regions: dict[str, int] | None) -> Text:
    """The pane under the list: id and title; kind, status, window; the scope and its counts."""
    out = Text(f"{notice.id}  ", style="bold")
    out.append_text(plain(notice.title))
    out.append("\n")
    out.append_text(kind_cell(str(notice.kind)))
    out.append(" · ")
    out.append_text(status_cell(str(notice.status)))
    out.append(f" · {window_words(notice.starts_at, notice.ends_at)}")
    out.append(f"\nscope {shown(notice.scope.words(), width=40)}")
    if regions is not None:
        out.append(f": {scope_counts(regions)}")
    return out


def scope_counts(regions: dict[str, int]) -> str:
    """``3 tenants (eu: 2, us: 1)``."""
    per_region = ", ".join(f"{r}: {n:,}" for r, n in regions.items()) or "none"
    return f"{plural(sum(regions.values()), 'tenant')} ({per_region})"


def heading_text(detail: NoticeDetail) -> Text:
    """``NTC-2026-0001  Title`` and ``maintenance · scheduled · window``, then who drafted it."""
    n = detail.notice
    out = Text(f"{n.id}  ", style="bold")
    out.append_text(plain(n.title, style="bold"))
    out.append("\n")
    out.append_text(kind_cell(str(n.kind)))
    out.append(" · ")
    out.append_text(status_cell(str(n.status)))
    out.append(f" · {window_words(n.starts_at, n.ends_at)}")
    out.append(f"\ndrafted by {shown(n.created_by)} {minute(n.created_at)} UTC", style="dim")
    out.append(f" · audience: {AUDIENCE_WORDS.get(str(n.audience), n.audience)}", style="dim")
    return out


def body_text(notice: Notice) -> Text:
    """The body as written (Markdown shown as text, line breaks kept)."""
    return plain(notice.body, multiline=True)


def scope_text(detail: NoticeDetail) -> Text:
    """As stored at draft: the scope asked, tenants per region and per cluster, and the tenants
    that moved or are gone since (the stored scope wins)."""
    out = Text(f"{shown(detail.notice.scope.words())}\n")
    out.append(f"{scope_counts(detail.regions)}, stored at draft")
    clusters = Counter(t.cluster or "-" for t in detail.tenants)
    if clusters:
        per_cluster = ", ".join(f"{shown(c)}: {n:,}" for c, n in sorted(clusters.items()))
        out.append(f"\nper cluster: {per_cluster}", style="dim")
    for moved in detail.moved:
        out.append(f"\n{shown(moved.words())}", style="yellow" if moved.reached else "dim")
    return out


def updates_text(steps: Sequence[NoticeStep]) -> Text:
    """``2026-12-10 22:00  olga  sent  scheduled  text`` per step, oldest first."""
    out = Text()
    for n, s in enumerate(steps):
        out.append("\n" if n else "")
        out.append(f"{minute(s.at)}  ")
        out.append_text(plain(s.operator, width=12))
        out.append(f"  {s.kind}  ")
        out.append_text(status_cell(str(s.status)))
        if s.text:
            out.append("  ")
            out.append_text(plain(s.text, style="italic"))
    return out if steps else Text("No updates.", style="dim")


def deliveries_text(deliveries: Sequence[Delivery] | None) -> Text:
    """Each delivery (the send, then each update) with its counts per channel."""
    if deliveries is None:
        return Text("loading…", style="dim")
    if not deliveries:
        return Text("Not sent yet (s sends it).", style="dim")
    out = Text()
    for n, d in enumerate(deliveries):
        out.append("\n" if n else "")
        out.append(f"{minute(d.step.at)}  {d.step.kind} ({d.step.status})", style="bold")
        if not d.channels:
            out.append("\n  nothing to deliver", style="dim")
        for c in d.channels:
            out.append("\n  ")
            out.append_text(channel_line(c))
        for row in d.failed[:FAILED_LINES]:
            out.append(f"\n  ✗ {row.channel} ", style="red")
            out.append_text(plain(row.recipient, width=40))
            out.append(f" ({plural(row.attempts, 'attempt')}): ", style="dim")
            out.append_text(plain(row.reason or "failed", style="red", width=60))
        more = sum(c.failed for c in d.channels) - min(len(d.failed), FAILED_LINES)
        if d.failed and more > 0:
            out.append(f"\n  … and {more:,} more: aptien-ops notice deliveries", style="dim")
    return out


#: Failed recipients a delivery lists on the page (the recipient's key, never an address).
FAILED_LINES = 10
#: Lines of the rendered sample a dry run's preview shows (the rest: ``notice send --dry-run``).
SAMPLE_LINES = 6


def preview_text(plan: SendResult) -> Text:
    """A dry run: tenants per region, representatives with an e-mail, the notes, the sample."""
    tenants = sum(plan.regions.values())
    out = Text(f"{plan.notice_id}: ", style="bold")
    out.append(f"{scope_counts(plan.regions)} · ")
    out.append(plural(plan.representatives, "representative") + " with an e-mail")
    if plan.audience != "representatives":
        out.append(f"\naudience: {AUDIENCE_WORDS.get(plan.audience, plan.audience)}: ")
        if plan.users_approved:
            out.append("approved (four-eyes); Send sends now", style="green")
        else:
            who = plan.approvers or "another admin"
            out.append(
                f"a request first; once {who} approves on Approvals (4), s here sends",
                style="yellow",
            )
    for region, count in plan.regions.items():
        out.append(f"\n  {shown(region)}: {plural(count, 'tenant')}")
    if plan.notes:
        out.append(f"\n{plural(len(plan.notes), 'note')}: ", style="yellow")
        out.append_text(plain(plan.notes[0], style="yellow", width=60))
        if len(plan.notes) > 1:
            out.append(f" (and {len(plan.notes) - 1:,} more)", style="dim")
    if plan.sample is not None:
        subject, body = plan.sample
        out.append("\nsubject: ")
        out.append_text(plain(subject, style="italic"))
        lines = [line for line in body.splitlines() if line.strip()][:SAMPLE_LINES]
        for line in lines:
            out.append("\n  ")
            out.append_text(plain(line, style="dim", width=70))
    if not tenants:
        out.append("\nNobody would be told.", style="red")
    return out


#: Notices the dashboard's card lists; the rest are counted.
CARD_SHOWN = 3


def card_text(notices: Sequence[Notice], region: str | None = None) -> Text:
    """In progress first, then the soonest scheduled: a line each (status, start, kind, title);
    ``region``: the region filter they were chosen by, said when there is none."""
    if not notices:
        return Text(f"No notice in progress or scheduled{f' in {region}' if region else ''}.")
    ordered = sorted(notices, key=lambda n: (str(n.status) != "in-progress", n.starts_at, n.id))
    out = Text()
    for i, n in enumerate(ordered[:CARD_SHOWN]):
        out.append("\n" if i else "")
        out.append_text(status_cell(str(n.status)))
        out.append(f" {short_minute(n.starts_at)} ")
        out.append_text(kind_cell(str(n.kind)))
        out.append(" ")
        out.append_text(plain(n.title, width=40))
    more = len(ordered) - CARD_SHOWN
    if more > 0:
        out.append(f"\n… and {more:,} more", style="dim")
    out.append(" (press N)", style="dim")
    return out
