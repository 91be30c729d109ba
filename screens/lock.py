"""The lock screen: covers every screen after the idle time; Enter unlocks.

In sandbox mode Enter is enough. In production the console first re-reads the operator's roles
from the catalog, so someone removed while the terminal sat locked cannot carry on.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Middle, Vertical
from textual.screen import Screen
from textual.widgets import Label

from aptien_ops.errors import Forbidden, OpsError
from aptien_ops.screens.formatting import plain
from aptien_ops.screens.service_calls import ServiceCaller

if TYPE_CHECKING:
    from aptien_ops.screens.app import OpsApp
    from aptien_ops.services.operators import WhoAmI


class LockScreen(Screen[None], ServiceCaller):
    """Hides all data. Only Enter (unlock) and ctrl+q (quit) do anything here."""

    CSS_PATH = Path(__file__).with_name("lock.tcss")
    BINDINGS = [Binding("enter", "unlock", "Unlock")]

    def __init__(self, why: str) -> None:
        super().__init__()
        self.why = why

    @property
    def ops(self) -> OpsApp:
        return cast("OpsApp", self.app)

    def compose(self) -> ComposeResult:
        who = self.ops.services.identity.operator
        with Middle(), Center(), Vertical(id="lock-box") as box:
            box.border_title = "Aptien Ops — locked"
            yield Label(self.why, id="lock-why")
            yield Label(f"Operator: {who}", id="lock-who")
            yield Label("Press Enter to unlock · ctrl+q quits", id="lock-how")
            yield Label("", id="lock-problem")

    def action_unlock(self) -> None:
        console = self.ops.services
        if console.settings.sandbox:
            self.ops.unlock(None)
            return
        self.query_one("#lock-problem", Label).update("checking your roles…")
        self.load(console.operators.whoami, self._checked)

    def _checked(self, who: WhoAmI) -> None:
        if not who.roles:
            self.service_refused(
                Forbidden(f"{who.identity.operator} is no longer an operator of this console")
            )
            return
        self.ops.unlock(who.roles)

    def service_refused(self, error: OpsError) -> None:
        self.query_one("#lock-problem", Label).update(plain(f"Still locked: {error.one_line()}"))
