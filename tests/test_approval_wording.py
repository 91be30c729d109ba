"""Who may approve a four-eyes request, said alike by the CLI (the request's message and hint)
and the TUI (the toast): the roles the policy in force names for the action, never "a second
admin" for an action a security operator approves too."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aptien_ops.domain import Approval, ApprovalState
from aptien_ops.permissions import APPROVERS
from aptien_ops.screens.service_calls import pending_notice
from aptien_ops.services.approvals import awaiting_approval
from aptien_ops.wording import approvers_words


def _approval(action: str) -> Approval:
    at = datetime(2025, 3, 14, 9, 26, tzinfo=UTC)
    return Approval(7, action, "NTC-2025-0001", {}, "olga", at, ApprovalState.PENDING)


@pytest.mark.parametrize(
    ("roles", "words"),
    [
        ((), "another admin"),
        (("admin",), "another admin"),
        (("security", "admin"), "another admin or security operator"),
        (("security",), "another security operator"),
    ],
)
def test_the_words_name_every_role_that_may_approve(roles: tuple[str, ...], words: str) -> None:
    assert approvers_words(roles) == words


@pytest.mark.parametrize("action", sorted(APPROVERS))
def test_cli_and_tui_say_who_approves_each_action(action: str) -> None:
    roles = APPROVERS[action]
    pending = awaiting_approval(_approval(action), "doing it", roles)
    who = approvers_words(roles)
    assert pending.message == f"doing it needs the approval of {who}; request #7 recorded"
    assert pending.hint == f"{who} runs: aptien-ops approval approve 7"
    assert pending_notice(pending) == f"request #7 recorded; {who} must approve"
    assert pending.as_json()["error"]["approvers"] == sorted(roles)  # type: ignore[index]
    if "security" in roles:
        assert "security" in pending.message and "security" in pending_notice(pending)
