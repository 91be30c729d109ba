"""How the screens print values: short, UTC, the same on every screen, and data never raw.

States are coloured here and nowhere else, so a state reads the same on every screen: green is
well, yellow wants attention soon, red needs an operator, dim is over.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from rich.text import Text

from aptien_ops.domain import Tenant
from aptien_ops.permissions import ROLES
from aptien_ops.terminal_text import shown
from aptien_ops.wording import count as count  # one helper for CLI and TUI
from aptien_ops.wording import plural as plural

#: A tenant's state (tenants, a tenant's detail and history, find user).
TENANT_STATE_STYLES = {
    "active": "green",
    "suspended": "yellow",
    "provisioning": "cyan",
    "cancelled": "red",
    "purged": "dim",
}
#: A four-eyes request's state.
APPROVAL_STATE_STYLES = {
    "pending": "bold yellow",
    "approved": "green",
    "rejected": "red",
    "failed": "red",
    "expired": "dim",
}
#: A backup's status: failed and missing both need an operator.
BACKUP_STATUS_STYLES = {
    "verified": "green",
    "unverified": "yellow",
    "failed": "bold red",
    "missing": "bold red",
    "pruned": "dim",
}
#: Mark and style of a provisioning step by its status (the live list and a tenant's detail).
STEP_MARKS = {
    "pending": ("·", "dim"),
    "start": ("▸", "bold yellow"),
    "done": ("✓", "green"),
    "skip": ("✓", "dim green"),
    "failed": ("✗", "bold red"),
}


def plain(
    value: object, style: str = "", *, width: int | None = None, multiline: bool = False
) -> Text:
    """A field's value (a client's, a stranger's, another operator's text) for a table cell or
    a ``Static``: controls and bidi characters escaped (:mod:`aptien_ops.terminal_text`), and a
    ``Text``, so a widget never parses it as markup. ``width`` cuts it (with an ellipsis);
    ``multiline`` keeps line feeds (a message that quotes data). Append a field to a ``Text``
    with ``text.append(shown(value))``."""
    return Text(shown(value, width=width, multiline=multiline), style=style)


def day(value: datetime | None) -> str:
    """``2026-01-31`` (UTC; a naive time is taken as UTC), or an empty string."""
    return "" if value is None else _utc(value).strftime("%Y-%m-%d")


def minute(value: datetime | None) -> str:
    """``2026-01-31 23:59`` (UTC; a naive time is taken as UTC), or an empty string."""
    return "" if value is None else _utc(value).strftime("%Y-%m-%d %H:%M")


def short_minute(value: datetime | None) -> str:
    """``01-31 23:59`` (UTC): for tables at 80 columns, beside a detail pane with the full time."""
    return minute(value)[5:]


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def role_list(roles: Iterable[str]) -> str:
    """Roles in the matrix's order (viewer … admin), comma separated; ``none`` when empty."""
    return ", ".join(_matrix_order(roles)) or "none"


def role_choice(roles: Iterable[str]) -> str:
    """``operator or admin``: any one of ``roles`` will do, in the matrix's order."""
    return " or ".join(_matrix_order(roles))


def _matrix_order(roles: Iterable[str]) -> list[str]:
    held = set(roles)
    return [r for r in ROLES if r in held] + sorted(held - set(ROLES))


def size(n: int | None) -> str:
    """``77.8 kB``: a database size in SI units, or ``unknown``."""
    if n is None:
        return "unknown"
    if n < 1000:
        return f"{n} B"
    value = float(n)
    for unit in ("kB", "MB", "GB"):
        value /= 1000
        if value < 1000:
            return f"{value:.1f} {unit}"
    return f"{value / 1000:.1f} TB"


def tenant_state_text(state: str) -> Text:
    """A tenant's state, coloured alike on every screen; an unknown state is shown plain."""
    return Text(str(state), style=TENANT_STATE_STYLES.get(state, ""))


def tenant_heading(tenant: Tenant) -> Text:
    """``acme-gmbh  suspended — invoice unpaid``: the name in bold, the state in its colour and
    the reason given for it (the tenants list's detail, a tenant's own screen)."""
    text = Text()
    text.append(tenant.name, style="bold")
    text.append("  ")
    text.append_text(tenant_state_text(tenant.state))
    if tenant.state_reason:
        text.append(f" — {shown(tenant.state_reason)}")
    return text


def tenant_contact(tenant: Tenant) -> Text:
    """``contact Greta Vogel <greta@acme.example> · +49 30 1234 · ACME GmbH``: the client's
    representative and company, each value escaped (:func:`plain`); a dash for a name not
    given, nothing for a phone or company not given."""
    text = Text("contact ")
    text.append_text(plain(tenant.contact_name or "—"))
    if tenant.contact_email:
        text.append(" <")
        text.append_text(plain(tenant.contact_email))
        text.append(">")
    for label, value in (("phone", tenant.contact_phone), ("company", tenant.company)):
        if value:
            text.append(f" · {label} ", style="dim")
            text.append_text(plain(value))
    return text


def approval_state_text(state: str) -> Text:
    """A four-eyes request's state: pending stands out until someone decides it."""
    return Text(str(state), style=APPROVAL_STATE_STYLES.get(state, ""))


def backup_status_text(status: str) -> Text:
    """A backup's status: red for what an operator must look at (failed, missing)."""
    return Text(str(status), style=BACKUP_STATUS_STYLES.get(status, ""))


def outcome_text(outcome: str) -> Text:
    """An ops-log outcome: ``ok`` green, ``pending`` yellow, anything else (denied,
    ``failed:<code>``) bold red."""
    if outcome == "ok":
        return Text(outcome, style="green")
    if outcome == "pending":
        return Text(outcome, style="yellow")
    return Text(outcome, style="bold red")


def step_mark(status: str) -> Text:
    """``✓ `` and its colour: a provisioning step's mark by its status, then a space."""
    mark, style = STEP_MARKS[status]
    return Text(f"{mark} ", style=style)
