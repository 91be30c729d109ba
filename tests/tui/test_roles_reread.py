"""The operator's roles are read again after a role change made in the TUI (their own
included) and on refresh (ctrl+r), not only at start: what the screens offer follows."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tui_helpers import console_app, footer, settle, story

from aptien_ops.composition import Console
from aptien_ops.errors import PendingApproval

pytestmark = pytest.mark.tui


@story
async def test_a_grant_made_elsewhere_shows_on_refresh(open_as: Callable[..., Console]) -> None:
    async with console_app(open_as("vic"), screen="8") as (app, pilot):
        assert "Back up" not in footer(app)
        open_as("ada").operators.grant("vic", "operator")
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert app.roles == {"viewer", "operator"}
        assert "Back up" in footer(app)


@story
async def test_approving_ones_own_demotion_takes_the_admin_keys_away_at_once(
    open_as: Callable[..., Console],
) -> None:
    with pytest.raises(PendingApproval):
        open_as(None).operators.revoke("ada", "admin")  # the sandbox's other admin asks
    async with console_app(open_as("ada"), screen="4") as (app, pilot):
        assert "Approve" in footer(app)
        await pilot.press("a", "y")
        await settle(pilot)
        assert app.roles == frozenset()
        assert "Approve" not in footer(app)
        await pilot.press("3")
        await settle(pilot)
        assert "Add" not in footer(app) and "Grant role" not in footer(app)
