"""Four-eyes requests: approve (after a confirmation) or reject (with a reason)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from aptien_ops.domain import Approval, ApprovalState
from aptien_ops.permissions import Action
from aptien_ops.screens.base import (
    CLEAR_FILTER,
    FILTER,
    highlighted_key,
    open_row,
)
from aptien_ops.screens.columns import ColumnSpec
from aptien_ops.screens.filter_bar import FilterBar
from aptien_ops.screens.formatting import (
    approval_state_text,
    day,
    minute,
    plain,
    plural,
    short_minute,
)
from aptien_ops.screens.list_filter import CatalogFilteredScreen
from aptien_ops.screens.lists import ListRow, ListTable
from aptien_ops.screens.modals import ConfirmModal, ReasonModal, RecordModal
from aptien_ops.services.approvals import ApprovalDecision
from aptien_ops.services.lifecycle import PurgeScope
from aptien_ops.terminal_text import shown

#: Requests the table holds, newest first: DataTable measures every cell it is given.
WINDOW = 500
#: The state second: it is what an operator looks for, never cut. The target and who asked
#: take a wide terminal's extra width (the detail pane shows them whole).
COLUMNS = (
    ColumnSpec("#", 1, key="id"),
    ColumnSpec("State", 7, essential=True),
    ColumnSpec("Action", 10, share=1, shrink=True, most=32),
    ColumnSpec("Target", 8, share=3, shrink=True, essential=True),
    ColumnSpec("Requested by", 8, share=1, shrink=True, most=32, key="by"),
    ColumnSpec("When (UTC)", 11, key="at"),
)


@dataclass(frozen=True)
class ApprovalsView:
    """What the worker read and shaped for the table (:meth:`ApprovalsScreen._read`)."""

    approvals: list[Approval]
    expired: set[int]
    found: int
    """How many requests match (the window holds the newest ``WINDOW``)."""
    rows: list[ListRow]


def approval_row(approval: Approval, expired: bool) -> ListRow:
    """The table's row of one request, keyed by its id (the detail shows the target whole)."""
    a = approval
    return ListRow(
        str(a.id),
        (
            str(a.id),
            approval_state_text("expired" if expired else a.state),
            plain(a.action),
            plain(a.target),
            plain(a.requested_by),
            short_minute(a.requested_at),
        ),
    )


