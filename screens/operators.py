"""Operators and their roles: add, grant, revoke (granting admin goes through four-eyes)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from aptien_ops.domain import Operator
from aptien_ops.permissions import ROLES, Action, Role
from aptien_ops.screens.base import CLEAR_FILTER, FILTER, OpsScreen, highlighted_key, open_row
from aptien_ops.screens.columns import ColumnSpec
from aptien_ops.screens.filter_bar import FilterBar
from aptien_ops.screens.formatting import day, plain, role_choice, role_list
from aptien_ops.screens.lists import ListRow, ListTable
from aptien_ops.screens.modals import (
    AddOperatorModal,
    ConfirmModal,
    RecordModal,
    RolePickerModal,
)
from aptien_ops.terminal_text import shown

#: The operator's name and roles take a wide terminal's extra width; the date never does.
COLUMNS = (
    ColumnSpec("Operator", 8, share=2, shrink=True, essential=True, key="name"),
    ColumnSpec("Roles", 10, share=2, shrink=True),
    ColumnSpec("Added by", 8, share=1, shrink=True, most=32, key="added_by"),
    ColumnSpec("Added", 10),
)


class OperatorsScreen(OpsScreen):
    """Who may use the console, with which roles."""

    MODE = "operators"
    TITLE = "Operators"
    NAV_KEY = "3"
    CSS_PATH = Path(__file__).with_name("operators.tcss")
    AUTO_FOCUS = "#operators-table"
    BINDINGS = [
        Binding("a", "add", "Add", tooltip="add an operator (OS account) with roles"),
        # Not g: on a list, g goes to the first row.
        Binding("plus", "grant", "Grant role", tooltip="grant a role; granting admin is four-eyes"),
        Binding("x", "revoke", "Revoke role", tooltip="revoke a role (asks first)"),
        FILTER,
        CLEAR_FILTER,
        open_row("open the highlighted operator: roles, who added them and when"),
    ]
    PERMISSIONS = {
        "add": Action.OPERATOR_ADD,
        "grant": Action.OPERATOR_GRANT,
        "revoke": Action.OPERATOR_REVOKE,
    }

    def __init__(self) -> None:
        super().__init__()
        self.operators: dict[str, Operator] = {}

    def compose_body(self) -> ComposeResult:
        yield FilterBar(id="operators-filter")
        yield ListTable(COLUMNS, id="operators-table")
        yield Static(id="operators-note")

    def refresh_data(self) -> None:
        self.load(self.console.operators.list, self._loaded)

    def _loaded(self, operators: list[Operator]) -> None:
        self.operators = {o.name: o for o in operators}
        self.query_one(ListTable).fill(
            ListRow(o.name, (plain(o.name), _roles(o), plain(o.added_by or ""), day(o.added_at)))
            for o in sorted(operators, key=lambda o: o.name)
        )
        me = self.console.identity.operator
        offer = self.ops.offer(Action.OPERATOR_GRANT)
        if offer.read_only:
            note = "read-only: role changes are not offered"
        elif offer.allowed:
            who = self.ops.approvers_of(Action.OPERATOR_GRANT_ADMIN)
            note = f"granting admin: {who} approves"
        else:
            note = f"changing roles needs the {role_choice(offer.needs)} role"
        self.query_one("#operators-note", Static).update(
            f"{len(operators)} operators · you are {me} · {note}"
        )

    def selected(self) -> str | None:
        return highlighted_key(self.query_one(ListTable))

    def action_open_detail(self) -> None:
        operator = self.operators.get(self.selected() or "")
        if operator is None:
            self.notify("no operator selected", severity="warning")
            return
        text = Text(shown(operator.name), style="bold")
        text.append(f"\nroles {_roles(operator)}")
        text.append(f"\nadded {day(operator.added_at)}")
        if operator.added_by:
            text.append(f" by {shown(operator.added_by)}")
        hint = (
            "+ grants a role, x revokes one (from the list)"
            if self.ops.may(Action.OPERATOR_GRANT)
            else ""
        )
        self.app.push_screen(RecordModal(f"Operator {operator.name}", text, hint=hint))

    def refusal(self, action: str) -> str | None:
        why = super().refusal(action)
        if why is not None or action not in ("grant", "revoke"):
            return why
        return self._row_refusal(action)

    def _row_refusal(self, action: str) -> str | None:
        """Why the highlighted operator cannot be granted (revoked) a role."""
        operator = self.operators.get(self.selected() or "")
        if operator is None:
            return "no operator selected"
        me = self.console.identity.operator
        if action == "grant" and operator.name == me:
            # The service's refusal (it names the role; here none is picked yet).
            return (
                f"{me} may not grant themselves a role"
                " (nobody grants a role to themselves: ask another admin)"
            )
        if action == "grant" and all(r in operator.roles for r in ROLES):
            return f"{operator.name} holds every role already"
        if action == "revoke" and not operator.roles:
            return f"{operator.name} holds no role"
        return None

    @on(DataTable.RowHighlighted, "#operators-table")
    def _highlighted(self) -> None:
        self.refresh_bindings()

    def after_change(self) -> None:
        # A grant or revoke may be one's own (or change who may approve): read the roles again.
        self.ops.refresh_roles()
        super().after_change()

    def _selected_operator(self, action: str) -> Operator | None:
        """The highlighted operator, or None after saying why it cannot take ``action``. Keys
        reach the action only when :meth:`refusal` allowed it; a forced call still goes to the
        service, which refuses (and logs) what the roles or read-only mode do not allow."""
        why = self._row_refusal(action)
        if why is not None:
            self.notify(why, severity="warning")
            return None
        return self.operators[self.selected() or ""]

    # -- actions (the service decides; hidden bindings only spare the operator a refusal) --

    def action_add(self) -> None:
        def add(answer: tuple[str, tuple[str, ...]]) -> Callable[[], Operator]:
            name, roles = answer
            return lambda: self.console.operators.add(name, roles)

        def added(op: Operator) -> None:
            self.notify(f"{op.name} added with role {role_list(op.roles)}", title="Operator added")

        self.app.push_screen(
            AddOperatorModal(self.ops.approvers_of(Action.OPERATOR_GRANT_ADMIN)).acting(
                self, add, added
            )
        )

    def action_grant(self) -> None:
        operator = self._selected_operator("grant")
        if operator is None:
            return
        name = operator.name
        choices = [r for r in ROLES if r not in operator.roles]

        def grant(role: str) -> Callable[[], tuple[str, Operator]]:
            return lambda: (role, self.console.operators.grant(name, role, seen=operator.version))

        def granted(outcome: tuple[str, Operator]) -> None:
            role, op = outcome
            self.notify(f"{op.name} now holds {role}", title="Role granted")

        note = (
            f"admin is only requested here; {self.ops.approvers_of(Action.OPERATOR_GRANT_ADMIN)}"
            " approves it"
            if Role.ADMIN in choices
            else ""
        )
        self.app.push_screen(
            RolePickerModal(
                f"Grant a role to {name}", choices, title="Grant role", note=note
            ).acting(self, grant, granted)
        )

    def action_revoke(self) -> None:
        operator = self._selected_operator("revoke")
        if operator is None:
            return
        name = operator.name
        held = [r for r in ROLES if r in operator.roles]

        def picked(role: str | None) -> None:
            if role is None:
                return
            question = f"Revoke role {role} from {name}? They lose what it allows at once."
            self.app.push_screen(
                ConfirmModal(question, yes="Revoke", title="Revoke role").acting(
                    self,
                    lambda _yes: (
                        lambda: self.console.operators.revoke(name, role, seen=operator.version)
                    ),
                    lambda op: self.notify(
                        f"{op.name} no longer holds {role}", title="Role revoked"
                    ),
                )
            )

        self.app.push_screen(
            RolePickerModal(f"Revoke a role from {name}", held, title="Revoke role"), picked
        )


def _roles(operator: Operator) -> str:
    roles = role_list(operator.roles)
    return roles if operator.active else f"inactive ({roles})"
