"""The ops log is checked from the TUI, and an idle console locks itself."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from tui_helpers import (
    FROZEN_NOW,
    ManualClock,
    Pins,
    console_app,
    recording_app,
    running,
    screen_text,
    screen_words,
    settle,
    story,
    until,
)

from aptien_ops.composition import Console
from aptien_ops.domain import Operator
from aptien_ops.identity import os_account
from aptien_ops.opslog import head_signature, load_or_create_key
from aptien_ops.ports import CatalogTx
from aptien_ops.screens.dashboard import DashboardScreen
from aptien_ops.screens.lock import LockScreen
from aptien_ops.screens.opslog import OpsLogScreen

pytestmark = pytest.mark.tui


@story
async def test_v_verifies_the_ops_log_and_says_so_in_green(open_as: Callable[..., Console]) -> None:
    async with console_app(open_as("sam"), screen="5") as (app, pilot):
        assert isinstance(app.screen, OpsLogScreen)
        assert len(app.screen.window) >= 1
        await pilot.press("v")
        await settle(pilot)
        assert "✓ ops log intact" in screen_text(app)
        # the verification is itself logged, and the table shows it
        assert app.screen.window.row(0).action == "ops-log.verify"


@story
async def test_an_edited_entry_is_named_in_red(
    open_as: Callable[..., Console], sandbox: Path
) -> None:
    admin = open_as("ada")
    admin.operators.grant("olga", "billing")
    with sqlite3.connect(sandbox.parent / "catalog.db") as db:
        db.execute("UPDATE opslog SET target = 'pat' WHERE action = 'operator.grant'")
    async with console_app(admin, screen="5") as (app, pilot):
        await pilot.press("v")
        await settle(pilot)
        shown = screen_text(app)
        assert "✗ integrity failure: ops log entry #" in shown
        assert not app.notices_of("error"), "shown in place, not as a toast"


@story
async def test_w_checks_the_log_against_its_witnesses_and_names_a_rollback(
    open_as: Callable[..., Console], sandbox: Path
) -> None:
    sam = open_as("sam")
    open_as("olga").backups.checkpoint()  # the head, signed into both regions' stores
    async with console_app(sam, screen="5") as (app, pilot):
        await pilot.press("w")
        await settle(pilot)
        assert "witnesses agree up to #" in screen_text(app)
        # Someone with the catalog and the ops-log key cuts the log back to its first entry.
        key = load_or_create_key(sam.settings.security.opslog_key_file, create=False)
        with sqlite3.connect(sandbox.parent / "catalog.db") as db:
            [(first,)] = db.execute("SELECT hmac FROM opslog WHERE seq = 1").fetchall()
            db.execute("DELETE FROM opslog WHERE seq > 1")
            signature = head_signature(key, 1, first)
            db.execute(
                "UPDATE opslog_head SET seq = 1, hmac = ?, signature = ?", (first, signature)
            )
        await pilot.press("w")
        await settle(pilot)
        assert "✗ integrity failure: the ops log was rolled back or truncated: entr" in (
            screen_text(app)
        )
        assert "#2" in screen_text(app)


@story
async def test_an_idle_console_locks_hides_everything_and_enter_unlocks(
    open_as: Callable[..., Console], demo_tenants: None, clock: ManualClock
) -> None:
    async with console_app(open_as("ada"), clock=clock, screen="2") as (app, pilot):
        assert "acme-gmbh" in screen_text(app)
        clock.advance(14 * 60)
        await pilot.press("down")  # a key press restarts the idle time
        clock.advance(14 * 60)
        app.check_idle_lock()
        await pilot.pause()
        assert not isinstance(app.screen, LockScreen)

        clock.advance(60)
        app.check_idle_lock()
        await pilot.pause()
        assert isinstance(app.screen, LockScreen)
        shown = screen_text(app)
        assert "acme-gmbh" not in shown and "Press Enter to unlock" in shown
        for key in ("1", "3", "question_mark", "ctrl+p"):  # nothing reaches the screens behind
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, LockScreen), key

        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, LockScreen)
        assert "acme-gmbh" in screen_text(app)


@story
async def test_ctrl_l_locks_at_once(open_as: Callable[..., Console]) -> None:
    async with console_app(open_as("ada")) as (app, pilot):
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert isinstance(app.screen, LockScreen)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)


def me(tx: CatalogTx) -> Operator:
    """The account running the tests, as an operator."""
    operator = tx.operators.get(os_account())
    assert operator is not None
    return operator


def production_config(sandbox: Path) -> Path:
    text = sandbox.read_text().replace('mode = "sandbox"', 'mode = "production"', 1)
    text = text.replace("initial_admins = []", f'initial_admins = ["{os_account()}"]', 1)
    sandbox.write_text(text)
    return sandbox


@story
async def test_in_production_unlocking_rechecks_that_the_account_is_still_an_operator(
    open_as: Callable[..., Console], sandbox: Path, pins: Pins
) -> None:
    production_config(sandbox)
    pins.account = os_account()  # the operator sudo reports to the service account
    console = open_as(None)
    assert not console.settings.sandbox
    async with console_app(console) as (app, pilot):
        assert "PRODUCTION" in screen_text(app).splitlines()[0]
        await pilot.press("ctrl+l")
        await pilot.pause()
        # meanwhile, the account loses its roles (as an admin elsewhere would do it)
        with console.ctx.catalog.transaction() as tx:
            tx.operators.set_roles(me(tx), frozenset(), by="ada", at=FROZEN_NOW)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, LockScreen)
        assert (
            f"Still locked: {os_account()} is no longer an operator of this console"
            in screen_words(app)
        )

        with console.ctx.catalog.transaction() as tx:
            tx.operators.set_roles(me(tx), frozenset({"viewer"}), by="ada", at=FROZEN_NOW)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        assert app.roles == {"viewer"}


@story
async def test_a_toast_arriving_while_locked_waits_for_the_unlock(
    open_as: Callable[..., Console],
) -> None:
    async with console_app(open_as("ada"), notifications=True) as (app, pilot):
        await pilot.press("ctrl+l")
        await pilot.pause()
        app.notify("acme-gmbh purged")
        await pilot.pause()
        assert "purged" not in screen_words(app)
        await pilot.press("enter")
        await until(pilot, lambda: "purged" in screen_words(app), "the held toast to show")
        assert "acme-gmbh purged" in screen_words(app)


@story
async def test_in_production_idleness_ends_the_session_instead_of_locking(
    open_as: Callable[..., Console], sandbox: Path, pins: Pins, clock: ManualClock
) -> None:
    production_config(sandbox)
    pins.account = os_account()
    console = open_as(None)
    async with console_app(console, clock=clock) as (app, pilot):
        assert (app.idle_lock_minutes, app.session_hours) == (15, 12)  # the catalog's policy
        clock.advance(15 * 60)
        app.check_idle_lock()
        await pilot.pause()
        assert not isinstance(app.screen, LockScreen)
    assert app.ended == "the session ended after 15 idle minutes: log in again to go on"


@story
async def test_in_production_a_session_ends_after_the_policys_hours_even_when_busy(
    open_as: Callable[..., Console], sandbox: Path, pins: Pins, clock: ManualClock
) -> None:
    production_config(sandbox)
    pins.account = os_account()
    async with console_app(open_as(None), clock=clock) as (app, pilot):
        for _ in range(12 * 6):  # a key every ten minutes for twelve hours
            clock.advance(10 * 60)
            await pilot.press("down")
            app.check_idle_lock()
    assert app.ended == "the session ended after 12 hours: log in again to go on"


@story
async def test_a_sandbox_locks_after_one_idle_minute_in_good_english(
    open_as: Callable[..., Console], clock: ManualClock
) -> None:
    app = recording_app(open_as("ada"), clock=clock)
    app.idle_lock_minutes = 1
    async with running(app) as pilot:
        clock.advance(60)
        app.check_idle_lock()
        await pilot.pause()
        assert isinstance(app.screen, LockScreen)
        assert "Locked after 1 idle minute." in screen_words(app)
    assert app.ended is None
