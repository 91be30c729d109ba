"""What the Logins and Audit tabs show: columns, the filter fields (the CLI's own options), the
detail of one event, and why an operator without ``security`` sees none of it.

Metadata only: an audit event has a payload *size* and no payload field at all (the readers
never select one), so nothing here could show a payload even by mistake.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from rich.text import Text

from aptien_ops.domain import AuditEvent, LoginEvent
from aptien_ops.inspect_query import AuditFilters, LoginFilters
from aptien_ops.screens.event_table import Column
from aptien_ops.screens.formatting import count, role_list
from aptien_ops.terminal_text import shown

#: Shown instead of any login or audit data to an operator without the security role.
NEEDS_SECURITY = (
    "Login and audit metadata contain personal data (emails, IPs); "
    "viewing them needs the security role."
)


def needs_security(roles: frozenset[str] | None, *, what: str) -> Text:
    """The explanation under ``what`` (the screen or tab), with the operator's roles."""
    text = Text()
    text.append(what, style="bold underline")
    text.append("\n\n")
    text.append(NEEDS_SECURITY, style="bold")
    text.append(
        f"\n\nYour roles: {role_list(roles or ())}. An admin grants security "
        "(3 Operators); nothing was read and nothing was logged."
    )
    return text


@dataclass(frozen=True)
class FilterField:
    """One box of the filter bar: the filter's name, as the CLI spells the option, and its width."""

    name: str
    placeholder: str
    width: int  # 0: takes the room left
    short: str = ""
    """The placeholder when the bar is narrower than the boxes' widths (60 columns)."""


#: The least the box that takes the room left is given before every box is narrowed.
FLEX_LEAST = 16


def filter_widths(fields: Sequence[FilterField], room: int) -> tuple[list[int | str], bool]:
    """Each box's width in a bar of ``room`` cells (each box has a 1-cell margin), and whether
    the boxes were narrowed: their own widths, the rest to the one without, while that leaves
    it ``FLEX_LEAST``; else every box gets a share of the room in proportion to its width, so
    that all stay on screen (at 60 columns the e-mail box got one cell, the switch was cut)."""
    wanted = sum(f.width for f in fields) + len(fields) + FLEX_LEAST
    if wanted <= room:
        return [f.width or "1fr" for f in fields], False
    return [f"{f.width or FLEX_LEAST}fr" for f in fields], True


@dataclass(frozen=True)
class EventKind:
    """Everything kind-specific about one tab."""

    kind: str
    title: str
    columns: tuple[Column, ...]
    fields: tuple[FilterField, ...]
    filters: Callable[[Mapping[str, str], bool], LoginFilters | AuditFilters]
    detail: Callable[[object], Text]
    alert: Callable[[object], bool]
    has_failed_switch: bool


def when(at: datetime) -> str:
    """``03-14 09:12`` (UTC) for a table cell."""
    return at.astimezone(UTC).strftime("%m-%d %H:%M")


