"""One partner: what it is and whether it is eligible today, its agreements, reviews,
assignments (open first; a lapsed one says why) and the contact cards shared with it.

Read-only: the register is changed from the command line (``partner …``); assignments and
shares are made from a tenant's screen, where the operator sees the tenant they concern.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from aptien_ops.screens.base import OpsScreen
from aptien_ops.screens.lists import ListScroll
from aptien_ops.screens.partner_render import (
    agreements_text,
    assignments_text,
    glance,
    heading,
    reviews_text,
    shares_text,
)
from aptien_ops.services.partner_results import PartnerDetail
from aptien_ops.terminal_text import shown

SECTIONS = (
    ("agreements", "Agreements"),
    ("reviews", "Reviews"),
    ("assignments", "Assignments"),
    ("shares", "Contact cards shared"),
)


class PartnerDetailScreen(OpsScreen):
    """A partner, opened from the Partners list (Enter). Esc goes back."""

    MODE = "partners"  # a page of the Partners tab: the header highlights it
    TITLE = "Partner"
    CSS_PATH = Path(__file__).with_name("partners.tcss")
    AUTO_FOCUS = "#partner-sections"
    BINDINGS = [Binding("escape", "back", "Back", tooltip="back to the partners list")]

    def __init__(self, name: str) -> None:
        super().__init__()
        self.partner_name = name

    def compose_body(self) -> ComposeResult:
        with ListScroll(id="partner-sections"):
            yield Static("loading…", id="partner-heading")
            for key, title in SECTIONS:
                yield Static(Text(title, style="bold underline"), classes="partner-section-title")
                yield Static(id=f"partner-{key}", classes="partner-section")

    def refresh_data(self) -> None:
        name = self.partner_name
        self.load(lambda: self.console.partners.show(name), self._loaded)

    def _loaded(self, detail: PartnerDetail) -> None:
        p, until = detail.partner, detail.in_force_until
        window = self.console.settings.partners.expiring_within_days
        state = glance(
            p.status,
            detail.eligible,
            until,
            detail.on,
            expiring=until is not None and (until - detail.on).days <= window,
            review_overdue=p.review_due < detail.on,
        )
        head = heading(p, state)
        if detail.ineligible_reason:
            head.append(f"\nnot eligible today: {shown(detail.ineligible_reason)}", style="red")
        self.query_one("#partner-heading", Static).update(head)
        for key, text in (
            ("agreements", agreements_text(detail.agreements, detail.on)),
            ("reviews", reviews_text(detail.reviews)),
            ("assignments", assignments_text(detail.assignments)),
            ("shares", shares_text(detail.shares)),
        ):
            self.query_one(f"#partner-{key}", Static).update(text)

    def action_back(self) -> None:
        self.dismiss(None)
