"""The ops log: newest entries first, ``v`` to verify the whole chain and ``w`` to check it
against its witnesses outside the catalog too (the event log, the stores' checkpoints)."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from aptien_ops.domain import OpsLogEntry
from aptien_ops.errors import IntegrityFailure, OpsError
from aptien_ops.opslog import VerifyReport
from aptien_ops.permissions import Action
from aptien_ops.screens.base import OpsScreen, highlighted_key
from aptien_ops.screens.formatting import count, outcome_text, plain, short_minute
from aptien_ops.services.opslog_service import Witnesses
from aptien_ops.terminal_text import shown

#: How many of the newest entries the table holds (the CLI pages further back).
NEWEST = 200


class OpsLogScreen(OpsScreen):
    """Every operator action and denial, as the tamper-evident log recorded it."""

    MODE = "opslog"
    TITLE = "Ops log"
    NAV_KEY = "5"
    CSS_PATH = Path(__file__).with_name("opslog.tcss")
    AUTO_FOCUS = "#opslog-table"
    BINDINGS = [
        Binding(
            "v", "verify", "Verify chain", tooltip="check every entry's HMAC and the signed head"
        ),
        Binding(
            "w",
            "verify_witnessed",
            "With witnesses",
            tooltip="also check the event log and the backup stores' checkpoints: a wiped,"
            " truncated or rolled-back log is named",
        ),
    ]
    PERMISSIONS = {"verify": Action.OPSLOG_VERIFY, "verify_witnessed": Action.OPSLOG_VERIFY}

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[int, OpsLogEntry] = {}

    def compose_body(self) -> ComposeResult:
        yield Static(id="opslog-verify")
        yield DataTable(id="opslog-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="opslog-detail")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        # Target last: it is the column a narrow terminal may cut, and the detail pane repeats it.
        for key, label in (
            ("seq", "#"),
            ("at", "Time (UTC)"),
            ("operator", "Operator"),
            ("action", "Action"),
            ("outcome", "Outcome"),
            ("target", "Target"),
        ):
            table.add_column(label, key=key)
        self.query_one("#opslog-verify", Static).update(
            "v verifies the whole chain (HMAC and signed head)"
        )

    def refresh_data(self) -> None:
        if self.ops.roles is None:
            return  # roles still loading; this runs again when they arrive
        offer = self.ops.offer(Action.OPSLOG_VIEW)
        if not offer.allowed:
            # Not asking the service spares the log a denial entry for merely opening the tab.
            needed = " or ".join(offer.needs)
            self.query_one("#opslog-detail", Static).update(
                f"The ops log is shown to the {needed} roles only."
            )
            return
        self.load(lambda: self.console.opslog.list(NEWEST), self._loaded)

    def _loaded(self, entries: list[OpsLogEntry]) -> None:
        self.entries = {e.seq: e for e in entries}
        table = self.query_one(DataTable)
        table.clear()
        for e in entries:
            table.add_row(
                str(e.seq),
                short_minute(e.logged_at),
                plain(e.operator),
                e.action,
                outcome_text(e.outcome),
                plain(e.target, width=self.room(64, least=16)),  # the detail shows it all
                key=str(e.seq),
            )
        key = highlighted_key(table)
        self._show_detail(int(key or 0) if entries else None)

    @on(DataTable.RowHighlighted, "#opslog-table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail(int(event.row_key.value) if event.row_key.value else None)

    def _show_detail(self, seq: int | None) -> None:
        detail = self.query_one("#opslog-detail", Static)
        entry = self.entries.get(seq) if seq is not None else None
        if entry is None:
            detail.update("")
            return
        text = Text()
        text.append(f"#{entry.seq} {shown(entry.action)} {shown(entry.target)} → ", style="bold")
        text.append_text(outcome_text(entry.outcome))
        who = (
            entry.operator
            if entry.operator == entry.os_account
            else f"{entry.operator} (OS account {entry.os_account})"
        )
        text.append(f"\nat {entry.at} by {shown(who)} from {shown(entry.ssh_origin or 'local')}")
        if entry.approval_id is not None:
            text.append(f" · approval #{entry.approval_id}")
        text.append(f"\nparameters {shown(entry.params)}", style="dim")
        detail.update(text)

    # -- verify ----------------------------------------------------------------------------

    def action_verify(self) -> None:
        self.query_one("#opslog-verify", Static).update(
            Text("verifying the chain…", style="yellow")
        )
        self.change(self.console.opslog.verify, self._verified)

    def action_verify_witnessed(self) -> None:
        self.query_one("#opslog-verify", Static).update(
            Text("verifying the chain against the event log and the stores…", style="yellow")
        )
        witnesses = Witnesses((self.console.settings.logging.file,), store=True)
        self.change(lambda: self.console.opslog.verify(witnesses), self._verified)

    def _verified(self, report: VerifyReport) -> None:
        intact = f"✓ ops log intact: {count(report.entries)} entries"
        text = Text(f"{intact}, signed head at #{report.head_seq}", style="bold green")
        witness = report.witness
        if witness is not None:
            text.append(f"; witnesses agree up to #{witness.highest_seq}", style="bold green")
            if witness.untrusted:
                first = shown(witness.untrusted[0])
                text.append(f"\n{len(witness.untrusted)} not trusted: {first}", style="bold yellow")
        self.query_one("#opslog-verify", Static).update(text)

    def service_refused(self, error: OpsError) -> None:
        if isinstance(error, IntegrityFailure):
            # Shown where the operator is looking, in red, naming the entry; not as a toast.
            self.query_one("#opslog-verify", Static).update(
                Text(f"✗ integrity failure: {error.one_line()}", style="bold red")
            )
            return
        super().service_refused(error)