def exact(at: datetime) -> str:
    """``2025-03-14 09:12:03 UTC`` for the detail pane."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def shown_result(result: str) -> str:
    """``success``, or ``✗ bad_password`` for ``failure:bad_password``."""
    return result if result == "success" else "✗ " + result.removeprefix("failure:")


def payload_size(n: int) -> str:
    return f"{count(n)} B"


#: What the status line says when no filter is applied.
NO_FILTER = "all time, no filter"


def applied(filters: LoginFilters | AuditFilters) -> str:
    """The filters a page was read with, as the status line says them: ``all time`` when
    none is, else ``since 7d · user a@b.example · failed only`` (values escaped)."""
    parts = []
    for field in dataclasses.fields(filters):
        value = getattr(filters, field.name)
        if field.name == "failed":
            parts += ["failed only"] if value else []
        elif value:
            parts.append(f"{field.name} {shown(str(value))}")
    return " · ".join(parts) or NO_FILTER


def _value(values: Mapping[str, str], name: str) -> str | None:
    return values.get(name, "").strip() or None


def _login_filters(values: Mapping[str, str], failed: bool) -> LoginFilters:
    return LoginFilters(
        since=_value(values, "since"),
        until=_value(values, "until"),
        user=_value(values, "user"),
        ip=_value(values, "ip"),
        failed=failed,
        result=_value(values, "result"),
    )


def _audit_filters(values: Mapping[str, str], failed: bool) -> AuditFilters:
    return AuditFilters(
        since=_value(values, "since"),
        until=_value(values, "until"),
        actor=_value(values, "actor"),
        action=_value(values, "action"),
        datasheet=_value(values, "datasheet"),
        record=_value(values, "record"),
    )


def _login_detail(row: object) -> Text:
    assert isinstance(row, LoginEvent)
    ok = row.result == "success"
    text = Text()
    text.append(exact(row.at), style="bold")
    text.append(f" · login #{row.id} · ")
    text.append(shown(row.result), style="green" if ok else "bold red")
    text.append(f" · method {shown(row.method)}")
    text.append("\nuser ", style="dim")
    text.append(shown(row.user_email))
    text.append("  from ", style="dim")
    text.append(shown(row.ip))
    text.append("\nagent ", style="dim")
    text.append(shown(row.user_agent))
    return text


def _audit_detail(row: object) -> Text:
    assert isinstance(row, AuditEvent)
    text = Text()
    text.append(exact(row.at), style="bold")
    text.append(f" · audit #{row.id} · ")
    text.append(shown(row.action), style="bold")
    text.append(f" {shown(row.datasheet)} record {shown(row.record_id)}")
    text.append("\nactor ", style="dim")
    text.append(shown(row.actor))
    text.append("  key ", style="dim")
    text.append(shown(row.key_id))
    text.append("\nsealed size ", style="dim")
    text.append(f"{count(row.payload_size)} bytes", style="bold")
    text.append(
        ", sealed with the tenant's key: the console reads its size, never its content", style="dim"
    )
    return text


LOGINS = EventKind(
    kind="logins",
    title="Logins",
    columns=(
        Column("When (UTC)", 11, value=lambda r: when(r.at)),
        Column("User", 10, share=3, shrink=True, essential=True, value=lambda r: r.user_email),
        # Room for a whole IPv6 address on a wide terminal; an IPv4 one at 80 columns.
        Column("IP", 15, share=2, shrink=True, most=39, value=lambda r: r.ip),
        Column(
            "Result",
            10,
            share=2,
            shrink=True,
            most=14,
            essential=True,
            value=lambda r: shown_result(r.result),
        ),
        Column("Method", 6, shrink=True, value=lambda r: r.method),
    ),
    fields=(
        FilterField("since", "since: all", 10, "since"),
        FilterField("until", "until", 10),
        FilterField("user", "user e-mail", 0, "user"),
        FilterField("ip", "ip", 14),
        FilterField("result", "result", 12),
    ),
    filters=_login_filters,
    detail=_login_detail,
    alert=lambda r: isinstance(r, LoginEvent) and r.result != "success",
    has_failed_switch=True,
)

AUDIT = EventKind(
    kind="audit",
    title="Audit",
    columns=(
        Column("When (UTC)", 11, value=lambda r: when(r.at)),
        Column("Actor", 10, share=3, shrink=True, essential=True, value=lambda r: r.actor),
        Column("Action", 7, share=1, shrink=True, most=12, value=lambda r: r.action),
        Column("Datasheet", 8, share=1, shrink=True, most=16, value=lambda r: r.datasheet),
        Column("Record", 8, share=1, shrink=True, most=24, value=lambda r: r.record_id),
        Column("Size", 8, value=lambda r: payload_size(r.payload_size)),
    ),
    fields=(
        FilterField("since", "since: all", 10, "since"),
        FilterField("until", "until", 10),
        FilterField("actor", "actor e-mail", 0, "actor"),
        FilterField("action", "action", 9),
        FilterField("datasheet", "datasheet", 11, "sheet"),
        FilterField("record", "record id", 11, "record"),
    ),
    filters=_audit_filters,
    detail=_audit_detail,
    alert=lambda r: False,
    has_failed_switch=False,
)
