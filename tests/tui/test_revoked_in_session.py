"""An operator whose role is revoked while their TUI is open: the next action is refused by
the service (the audited path reads the operator again for every attempt, whatever the app
read at start), the TUI says so in one clear line, the refusal is in the ops log under their
name, and the keys offered follow the catalog at once."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tui_helpers import console_app, footer, settle, story, until

from aptien_ops.composition import Console
from aptien_ops.screens.app import OpsApp

pytestmark = pytest.mark.tui


def refusals(app: OpsApp) -> list[str]:
    return [n.message for n in app._notifications if n.title == "Refused"]


@story
async def test_a_revoked_operator_is_refused_the_next_action_and_told_why(
    open_as: Callable[..., Console],
) -> None:
    async with console_app(open_as("sam"), screen="5") as (app, pilot):
        assert app.roles == {"security"} and "Verify chain" in footer(app)
        open_as(None).operators.revoke("sam", "security")  # an admin, elsewhere
        await pilot.press("v")
        await until(pilot, lambda: refusals(app), "the refusal")
        # The action, then the screen's own reading again after it: each refused in one line.
        message, *then = refusals(app)
        assert message.startswith("sam may not ops-log.verify (needs role admin or security"), (
            message
        )
        assert all(m.startswith("sam may not ops-log.view") for m in then), then
        await settle(pilot)
        assert app.roles == frozenset() and "Verify chain" not in footer(app)
    entries = [e for e in open_as("ada").opslog.list() if e.action == "ops-log.verify"]
    [entry] = entries
    assert (entry.operator, entry.outcome) == ("sam", "denied")
