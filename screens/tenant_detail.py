"""One tenant: what it is, how it was provisioned, its state history, and its lifecycle actions;
its Logins and Audit tabs page through its metadata (``security`` only; see inspect_pane.py).

Only the actions the tenant's state, the operator's roles and read-only mode allow are offered;
the services still decide. Purge is requested (four-eyes) after the operator types the name.
The Overview's text is drawn by tenant_render.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Static, TabbedContent, TabPane

from aptien_ops.domain import Approval, Tenant
from aptien_ops.errors import OpsError, PendingApproval
from aptien_ops.permissions import Action
from aptien_ops.screens.billing_render import section_text
from aptien_ops.screens.formatting import day
from aptien_ops.screens.help import key_rows
from aptien_ops.screens.inspect_kinds import AUDIT, LOGINS
from aptien_ops.screens.inspect_pane import EventBrowser
from aptien_ops.screens.lifecycle_modals import (
    PurgeConfirmed,
    RetainDaysModal,
    TypeNameToPurgeModal,
)
from aptien_ops.screens.modals import ConfirmModal, ReasonModal
from aptien_ops.screens.service_calls import pending_notice
from aptien_ops.screens.tenant_partners import (
    PARTNER_PERMISSIONS,
    TenantPartnerActions,
    assigned_text,
)
from aptien_ops.screens.tenant_render import history_text, note_text, steps_text, summary_text
from aptien_ops.services.billing_results import BillingSection
from aptien_ops.services.lifecycle import state_refusal
from aptien_ops.services.partner_results import AssignmentRow
from aptien_ops.services.tenants import TenantDetail


@dataclass
class TenantView:
    """One load: the tenant in detail and the purge requests waiting for it."""

    detail: TenantDetail
    pending_purges: list[Approval]
    partners: list[AssignmentRow] = field(default_factory=list)
    """Its open assignments, each with its state today."""
    billing: BillingSection | OpsError | None = None
    """Its billing as the service cut it for the operator, or why it could not be read."""


class TenantDetailScreen(TenantPartnerActions):
    """A tenant, opened from the tenants list (Enter). Esc goes back."""

    MODE = "tenants"  # a page of the Tenants tab: the header highlights it
    TITLE = "Tenant"
    CSS_PATH = [
        Path(__file__).with_name("tenant_detail.tcss"),
        Path(__file__).with_name("inspect.tcss"),
    ]
    BINDINGS = [
        Binding(
            "o",
            "show_overview",
            "Overview",
            show=False,
            tooltip="the tenant: steps, state history, lifecycle actions",
        ),
        Binding(
            "l",
            "show_logins",
            "Logins",
            tooltip="login history, paged as you scroll (security role)",
        ),
        Binding(
            "a",
            "show_audit",
            "Audit",
            tooltip="change audit: who changed what, payload sizes only (security role)",
        ),
        Binding(
            "s", "suspend", "Suspend", tooltip="suspend (asks why): its logins stop; backups go on"
        ),
        Binding("u", "resume", "Resume", tooltip="resume a suspended tenant"),
        Binding(
            "c",
            "cancel_tenant",
            "Cancel",
            tooltip="cancel (asks retention days); restorable until then",
        ),
        Binding(
            "i",
            "reinstate",
            "Reinstate",
            tooltip="undo the cancel while the tenant is retained: its users log in again",
        ),
        Binding(
            "p", "purge", "Purge", tooltip="request the purge of a cancelled tenant (type its name)"
        ),
        Binding("escape", "back", "Back", tooltip="back to the tenants list"),
    ]
    PERMISSIONS = {
        "suspend": Action.TENANT_SUSPEND,
        "resume": Action.TENANT_RESUME,
        "cancel_tenant": Action.TENANT_CANCEL,
        "reinstate": Action.TENANT_REINSTATE,
        "purge": Action.TENANT_PURGE,
        **PARTNER_PERMISSIONS,
    }
    #: action -> the lifecycle verb whose allowed states it needs.
    VERBS: ClassVar[dict[str, str]] = {
        "suspend": "suspend",
        "resume": "resume",
        "cancel_tenant": "cancel",
        "reinstate": "reinstate",
        "purge": "purge",
    }

    @classmethod
    def help_sections(cls) -> list[tuple[str, list[tuple[str, str]]]]:
        rows = key_rows(list(EventBrowser.BINDINGS)) + [
            ("↑↓ PgUp PgDn", "move; older pages are read as you reach them"),
            ("Home", "back to the newest event"),
            ("End", "the last row read (and read the next page)"),
            ("Enter", "in the filter bar: apply the filters"),
        ]
        return [("Logins, Audit", rows)]

    def __init__(self, name: str, *, then: str | None = None) -> None:
        super().__init__()
        self.tenant_name = name
        self.view: TenantView | None = None
        self._then = then

    def compose_body(self) -> ComposeResult:
        with TabbedContent(id="detail-tabs", initial="tab-overview"):
            with TabPane("Overview", id="tab-overview"):
                yield Static("loading…", id="detail-summary")
                billing = Static("loading…", id="detail-billing")
                billing.border_title = "Billing"
                yield billing
                with Horizontal(id="detail-panes"):
                    with VerticalScroll(id="detail-steps-pane") as steps:
                        steps.border_title = "Provisioning steps"
                        yield Static(id="detail-steps")
                    with VerticalScroll(id="detail-history-pane") as history:
                        history.border_title = "State history (newest first)"
                        yield Static(id="detail-history")
                yield Static(id="detail-note")
            with TabPane("Logins", id="tab-logins"):
                yield EventBrowser(self.tenant_name, LOGINS, id="logins-browser")
            with TabPane("Audit", id="tab-audit"):
                yield EventBrowser(self.tenant_name, AUDIT, id="audit-browser")

    # -- tabs ------------------------------------------------------------------------------

    def action_show_overview(self) -> None:
        self.query_one(TabbedContent).active = "tab-overview"

    def action_show_logins(self) -> None:
        self.query_one(TabbedContent).active = "tab-logins"

    def action_show_audit(self) -> None:
        self.query_one(TabbedContent).active = "tab-audit"

    @on(TabbedContent.TabActivated, "#detail-tabs")
    def _tab_shown(self, event: TabbedContent.TabActivated) -> None:
        # Nothing is read from the tenant's database until its tab is first shown.
        kind = (event.pane.id or "").removeprefix("tab-")
        if kind in ("logins", "audit"):
            self.query_one(f"#{kind}-browser", EventBrowser).activate()

    # -- loading ---------------------------------------------------------------------------

    def refresh_data(self) -> None:
        self.load(self._read, self._loaded)

    def _read(self) -> TenantView:
        """Runs in a worker thread."""
        name = self.tenant_name
        detail = self.console.tenants.detail(name)
        pending = [
            a
            for a in self.console.approvals.list("pending")
            if a.action == Action.TENANT_PURGE and a.target == name
        ]
        partners = self.console.partners.assignments(tenant=name)
        billing: BillingSection | OpsError
        try:
            billing = self.console.billing.section(name)
        except OpsError as error:  # the rest of the tenant still shows
            billing = error
        return TenantView(detail, pending, partners, billing)

    def _loaded(self, view: TenantView) -> None:
        self.view = view
        self._show_summary(view)
        self._show_steps(view.detail)
        self._show_history(view.detail)
        self._show_note(view)
        self.refresh_bindings()
        if self._then is not None:
            then, self._then = self._then, None
            self._run_requested(then)

    def _show_summary(self, view: TenantView) -> None:
        text = summary_text(view.detail)
        if view.partners:
            text.append_text(assigned_text(view.partners))
        self.query_one("#detail-summary", Static).update(text)
        billing = view.billing
        shown = Text(billing.one_line(), style="red") if isinstance(billing, OpsError) else None
        if isinstance(billing, BillingSection):
            shown = section_text(billing)
        self.query_one("#detail-billing", Static).update(shown or "")

    def _show_steps(self, d: TenantDetail) -> None:
        self.query_one("#detail-steps", Static).update(steps_text(d))

    def _show_history(self, d: TenantDetail) -> None:
        self.query_one("#detail-history", Static).update(history_text(d))

    def _show_note(self, view: TenantView) -> None:
        # The lifecycle's: the partner actions are the partner manager's, not a tenant change.
        offers = [self.ops.offer(self.PERMISSIONS[action]) for action in self.VERBS]
        self.query_one("#detail-note", Static).update(note_text(view.pending_purges, offers))

    # -- what is offered -------------------------------------------------------------------

    def current_tenant(self) -> Tenant | None:
        return self.view.detail.tenant if self.view else None

    def refusal(self, action: str) -> str | None:
        why = super().refusal(action) or self.partner_refusal(action)
        verb = self.VERBS.get(action)
        if why is not None or verb is None:
            return why
        if self.view is None:
            return f"{self.tenant_name} is still loading: try again in a moment"
        if verb == "purge" and self.view.pending_purges:
            who = self.ops.approvers_of(Action.TENANT_PURGE)
            return (
                f"purge of {self.tenant_name} is requested already "
                f"(#{self.view.pending_purges[0].id}); {who} approves it in Approvals"
            )
        conflict = state_refusal(self.view.detail.tenant, verb)
        if conflict is not None:
            return conflict.one_line()
        if verb == "reinstate" and not self._retained():
            return f"{self.tenant_name}'s retention has ended: it can only be purged"
        return None

    def _retained(self) -> bool:
        """Whether the tenant is still within its retention (reinstate is offered only then)."""
        until = self.view.detail.tenant.retain_until if self.view else None
        return until is not None and until > self.console.ctx.now()

    def _run_requested(self, action: str) -> None:
        """Run an action asked for before the tenant was loaded (from the palette); a refused
        one says why (the app's ``run_action``)."""
        self.call_later(self.run_action, action)

    # -- actions ---------------------------------------------------------------------------

    def action_back(self) -> None:
        self.dismiss(None)

    def action_open_detail(self, then: str = "") -> None:
        """The palette's way in: on an open tenant, its actions apply to this tenant."""
        if then:
            self._run_requested(then)

    def _seen(self) -> int | None:
        """The version of the tenant shown: a change made from it is refused (and the screen
        offers to read it again) if another operator changed the tenant since."""
        return self.view.detail.tenant.version if self.view is not None else None

    def action_suspend(self) -> None:
        name, seen = self.tenant_name, self._seen()

        def suspend(reason: str) -> Callable[[], object]:
            return lambda: self.console.lifecycle.suspend(name, reason, seen=seen)

        question = (
            f"Suspend {name}? Its own logins stop and open sessions end; "
            "backups and inspection go on. Why?"
        )
        self.app.push_screen(
            ReasonModal(
                question, title="Suspend tenant", placeholder="reason (kept in the history)"
            ).acting(
                self,
                suspend,
                lambda _: self.notify(
                    f"{name} suspended: its logins stop; backups go on", title="Suspended"
                ),
            )
        )

    def action_resume(self) -> None:
        name, seen = self.tenant_name, self._seen()
        self.change(
            lambda: self.console.lifecycle.resume(name, seen=seen),
            lambda _: self.notify(f"{name} resumed: its logins work again", title="Resumed"),
        )

    def action_cancel_tenant(self) -> None:
        name, seen = self.tenant_name, self._seen()

        def cancel(days: int) -> Callable[[], Tenant]:
            return lambda: self.console.lifecycle.cancel(name, days, seen=seen)

        def cancelled(t: Tenant) -> None:
            self.notify(
                f"{name} cancelled; restorable until {day(t.retain_until)}", title="Cancelled"
            )

        default = self.console.ctx.policy.default_retain_days
        self.app.push_screen(RetainDaysModal(name, default).acting(self, cancel, cancelled))

    def action_reinstate(self) -> None:
        name, seen = self.tenant_name, self._seen()

        def reinstated(t: Tenant) -> None:
            self.notify(f"{name} reinstated: {t.state} again", title="Reinstated", markup=False)

        question = (
            f"Reinstate {name}? The cancel is undone: the tenant is as it was before it "
            "(active: its users can log in again)."
        )
        self.app.push_screen(
            ConfirmModal(question, yes="Reinstate", title="Reinstate tenant").acting(
                self,
                lambda _yes: lambda: self.console.lifecycle.reinstate(name, seen=seen),
                reinstated,
            )
        )

    def action_purge(self) -> None:
        name, seen = self.tenant_name, self._seen()
        assert self.view is not None
        until = self.view.detail.tenant.retain_until
        retained = day(until) if until and until > self.console.ctx.now() else None

        def purge(answer: PurgeConfirmed) -> Callable[[], object]:
            return lambda: self.console.lifecycle.purge(
                name, before_retention_end=answer.early_reason, seen=seen
            )

        self.app.push_screen(
            TypeNameToPurgeModal(
                name, retained_until=retained, approvers=self.ops.approvers_of(Action.TENANT_PURGE)
            ).acting(self, purge, lambda _: self.notify(f"{name} purged", title="Purged"))
        )

    def approval_pending(self, pending: PendingApproval) -> None:
        verb = pending.action.rpartition(".")[2]
        self.app.notify(
            f"{verb} {pending_notice(pending)} in Approvals",
            title="Awaiting approval",
            severity="warning",
            timeout=10,
            markup=False,
        )
