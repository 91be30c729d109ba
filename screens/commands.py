"""The command palette (ctrl+p): every screen and every action, by name.

Actions the operator's roles or read-only mode do not allow are left out, exactly as their key
bindings are hidden; the services still decide if one is run anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider

from aptien_ops.screens.help import key_label

if TYPE_CHECKING:
    from aptien_ops.screens.app import OpsApp
    from aptien_ops.screens.base import OpsScreen


#: What each screen action is called in the palette: what it does, as an operator says it.
#: (screen title, action) -> title; an action not listed reads "Screen: Footer label".
ACTION_TITLES: dict[tuple[str, str], str] = {
    ("Tenants", "filter"): "Filter tenants",
    ("Tenants", "sort"): "Sort tenants by the next column",
    ("Tenants", "open_detail"): "Open tenant",
    ("Tenants", "provision"): "Provision tenant",
    ("Tenants", "cycle_billing"): "Filter tenants by licence group",
    ("Tenant", "show_logins"): "Show tenant logins",
    ("Tenant", "show_audit"): "Show tenant change audit",
    ("Tenant", "suspend"): "Suspend tenant",
    ("Tenant", "resume"): "Resume tenant",
    ("Tenant", "cancel_tenant"): "Cancel tenant",
    ("Tenant", "purge"): "Purge tenant (request)",
    ("Tenant", "reinstate"): "Reinstate cancelled tenant",
    ("Tenant", "assign_partner"): "Assign partner to tenant",
    ("Tenant", "unassign_partner"): "End a partner's assignment to tenant",
    ("Tenant", "share_contacts"): "Share tenant's contact card with its partner",
    ("Partners", "filter"): "Filter partners",
    ("Partners", "open_detail"): "Open partner",
    ("Incidents", "filter"): "Filter incidents",
    ("Incidents", "open_detail"): "Show incident",
    ("Incidents", "open_incident"): "Open a new incident",
    ("Incident", "add_entry"): "Add to an incident's timeline",
    ("Incident", "edit"): "Update an incident",
    ("Incident", "scope"): "Read an incident's scope (affected people)",
    ("Incident", "report"): "File an incident report to the authority",
    ("Incident", "notify_people"): "Notify the people an incident affects",
    ("Incident", "exempt"): "Record an Art. 34(3) exemption for an incident",
    ("Incident", "close"): "Close an incident",
    ("Notices", "filter"): "Filter notices",
    ("Notices", "open_detail"): "Show notice",
    ("Notices", "draft"): "Draft a notice (maintenance, outage, change)",
    ("Notices", "toggle_all"): "Show all notices, or those not finished",
    ("Jobs", "filter"): "Filter jobs",
    ("Jobs", "retry"): "Retry a failed job",
    ("Jobs", "cancel_job"): "Cancel a waiting or running job",
    ("Notice", "send"): "Send a notice (dry run first)",
    ("Notice", "post_update"): "Post an update of a notice",
    ("Notice", "resolve"): "Resolve a notice",
    ("Notice", "edit"): "Edit a notice's title, body or window",
    ("Notice", "cancel_notice"): "Cancel a notice",
    ("Operators", "add"): "Add operator",
    ("Operators", "grant"): "Grant role",
    ("Operators", "revoke"): "Revoke role",
    ("Operators", "filter"): "Filter operators",
    ("Approvals", "filter"): "Filter requests",
    ("Ops log", "filter"): "Filter ops log",
    ("Fleet", "filter"): "Filter fleet findings",
    ("Find user", "filter"): "Filter users found",
    ("Policy", "filter"): "Filter policy keys",
    ("Approvals", "approve"): "Approve request",
    ("Approvals", "reject"): "Reject request",
    ("Approvals", "toggle_state"): "Show pending or all requests",
    ("Ops log", "verify"): "Verify ops log",
    ("Ops log", "verify_witnessed"): "Verify ops log against its witnesses",
    ("Fleet", "check"): "Check fleet",
    ("Fleet", "announce"): "Announce maintenance on a cluster (draft a notice)",
    ("Fleet", "migrate"): "Migrate fleet",
    ("Fleet", "deep_check"): "Check fleet, opening every tenant database",
    ("Find user", "edit_email"): "Find user by e-mail",
    ("Backups", "backup"): "Back up tenant",
    ("Backups", "run_due"): "Run due backups and verifications",
    ("Backups", "verify"): "Verify backup",
    ("Backups", "restore"): "Restore backup",
    ("Backups", "prune"): "Prune backups",
    ("Policy", "change"): "Request policy change",
    ("Policy", "doctor"): "Run doctor",
}


def action_title(screen_title: str, binding: Binding) -> str:
    """The palette's name for ``binding`` of the screen titled ``screen_title``."""
    fallback = f"{screen_title}: {binding.description}"
    return ACTION_TITLES.get((screen_title, binding.action), fallback)


class OpsCommands(Provider):
    """Go to a screen, or run a screen's action (switching to that screen first)."""

    @property
    def ops(self) -> OpsApp:
        return cast("OpsApp", self.app)

    def commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        """(title, help, callback) for what this operator may do now."""
        app = self.ops
        found: list[tuple[str, str, Callable[[], object]]] = []
        for key, mode, title in app.navigation():
            found.append(
                (f"Go to {title}", f"key {key_label(key)}", partial(app.action_goto, mode))
            )
        for screen_class in app.screen_classes():
            for binding in screen_class.BINDINGS:
                if not isinstance(binding, Binding) or not binding.description:
                    continue
                # A guarded action kept out of a full footer is still one the palette runs.
                if not binding.show and binding.action not in screen_class.PERMISSIONS:
                    continue
                if binding.action.startswith("app."):
                    continue  # app-wide, listed once below
                if not app.offers(screen_class, binding.action):
                    continue
                found.append(
                    (
                        action_title(screen_class.TITLE, binding),
                        f"{screen_class.TITLE}, key {app.get_key_display(binding)}",
                        partial(app.run_on_screen, screen_class.MODE, binding.action),
                    )
                )
            found += self._detail_commands(screen_class)
        found.append(
            ("Refresh", "read this screen and your roles again, key r or ^r", app.refresh_screen)
        )
        found.append(
            ("Cycle region filter", "all → each region → all, key R", app.action_cycle_region)
        )
        found.append(("Show keys of every screen", "help, key ? or F1", app.action_help))
        found.append(("Lock the console", "Enter unlocks, key ^l", app.action_lock))
        return found

    def _detail_commands(
        self, screen_class: type[OpsScreen]
    ) -> list[tuple[str, str, Callable[[], object]]]:
        """The detail screen's actions, run on the row highlighted on ``screen_class``."""
        detail = screen_class.DETAIL_SCREEN
        if detail is None:
            return []
        found: list[tuple[str, str, Callable[[], object]]] = []
        for binding in detail.BINDINGS:
            if not isinstance(binding, Binding) or not binding.show or not binding.description:
                continue
            if binding.action == "back" or not self.ops.offers(detail, binding.action):
                continue  # "Back" means nothing from the palette
            found.append(
                (
                    action_title(detail.TITLE, binding),
                    f"the highlighted one on {screen_class.TITLE}, "
                    f"key {self.ops.get_key_display(binding)} on a {detail.TITLE.lower()}",
                    partial(
                        self.ops.run_on_screen,
                        screen_class.MODE,
                        f"open_detail({binding.action!r})",
                    ),
                )
            )
        return found

    async def discover(self) -> Hits:
        for title, help_text, callback in self.commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self.commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
