"""The text of a tenant's Overview tab: its summary, provisioning steps, state history and the
note under them. Pure functions of the service's :class:`TenantDetail`: no widgets, no I/O."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text

from aptien_ops.domain import Approval
from aptien_ops.errors import OpsError
from aptien_ops.permissions import Offer
from aptien_ops.regions import country_for
from aptien_ops.screens.formatting import (
    day,
    minute,
    role_choice,
    short_minute,
    size,
    step_mark,
    tenant_contact,
    tenant_heading,
    tenant_state_text,
)
from aptien_ops.services.provisioning import STEPS
from aptien_ops.services.tenants import TenantDetail
from aptien_ops.terminal_text import shown


def country(code: str) -> str:
    try:
        return f"{code} {country_for(code).name}"
    except OpsError:
        return code  # a code later withdrawn from ISO 3166 still shows


def summary_text(d: TenantDetail) -> Text:
    """What the tenant is: heading, placement, schema, size, dates, contact, retention."""
    t = d.tenant
    text = tenant_heading(t)
    text.append(f"\ncountry {country(t.country)} · region {t.region} · cluster {t.cluster or '—'}")
    schema = f"v{t.schema_version}" if t.schema_version is not None else "none"
    shown_size = size(d.size_bytes) if not d.size_error else "unknown (cluster not reachable)"
    text.append(
        f"\nschema {schema} · size {shown_size} · created {day(t.created_at)}"
        f" · updated {day(t.updated_at)}"
    )
    text.append("\n")
    text.append_text(tenant_contact(t))
    if t.purged_at:
        text.append(
            f"\npurged {day(t.purged_at)}: database, role and backup key gone;"
            " this tombstone stays",
            style="dim",
        )
    elif t.retain_until:
        text.append(f"\nretained until {day(t.retain_until)}; purgeable after that", style="yellow")
    return text


def steps_text(d: TenantDetail) -> Text:
    """Every provisioning step, done (when) or pending."""
    done = {s.step: s for s in d.steps}
    text = Text()
    for n, step in enumerate(STEPS):
        if n:
            text.append("\n")
        if step in done:
            text.append_text(step_mark("done"))
            text.append(f"{step:<17}")
            text.append(short_minute(done[step].done_at), style="dim")
        else:
            text.append_text(step_mark("pending"))
            text.append(step, style="dim")
    return text


def history_text(d: TenantDetail) -> Text:
    """The state history, newest first: who changed what, and why."""
    text = Text()
    for n, entry in enumerate(reversed(d.timeline())):
        if n:
            text.append("\n")
        text.append(f"{minute(entry.at)} ", style="dim")
        if entry.request is not None:  # who asked for a four-eyes action, who decided
            text.append(shown(entry.what), style="bold")
        else:
            before, arrow, after = entry.what.rpartition(" → ")
            text.append(f"{before}{arrow}")
            text.append_text(tenant_state_text(after))
        text.append(
            f"\n  by {shown(entry.operator)}"
            + (f": {shown(entry.reason)}" if entry.reason else ""),
            style="dim",
        )
    return text or Text("no state changes recorded", style="dim")


def note_text(pending_purges: Iterable[Approval], offers: list[Offer]) -> Text:
    """The purge requests waiting, and why lifecycle actions are not offered (if they are not)."""
    text = Text()
    for approval in pending_purges:
        text.append(
            f"purge request #{approval.id} by {shown(approval.requested_by)}"
            f" {short_minute(approval.requested_at)} "
            "awaits a second admin (4 Approvals)\n",
            style="bold yellow",
        )
    if any(o.read_only for o in offers):
        text.append("read-only: lifecycle actions are not offered", style="dim")
    elif not any(o.allowed for o in offers):
        needs = role_choice(r for o in offers for r in o.needs)
        text.append(f"changing a tenant needs the {needs} role", style="dim")
    return text
