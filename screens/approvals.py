"""Four-eyes requests: approve (after a confirmation) or reject (with a reason)."""

from __future__ import annotations

import json
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from aptien_ops.domain import Approval, ApprovalState
from aptien_ops.permissions import Action
from aptien_ops.screens.base import CLEAR_FILTER, FILTER, OpsScreen, highlighted_key, open_row
from aptien_ops.screens.filter_bar import FilterBar
from aptien_ops.screens.formatting import approval_state_text, minute, plain
from aptien_ops.screens.lists import ListRow, ListTable
from aptien_ops.screens.modals import ConfirmModal, ReasonModal, RecordModal
from aptien_ops.terminal_text import shown


class ApprovalsScreen(OpsScreen):
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

    def __init__(self) -> None:
        super().__init__()
        self.expired: set[int] = set()
        self.approvals: dict[int, Approval] = {}
        self.only_pending = True

    def compose_body(self) -> ComposeResult:
        yield Static(id="approvals-status")
        yield FilterBar(id="approvals-filter")
        yield ListTable(id="approvals-table")
        yield Static(id="approvals-detail")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, label in (
            ("id", "#"),
            ("action", "Action"),
            ("target", "Target"),
            ("by", "Requested by"),
            ("at", "Requested (UTC)"),
            ("state", "State"),
        ):
            table.add_column(label, key=key)

    def refresh_data(self) -> None:
        state = ApprovalState.PENDING if self.only_pending else None
        self.load(lambda: self._read(state), self._loaded)

    def _read(self, state: ApprovalState | None) -> tuple[list[Approval], set[int]]:
        """Runs in a worker: the requests, and which pending ones are past the policy's lifetime."""
        approvals = self.console.approvals.list(state)
        return approvals, {a.id for a in approvals if self.console.approvals.expired(a)}

    def _loaded(self, loaded: tuple[list[Approval], set[int]]) -> None:
        approvals, self.expired = loaded
        self.approvals = {a.id: a for a in approvals}
        self.query_one(ListTable).fill(
            ListRow(
                str(a.id),
                (
                    str(a.id),
                    plain(a.action),
                    plain(a.target),
                    plain(a.requested_by),
                    minute(a.requested_at),
                    approval_state_text("expired" if a.id in self.expired else a.state),
                ),
            )
            for a in sorted(approvals, key=lambda a: a.id, reverse=True)
        )
        n = len(approvals)
        shown = (
            f"{n} pending request{'s' if n != 1 else ''}"
            if self.only_pending
            else f"{n} request{'s' if n != 1 else ''} in all"
        )
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

    def _selected_pending(self) -> Approval | None:
        approval_id = self.selected()
        if approval_id is None:
            self.notify("no request selected", severity="warning")
            return None
        approval = self.approvals[approval_id]
        if approval.state != ApprovalState.PENDING:
            self.notify(f"request #{approval.id} is {approval.state} already", severity="warning")
            return None
        if approval.id in self.expired:
            self.notify(
                f"request #{approval.id} expired: it can no longer run; request it again",
                severity="warning",
            )
            return None
        return approval

    def action_toggle_state(self) -> None:
        self.only_pending = not self.only_pending
        self.refresh_data()

    def action_approve(self) -> None:
        approval = self._selected_pending()
        if approval is None:
            return
        approval_id = approval.id

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.change(
                    lambda: self.console.approvals.approve(approval_id),
                    lambda result: self.notify(
                        f"request #{approval_id} approved: {result.action} on {result.target} done",
                        title="Approved",
                    ),
                )

        question = (
            f"Approve request #{approval.id}: {approval.action} on {approval.target}, "
            f"requested by {approval.requested_by}? It runs at once."
        )
        self.app.push_screen(
            ConfirmModal(question, yes="Approve", title="Approve request"), confirmed
        )

    def action_reject(self) -> None:
        approval = self._selected_pending()
        if approval is None:
            return
        approval_id = approval.id

        def reasoned(reason: str | None) -> None:
            if reason:
                self.change(
                    lambda: self.console.approvals.reject(approval_id, reason),
                    lambda _: self.notify(f"request #{approval_id} rejected", title="Rejected"),
                )

        question = (
            f"Reject request #{approval.id}: {approval.action} on {approval.target}? "
            "Give the reason."
        )
        self.app.push_screen(
            ReasonModal(
                question, title="Reject request", placeholder="reason (kept in the ops log)"
            ),
            reasoned,
        )
