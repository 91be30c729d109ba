"""Every dialog says what is wrong with what was typed the same way: inside the dialog, under
its fields, in the core's words; never as a toast, and the dialog stays open to fix it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.widgets import Input, Static
from tui_helpers import console_app, settle, story

from aptien_ops.composition import Console
from aptien_ops.errors import PendingApproval
from aptien_ops.screens.modals import OpsModal

pytestmark = pytest.mark.tui

CASES = [
    # (operator, keys to the dialog, what is typed, keys that submit, the problem it shows)
    ("ada", "4 x", "", "enter", "✗ a reason is required"),
    # The one documented limit of a reason (domain/free_text.py), in the CLI's words.
    ("ada", "4 x", "why " * 126, "enter", "✗ the reason must be at most 500 characters; this one"),
    ("ada", "3 a", "Bad Name!", "enter tab enter", "✗ invalid operator name"),
    ("olga", "8 b", "Not_A_Tenant", "enter", "✗ invalid tenant name"),
    ("olga", "2 enter c", "9999", "enter", "✗ give a number of days from 0 to 3650"),
    (
        "ada",
        "2 down down down enter p",  # gotham-legal, cancelled
        "gotham",
        "enter",
        "✗ that is not the tenant's name: nothing was requested",
    ),
    ("sam", "exclamation_mark n", "", "enter enter enter enter", "✗ an incident needs a title"),
]


@pytest.mark.parametrize(
    "operator, path, typed, submit, problem",
    CASES,
    ids=[
        "reason",
        "reason-too-long",
        "add-operator",
        "back-up",
        "retain-days",
        "purge",
        "open-incident",
    ],
)
@story
async def test_a_dialog_shows_what_is_wrong_inside_itself(
    open_as: Callable[..., Console],
    demo_tenants: None,
    operator: str,
    path: str,
    typed: str,
    submit: str,
    problem: str,
) -> None:
    with pytest.raises(PendingApproval):
        open_as(None).operators.grant("sam", "admin")  # a request to reject
    async with console_app(open_as(operator)) as (app, pilot):
        for step in path.split():
            await pilot.press(step)
            await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, OpsModal)
        field = dialog.query(Input).first()
        field.value = typed
        field.focus()
        for key in submit.split():
            await pilot.press(key)
            await settle(pilot)
        assert app.screen is dialog  # still open, to fix what was typed
        shown = str(dialog.query_one("#modal-problem", Static).content)
        assert shown.startswith(problem), shown
        assert app.notices == []  # and no toast
