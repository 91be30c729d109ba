"""The policy screen (9): every operator sees the policy in force; an admin requests a change."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console as RichConsole
from textual.widgets import Static
from tui_helpers import Pins, console_app, footer, screen_text, screen_words, settle, story

from aptien_ops.composition import Console
from aptien_ops.domain import Identity
from aptien_ops.errors import InvalidInput
from aptien_ops.screens.policy import PolicyScreen

pytestmark = pytest.mark.tui


def production(sandbox: Path) -> Path:
    text = sandbox.read_text().replace('mode = "sandbox"', 'mode = "production"', 1)
    sandbox.write_text(text.replace("initial_admins = []", 'initial_admins = ["ada", "bob"]', 1))
    return sandbox


@story
async def test_an_admin_requests_a_policy_change_that_a_second_admin_approves(
    open_as: Callable[..., Console], sandbox: Path, pins: Pins
) -> None:
    production(sandbox)
    pins.account = "ada"
    ada = open_as(None)
    async with console_app(ada, screen="9") as (app, pilot):
        assert isinstance(app.screen, PolicyScreen)
        shown = screen_words(app)
        assert "production · the policy comes from the catalog" in shown
        assert "approval_lifetime_hours" in shown and "24" in shown
        table = app.screen.query_one("#policy-table")
        table.move_cursor(row=table.get_row_index("approval_lifetime_hours"))  # type: ignore[attr-defined]
        await pilot.press("e")
        await settle(pilot)
        await pilot.press("1", "2", "enter")
        await settle(pilot)
        assert any("request #" in m for _, m in app.notices), app.notices
    [request] = ada.approvals.list("pending")
    assert (request.action, request.target) == ("policy.set", "approval_lifetime_hours")
    bob = open_console_as(sandbox, "bob")
    try:
        bob.approvals.approve(request.id)
        assert bob.policy.show().policy.approval_lifetime_hours == 12
    finally:
        bob.close()


def open_console_as(config: Path, name: str) -> Console:
    from aptien_ops.composition import open_console

    return open_console(config, identity=Identity(name, name, None, f"s-{name}"))


@story
async def test_a_viewer_sees_the_policy_and_is_told_who_may_change_it(
    open_as: Callable[..., Console],
) -> None:
    console = open_as("vic")
    async with console_app(console, screen="9") as (app, _):
        shown = screen_words(app)
        assert "sandbox · the policy comes from the config" in shown
        assert "edit [security] and [tenants] there" in shown
        assert "Request change" not in shown
    with pytest.raises(InvalidInput, match="edit"):
        console.policy.set("idle_minutes", "5")


@story
async def test_the_doctor_runs_from_the_policy_screen_with_a_fix_under_each_failure(
    open_as: Callable[..., Console], sandbox: Path
) -> None:
    store = sandbox.parent / "backups" / "eu"
    store.parent.mkdir(parents=True, exist_ok=True)
    store.write_text("not a directory")  # the region's backup store is broken
    async with console_app(open_as("vic"), screen="9") as (app, pilot):  # every role may
        assert "Run doctor" in footer(app)
        await pilot.press("d")
        await settle(pilot)
        checks = app.screen.query_one("#policy-checks")
        assert checks.display
        # One failure among every check the doctor has (the count grows with the console).
        assert re.fullmatch(r"1 check of \d+ failed · ops-log entry #2", checks.border_subtitle)
        assert "✓ catalog.reachable" in screen_text(app)
        content = app.screen.query_one("#policy-checks-list", Static).content
        assert not app.screen.query_one("#policy-detail").display  # room for the findings
        await pilot.press("escape")  # back to the policy
        await settle(pilot)
        assert not checks.display and app.screen.query_one("#policy-detail").display
    console = RichConsole(width=200, record=True, file=io.StringIO())
    console.print(content)
    lines = console.export_text().splitlines()
    assert any(line.startswith("– process ") for line in lines)  # not for a sandbox
    failure = next(n for n, line in enumerate(lines) if line.startswith("✗ region.eu.store "))
    assert "fix: move it away, then: install -d" in lines[failure + 1]
