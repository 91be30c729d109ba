"""The security policy in force: who approves what, for how long, retention, legal holds,
session limits. Shown to every operator; an admin requests a change (a second admin approves)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from rich.console import Group
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from aptien_ops.permissions import Action
from aptien_ops.screens.base import CLEAR_FILTER, FILTER, OpsScreen, highlighted_key, open_row
from aptien_ops.screens.columns import ColumnSpec, SpecGrid
from aptien_ops.screens.filter_bar import FilterBar
from aptien_ops.screens.formatting import plural
from aptien_ops.screens.lists import ListRow, ListTable
from aptien_ops.screens.modals import ReasonModal, RecordModal
from aptien_ops.services.doctor_results import MARKS, DoctorReport, Verdict
from aptien_ops.services.policy import PolicyView
from aptien_ops.terminal_text import shown

#: The key whole; its value takes the rest of the line (Enter shows it all).
COLUMNS = (
    ColumnSpec("Key", 10, essential=True),
    ColumnSpec("Value", 10, share=1, shrink=True),
)


class PolicyScreen(OpsScreen):
    """The policy as the console enforces it, one key a row."""

    MODE = "policy"
    TITLE = "Policy"
    NAV_KEY = "9"
    IN_TABS = False
    CSS_PATH = Path(__file__).with_name("policy.tcss")
    AUTO_FOCUS = "#policy-table"
    BINDINGS = [
        Binding(
            "e",
            "change",
            "Request change",
            tooltip="request a new value for the highlighted key (four-eyes)",
        ),
        Binding(
            "d",
            "doctor",
            "Run doctor",
            tooltip="check the install (aptien-ops doctor): each finding, a fix under a failure",
        ),
        Binding(
            "escape",
            "close_checks",
            "Close checks",
            show=False,
            tooltip="close the doctor's findings: back to the policy's detail",
        ),
        FILTER,
        CLEAR_FILTER,
        open_row("open the highlighted key: what it means and its whole value"),
    ]
    PERMISSIONS = {"change": Action.POLICY_SET, "doctor": Action.DOCTOR_RUN}

    def __init__(self) -> None:
        super().__init__()
        self.view: PolicyView | None = None

    def compose_body(self) -> ComposeResult:
        yield Static("loading…", id="policy-source")
        yield FilterBar(id="policy-filter")
        yield ListTable(COLUMNS, id="policy-table")
        yield Static(id="policy-detail")
        with VerticalScroll(id="policy-checks"):
            yield Static(id="policy-checks-list")
        yield Static(id="policy-note")

    def on_mount(self) -> None:
        checks = self.query_one("#policy-checks")
        checks.border_title = "Checks (aptien-ops doctor)"
        checks.display = False

    def refresh_data(self) -> None:
        self.load(self.console.policy.show, self._loaded)

    def _loaded(self, view: PolicyView) -> None:
        self.view = view
        self.query_one(ListTable).fill(
            ListRow(key, (key, Text(json.dumps(value))))
            for key, value in view.policy.as_json().items()
        )
        self._show_detail(self.selected())
        self.query_one("#policy-source", Static).update(
            Text(f"{view.mode} · the policy comes from the {view.source}")
        )
        if view.mode == "sandbox":
            note = "a sandbox's policy is its ops.toml: edit [security] and [tenants] there"
        elif self.ops.may(Action.POLICY_SET):
            who = self.ops.approvers_of(Action.POLICY_SET)
            note = f"e requests a change of the highlighted key; {who} approves it"
        else:
            who = self.ops.approvers_of(Action.POLICY_SET)
            note = f"changing the policy needs the admin role, then {who}'s approval"
        self.query_one("#policy-note", Static).update(Text(note, style="dim"))

    def refusal(self, action: str) -> str | None:
        sandbox = self.console.policy.sandbox_refusal() if action == "change" else None
        return sandbox.one_line() if sandbox is not None else super().refusal(action)

    @on(DataTable.RowHighlighted, "#policy-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail(self.selected())

    def _show_detail(self, key: str | None) -> None:
        detail = self.query_one("#policy-detail", Static)
        detail.update("" if key is None or self.view is None else _key_text(self.view, key))

    def selected(self) -> str | None:
        return highlighted_key(self.query_one(ListTable))

    def action_open_detail(self) -> None:
        key = self.selected()
        if key is None or self.view is None:
            self.notify("no key selected", severity="warning")
            return
        self.app.push_screen(RecordModal(f"Policy: {key}", _key_text(self.view, key)))

    def action_change(self) -> None:
        key = self.selected()
        if key is None or self.view is None:
            return
        if self.view.mode == "sandbox":
            self.notify("a sandbox's policy is its ops.toml: edit it there", severity="warning")
            return
        current = json.dumps(self.view.policy.as_json()[key])

        def set_value(value: str) -> Callable[[], object]:
            return lambda: self.console.policy.set(key, value)

        question = (
            f"New value for {key} ({self.view.describe(key)}); now {current}. "
            'JSON: a number, or a list such as ["acme-gmbh"].'
        )
        policy = self.view.policy
        self.app.push_screen(
            ReasonModal(
                question,
                title="Request a policy change",
                placeholder=current,
                check=lambda value: policy.with_value(key, value),  # refused in the dialog
            ).acting(self, set_value)
        )

    # -- the doctor ------------------------------------------------------------------------

    def action_doctor(self) -> None:
        checks = self.query_one("#policy-checks")
        checks.display = True
        self.query_one("#policy-detail").display = False  # room for the findings at 80x24
        self.query_one("#policy-checks-list", Static).update(
            Text("running the doctor: the catalog, each cluster, each backup store…", "dim")
        )
        self.plan(self.console.doctor.run, self._doctor_done)

    def action_close_checks(self) -> None:
        self.query_one("#policy-checks").display = False
        self.query_one("#policy-detail").display = True
        self.query_one(DataTable).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "close_checks":
            return self.query_one("#policy-checks").display
        return super().check_action(action, parameters)

    def _doctor_done(self, report: DoctorReport) -> None:
        self.query_one("#policy-checks-list", Static).update(doctor_text(report))
        failed = len(report.failed)
        summary = (
            f"{plural(failed, 'check')} of {len(report.findings)} failed"
            if failed
            else f"all {len(report.findings)} checks passed or do not apply"
        )
        checks = self.query_one("#policy-checks", VerticalScroll)
        checks.border_subtitle = f"{summary} · {report.recorded}"
        checks.focus()  # ↑↓ scroll the findings; Tab goes back to the policy


def doctor_text(report: DoctorReport) -> Group:
    """One row per finding (its mark, check and what was found), the fix under a failure;
    the findings' text escaped for the terminal. Long details wrap in their own column."""
    rows: list[tuple[Text, Text, Text]] = []
    for finding in report.findings:
        detail = Text(shown(finding.detail), "dim" if finding.ok else "")
        if finding.verdict is Verdict.FAIL and finding.fix:
            detail.append("\nfix: ", "bold")
            detail.append(shown(finding.fix))
        rows.append(
            (
                Text(MARKS[finding.verdict], VERDICT_STYLES[finding.verdict]),
                Text(shown(finding.check)),
                detail,
            )
        )
    grid = SpecGrid(DOCTOR_COLUMNS, rows, header=False, gap=1)
    if report.mode != "sandbox":
        return Group(grid)
    note = Text("a sandbox: only its catalog, clusters and backup stores are checked", "dim")
    return Group(note, grid)


#: The verdict's mark, the check (cut with ``…`` when narrow) and what was found, which
#: wraps; the extra width goes mostly to what was found.
DOCTOR_COLUMNS = (
    ColumnSpec("", 1),
    ColumnSpec("Check", 12, share=2, shrink=True),
    ColumnSpec("Found", 20, share=3, wrap=True),
)

#: A verdict's colour: a failure stands out, what was not checked is a question.
VERDICT_STYLES = {
    Verdict.PASS: "green",
    Verdict.FAIL: "bold red",
    Verdict.NOT_APPLICABLE: "dim",
    Verdict.NOT_CHECKED: "yellow",
}


def _key_text(view: PolicyView, key: str) -> Text:
    """A key of the policy: what it means, then its whole value."""
    text = Text()
    text.append(key, style="bold")
    text.append(f": {view.describe(key)}\n")
    text.append(json.dumps(view.policy.as_json()[key]), style="dim")
    return text
