"""The backups screen's dialogs: which tenant to back up, and at which level to verify.

Both return their answer through ``dismiss``; ``None`` means the operator backed out (Esc).
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from aptien_ops.config import VERIFY_LEVELS
from aptien_ops.domain import validate_tenant_name
from aptien_ops.screens.modals import OpsModal

#: What each level checks, as the operator chooses between cost and certainty.
LEVEL_HELP = {
    "quick": "size, SHA-256, manifest signature (no key needed)",
    "full": "decrypt, decompress, walk the archive",
    "restore": "into a scratch database, compare row counts",
}


class TenantModal(OpsModal[str | None]):
    """The tenant to back up, prefilled with the highlighted one; Enter starts the backup."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, default: str = "") -> None:
        super().__init__()
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical(id="modal-box") as box:
            box.border_title = "Back up a tenant"
            yield Label("Tenant to back up now (into its own region's store)", id="modal-question")
            yield Input(
                self.default,
                placeholder="tenant name, e.g. acme-gmbh",
                id="modal-tenant",
                compact=True,
            )
            yield Label("Enter backs up · Esc cancels", classes="modal-hint")

    def on_mount(self) -> None:
        self.query_one(Input).cursor_blink = getattr(self.app, "cursor_blink", True)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        name = event.value.strip()
        if not name:
            self.show_problem("name the tenant to back up")
        elif self.valid(lambda: validate_tenant_name(name)):
            self.dismiss(name)

    def action_cancel(self) -> None:
        self.dismiss(None)


class LevelModal(OpsModal[str | None]):
    """quick, full or restore; the region's policy level is highlighted, Enter picks."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, backup_id: str, region: str, default: str) -> None:
        super().__init__()
        self.backup_id, self.store_region = backup_id, region
        self.default = default if default in VERIFY_LEVELS else VERIFY_LEVELS[0]

    def compose(self) -> ComposeResult:
        with Vertical(id="modal-box") as box:
            box.border_title = "Verify backup"
            yield Label(f"Verify {self.backup_id} at which level?", id="modal-question")
            options = [
                Option(f"{level:<9}{LEVEL_HELP[level]}", id=level) for level in VERIFY_LEVELS
            ]
            yield OptionList(*options, id="modal-levels", compact=True)
            yield Label(
                f"region {self.store_region}'s policy asks for {self.default}", classes="modal-hint"
            )
            yield Label("↑↓ choose · Enter verifies · Esc cancels", classes="modal-hint")

    def on_mount(self) -> None:
        self.query_one(OptionList).highlighted = VERIFY_LEVELS.index(self.default)

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
