"""A key that the operator's roles, read-only mode or the highlighted row's state does not
allow says why, in the words the CLI refuses it with, on every screen; it opens nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tui_helpers import console_app, footer, settle, story

from aptien_ops.composition import Console

pytestmark = pytest.mark.tui

POLICY_IN_SANDBOX = "a sandbox's policy is its config: edit [security] and [tenants] in"

CASES = [
    # (operator, read-only, keys to the screen, refused key, footer label, the refusal)
    ("vic", False, "2", "n", "Provision", "vic may not tenant.provision (needs role admin or"),
    ("olga", False, "2 enter", "p", "Purge", "olga may not tenant.purge (needs role admin)"),
    ("olga", False, "2 enter", "u", "Resume", "(resume needs a tenant that is suspended)"),
    ("vic", False, "3", "plus", "Grant role", "vic may not operator.grant (needs role admin)"),
    (
        "vic",
        False,
        "4",
        "a",
        "Approve",
        "vic may not approval.decide (needs role admin or security)",
    ),
    ("vic", False, "5", "v", "Verify chain", "vic may not ops-log.verify (needs role admin or"),
    ("vic", False, "6", "m", "Migrate", "vic may not fleet.migrate (needs role admin or"),
    ("ada", False, "7", "e", "E-mail", "ada may not inspect.metadata (needs role security)"),
    ("vic", False, "8", "b", "Back up", "vic may not backup.run (needs role admin or operator)"),
    ("ada", True, "8", "p", "Prune", "backup.prune is not available in read-only mode"),
    ("vic", False, "8", "E", "Restore", "vic may not backup.restore (needs role admin or"),
    ("ada", False, "9", "e", "Request change", POLICY_IN_SANDBOX),
    ("vic", False, "2 enter", "n", "Assign partner", "vic may not partner.assign (needs role"),
    ("ada", False, "2 enter", "t", "Share contacts", "ada may not partner.share (needs role"),
]


@pytest.mark.parametrize(
    "operator, read_only, path, key, label, refusal",
    CASES,
    ids=[f"{c[0]}-{c[2].replace(' ', '-')}-{c[3]}" for c in CASES],
)
@story
async def test_a_key_that_is_not_allowed_says_why_in_the_clis_words(
    open_as: Callable[..., Console],
    demo_tenants: None,
    operator: str,
    read_only: bool,
    path: str,
    key: str,
    label: str,
    refusal: str,
) -> None:
    async with console_app(open_as(operator, read_only=read_only)) as (app, pilot):
        for step in path.split():
            await pilot.press(step)
            await settle(pilot)
        screen = app.screen
        assert label not in footer(app)  # not offered...
        await pilot.press(key)  # ...and pressed anyway: told why, and nothing opens
        await settle(pilot)
        assert app.screen is screen
        [said] = app.notices_of("warning")
        assert refusal in said
