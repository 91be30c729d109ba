"""The security policy in force: who approves what, for how long, retention, legal holds,
session limits. Shown to every operator; an admin requests a change (a second admin approves)."""

from __future__ import annotations

import json
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from aptien_ops.permissions import Action
from aptien_ops.screens.base import OpsScreen, highlighted_key, move_to_key
from aptien_ops.screens.modals import ReasonModal
from aptien_ops.services.policy import PolicyView


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
            tooltip="request a new value for the highlighted key; a second admin approves it",
        ),
    ]
    PERMISSIONS = {"change": Action.POLICY_SET}

    def __init__(self) -> None:
        super().__init__()
        self.view: PolicyView | None = None

    def compose_body(self) -> ComposeResult:
        yield Static("loading…", id="policy-source")
        yield DataTable(id="policy-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="policy-detail")
        yield Static(id="policy-note")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, label in (("key", "Key"), ("value", "Value")):
            table.add_column(label, key=key)

    def refresh_data(self) -> None:
        self.load(self.console.policy.show, self._loaded)

    def _loaded(self, view: PolicyView) -> None:
        self.view = view
        table = self.query_one(DataTable)
        keep = self.selected()
        table.clear()
        for key, value in view.policy.as_json().items():
            table.add_row(key, Text(_short(json.dumps(value))), key=key)
        move_to_key(table, keep)
        self._show_detail(self.selected())
        self.query_one("#policy-source", Static).update(
            Text(f"{view.mode} · the policy comes from the {view.source}")
        )
        if view.mode == "sandbox":
            note = "a sandbox's policy is its ops.toml: edit [security] and [tenants] there"
        elif self.ops.may(Action.POLICY_SET):
            note = "e requests a change of the highlighted key; a second admin approves it"
        else:
            note = "changing the policy needs the admin role and a second admin's approval"
        self.query_one("#policy-note", Static).update(Text(note, style="dim"))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "change" and self.console.settings.sandbox:
            return False  # a sandbox's policy is its config file
        return super().check_action(action, parameters)

    @on(DataTable.RowHighlighted, "#policy-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail(self.selected())

    def _show_detail(self, key: str | None) -> None:
        detail = self.query_one("#policy-detail", Static)
        if key is None or self.view is None:
            detail.update("")
            return
        text = Text()
        text.append(key, style="bold")
        text.append(f": {self.view.describe(key)}\n")
        text.append(json.dumps(self.view.policy.as_json()[key]), style="dim")
        detail.update(text)

    def selected(self) -> str | None:
        return highlighted_key(self.query_one(DataTable))

    def action_change(self) -> None:
        key = self.selected()
        if key is None or self.view is None:
            return
        if self.view.mode == "sandbox":
            self.notify("a sandbox's policy is its ops.toml: edit it there", severity="warning")
            return
        current = json.dumps(self.view.policy.as_json()[key])

        def chosen(value: str | None) -> None:
            if value is not None:
                self.change(lambda: self.console.policy.set(key, value), lambda _: None)

        question = (
            f"New value for {key} ({self.view.describe(key)}); now {current}. "
            'JSON: a number, or a list such as ["acme-gmbh"].'
        )
        self.app.push_screen(
            ReasonModal(question, title="Request a policy change", placeholder=current), chosen
        )


#: Widest value a row shows; the request dialog shows the whole of it.
VALUE_WIDTH = 48


def _short(text: str) -> str:
    return text if len(text) <= VALUE_WIDTH else text[: VALUE_WIDTH - 1] + "…"
