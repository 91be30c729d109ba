"""The Approvals screen makes its rows in the worker that read them and fills its table a chunk
per frame, like every other list: a window of 500 requests costs the UI thread no step that
grows with it (issue 11, "never freeze")."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from test_never_freeze import UiSteps
from tui_helpers import FROZEN_NOW, console_app, screen_words, settle, story

from aptien_ops.composition import Console
from aptien_ops.screens.approvals import WINDOW, ApprovalsScreen
from aptien_ops.screens.lists import CHUNK, ListTable

pytestmark = pytest.mark.tui

REQUESTS = WINDOW + 100


def many_requests(console: Console, n: int) -> None:
    """``n`` pending requests of sam's (grants of admin to made-up operators)."""
    with console.ctx.catalog.transaction() as tx:
        for i in range(n):
            tx.approvals.insert(
                "operator.grant", f"user-{i:04d}", {"role": "admin"}, "sam", FROZEN_NOW
            )


@story
async def test_the_approvals_rows_are_made_in_the_worker_and_handed_over_a_chunk_per_frame(
    open_as: Callable[..., Console], frozen: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    many_requests(open_as(None), REQUESTS)
    steps = UiSteps(monkeypatch)  # counts rows made on the UI thread and rows added per step
    async with console_app(open_as("ada")) as (app, pilot):
        steps.rows.clear()
        steps.start()
        try:
            await pilot.press("4")
            await settle(pilot)
        finally:
            steps.stop()
        assert isinstance(app.screen, ApprovalsScreen)
        table = app.screen.query_one(ListTable)
        assert table.row_count == WINDOW and not table.filling
        assert str(table.get_row_at(0)[0]) == str(REQUESTS)  # newest first (a Text cell)
        assert f"{REQUESTS} pending requests, newest {WINDOW} shown" in screen_words(app)
        # WINDOW rows reached the table, never more than a chunk in one step of the loop, and
        # none of them was made on the UI thread (made there, they would count here too).
        assert sum(steps.rows.values()) == WINDOW
        assert steps.most() <= CHUNK, steps.rows.most_common(3)