class ApprovalsScreen(CatalogFilteredScreen):
    """Requests waiting for (or decided by) a second operator."""

    MODE = "approvals"
    TITLE = "Approvals"
    NAV_KEY = "4"
    CSS_PATH = Path(__file__).with_name("approvals.tcss")
    AUTO_FOCUS = "#approvals-table"
    BINDINGS = [
        Binding("a", "approve", "Approve", tooltip="approve the highlighted request (asks first)"),
        Binding("x", "reject", "Reject", tooltip="reject it, with a reason"),
        Binding("f", "toggle_state", "Pending/all", tooltip="show pending requests only, or all"),
        FILTER,
        CLEAR_FILTER,
        open_row("open the highlighted request: its parameters and decision in full"),
    ]
    PERMISSIONS = {"approve": Action.APPROVAL_DECIDE, "reject": Action.APPROVAL_DECIDE}
    AUTO_REFRESH = True

    def __init__(self) -> None:
        super().__init__()
        self.expired: set[int] = set()
        self.approvals: dict[int, Approval] = {}
        self.only_pending = True

    def compose_body(self) -> ComposeResult:
        yield Static(id="approvals-status")
        yield FilterBar(id="approvals-filter")
        yield ListTable(COLUMNS, id="approvals-table")
        yield Static(id="approvals-detail")

    def refresh_data(self) -> None:
        state = ApprovalState.PENDING if self.only_pending else None
        needle = self.needle
        self.load(lambda: self._read(state, needle), self._loaded)

    def _read(self, state: ApprovalState | None, needle: str) -> ApprovalsView:
        """Runs in a worker: the newest ``WINDOW`` requests (newest first) holding ``needle``,
        which pending ones are past the policy's lifetime, how many there are in all, and the
        table's rows (made here: that work grows with the window)."""
        approvals = self.console.approvals.list(state, grep=needle or None)
        newest = sorted(approvals, key=lambda a: a.id, reverse=True)[:WINDOW]
        expired = {a.id for a in newest if self.console.approvals.expired(a)}
        rows = [approval_row(a, a.id in expired) for a in newest]
        return ApprovalsView(newest, expired, len(approvals), rows)

    def _loaded(self, view: ApprovalsView) -> None:
        approvals, self.expired, n = view.approvals, view.expired, view.found
        self.approvals, self.found = {a.id: a for a in approvals}, n
        self.query_one(ListTable).fill(view.rows)  # newest first, a chunk per frame
        shown = (
            f"{plural(n, 'pending request')}"
            if self.only_pending
            else f"{plural(n, 'request')} in all"
        )
        if self.needle:
            shown += " holding the filter"
        if n > len(approvals):
            shown += f", newest {len(approvals)} shown (approval list has all)"
        self.query_one("#approvals-status", Static).update(
            f"{shown} · f shows {'all' if self.only_pending else 'pending only'}"
        )
        self._show_detail(self.selected())

    def selected(self) -> int | None:
        key = highlighted_key(self.query_one(ListTable))
        return int(key) if key else None

    @on(DataTable.RowHighlighted, "#approvals-table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail(int(event.row_key.value) if event.row_key.value else None)
        self.refresh_bindings()  # Approve is not offered on one's own request

    def _show_detail(self, approval_id: int | None) -> None:
        detail = self.query_one("#approvals-detail", Static)
        approval = self.approvals.get(approval_id) if approval_id is not None else None
        if approval is None:
            detail.update(
                "Nothing is waiting for a decision." if self.only_pending else "No requests."
            )
            return
        detail.update(self._detail_text(approval))

    def action_open_detail(self) -> None:
        approval_id = self.selected()
        if approval_id is None:
            self.notify("no request selected", severity="warning")
            return
        approval = self.approvals[approval_id]
        self.app.push_screen(
            RecordModal(
                f"Request #{approval.id}",
                self._detail_text(approval),
                hint="a approves, x rejects (from the list)",
            )
        )

    def _detail_text(self, approval: Approval) -> Text:
        """The request in full: what, with which parameters, who asked, who decided and why."""
        text = Text()
        text.append(f"#{approval.id} {shown(approval.action)} → {shown(approval.target)}", "bold")
        text.append(f"\nparameters {shown(json.dumps(approval.params, sort_keys=True))}")
        text.append(
            f"\nrequested by {shown(approval.requested_by)} at {minute(approval.requested_at)} UTC"
        )
        if approval.decided_by:
            text.append(
                f"\n{approval.state} by {shown(approval.decided_by)}"
                f" at {minute(approval.decided_at)} UTC"
            )
            if approval.reason:
                text.append(f": {shown(approval.reason)}")
        return text

    def refusal(self, action: str) -> str | None:
        why = super().refusal(action)
        if why is not None or action not in ("approve", "reject"):
            return why
        approval_id = self.selected()
        if approval_id is None:
            return "no request selected"
        approval = self.approvals[approval_id]
        me = self.console.identity.operator
        if action == "reject" and approval.requested_by == me:
            # Withdrawing one's own pending request needs no approver role.
            if approval.state == ApprovalState.PENDING:
                return None
        refused = self.console.approvals.decision_refusal(approval, self.ops.roles or ())
        if refused is None and approval.id in self.expired:
            refused = self.console.approvals.expiry(approval)
        return None if refused is None else refused.one_line()

    def _selected_pending(self, action: str) -> Approval | None:
        """The highlighted request, or None after saying why ``action`` may not decide it
        (keys reach the action only when :meth:`refusal` allowed it)."""
        why = self.refusal(action)
        approval_id = self.selected()
        if why is not None or approval_id is None:
            self.notify(why or "no request selected", severity="warning")
            return None
        return self.approvals[approval_id]

    def after_change(self) -> None:
        # An approved grant or revocation may concern the operator's own roles.
        self.ops.refresh_roles()
        super().after_change()

    def action_toggle_state(self) -> None:
        self.only_pending = not self.only_pending
        self.refresh_data()

    def action_approve(self) -> None:
        approval = self._selected_pending("approve")
        if approval is None:
            return
        if approval.action == Action.TENANT_PURGE:
            # Restate what will be destroyed: read it first, apart from the screen's reloads.
            self.plan(
                lambda: self.console.lifecycle.purge_scope(approval.target),
                lambda scope: self._confirm_approval(approval, purge_restated(approval, scope)),
            )
        elif approval.action == Action.BREACH_NOTIFY:
            self._confirm_approval(
                approval,
                "Nothing is sent yet: the notices go out when they are sent from the incident's"
                " page (n) or by breach notify.",
            )
        else:
            self._confirm_approval(approval, "It runs at once.")

    def _confirm_approval(self, approval: Approval, consequences: str) -> None:
        approval_id, seen = approval.id, approval.version

        def approved(result: ApprovalDecision) -> None:
            self.notify(
                f"request #{approval_id} approved: {result.action} on {result.target} done",
                title="Approved",
            )

        question = (
            f"Approve request #{approval.id}: {approval.action} on {approval.target}, "
            f"requested by {approval.requested_by}? {consequences}"
        )
        self.app.push_screen(
            ConfirmModal(question, yes="Approve", title="Approve request").acting(
                self,
                lambda _yes: lambda: self.console.approvals.approve(approval_id, seen=seen),
                approved,
            )
        )

    def action_reject(self) -> None:
        approval = self._selected_pending("reject")
        if approval is None:
            return
        approval_id, seen = approval.id, approval.version

        def reject(reason: str) -> Callable[[], object]:
            return lambda: self.console.approvals.reject(approval_id, reason, seen=seen)

        question = (
            f"Reject request #{approval.id}: {approval.action} on {approval.target}? "
            "Give the reason."
        )
        self.app.push_screen(
            ReasonModal(
                question, title="Reject request", placeholder="reason (kept in the ops log)"
            ).acting(
                self,
                reject,
                lambda _: self.notify(f"request #{approval_id} rejected", title="Rejected"),
            )
        )


def purge_restated(approval: Approval, scope: PurgeScope) -> str:
    """What approving a purge destroys, for the operator to read before saying yes."""
    t = scope.tenant
    lines = [
        "It runs at once and cannot be undone. It destroys:",
        f"· tenant {t.name} ({t.country}), region {t.region}, cluster {t.cluster or '—'}:"
        " its database and owner role",
        f"· {plural(scope.backups, 'backup')} of it: unreadable for ever (its backup key goes)",
    ]
    early = approval.params.get("before_retention_end")
    if isinstance(early, str) and early:
        lines.append(f"Purged before its retention ends ({day(t.retain_until)}), because: {early}")
    elif t.retain_until is not None:
        lines.append(f"Its retention ended {day(t.retain_until)}.")
    return "\n".join(lines)
