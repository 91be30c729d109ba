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
from aptien_ops.screens.base import OpsScreen, highlighted_key
from aptien_ops.screens.formatting import approval_state_text, minute, plain
from aptien_ops.screens.modals import ConfirmModal, ReasonModal
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
    ]
    PERMISSIONS = {"approve": Action.APPROVAL_DECIDE, "reject": Action.APPROVAL_DECIDE}

    def __init__(self) -> None:
        super().__init__()
        self.expired: set[int] = set()
        self.approvals: dict[int, Approval] = {}
        self.only_pending = True

    def compose_body(self) -> ComposeResult:
        yield Static(id="approvals-status")
        yield DataTable(id="approvals-table", cursor_type="row", zebra_stripes=True)
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
        table = self.query_one(DataTable)
        keep = self.selected()
        table.clear()
        for a in sorted(approvals, key=lambda a: a.id, reverse=True):
            table.add_row(
                str(a.id),
                plain(a.action),
                plain(a.target),
                plain(a.requested_by),
                minute(a.requested_at),
                approval_state_text("expired" if a.id in self.expired else a.state),
                key=str(a.id),
            )
        if keep is not None and keep in self.approvals:
            table.move_cursor(row=table.get_row_index(str(keep)))
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
        key = highlighted_key(self.query_one(DataTable))
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
        detail.update(text)

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
