"""A security officer reads a tenant's logins and audit in the TUI: newest first, paged from the
database as they scroll with a bounded window, filtered like the CLI, one event in detail, and
an activity chart; operators without ``security`` are told why and nothing is read."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from tui_helpers import console_app, open_tenant, screen_text, screen_words, settle, story

from aptien_ops.composition import Console
from aptien_ops.domain import AuditEvent, LoginEvent
from aptien_ops.screens.activity_chart import ActivityChart
from aptien_ops.screens.event_table import EventTable
from aptien_ops.screens.inspect_kinds import NEEDS_SECURITY
from aptien_ops.screens.inspect_pane import EventBrowser
from aptien_ops.screens.tenant_detail import TenantDetailScreen

pytestmark = pytest.mark.tui


def platform_rows(
    admin: Console, tenant: str, sql: str, params: tuple[Any, ...] = ()
) -> list[tuple[Any, ...]]:
    """Read ``sql`` in the tenant's database as the cluster admin (the test's own view)."""
    store = admin.ctx.store(admin.tenants.show(tenant).cluster or "")
    with store.connect(tenant) as conn:
        return [tuple(r) for r in conn.execute(sql, params).fetchall()]


@pytest.fixture
def tenants(seed_tenants: Callable[..., list[str]]) -> list[str]:
    """The two tenants of ``sandbox seed`` (``SEED``), as the tenants list shows them."""
    return seed_tenants()


async def open_tab(pilot: Pilot[None], key: str) -> EventBrowser:
    """Open the first tenant of the list and its Logins (``l``) or Audit (``a``) tab."""
    tenant = await open_tenant(pilot)
    await pilot.press(key)
    await settle(pilot)
    return tenant.query_one("#logins-browser" if key == "l" else "#audit-browser", EventBrowser)


def held(browser: EventBrowser) -> list[Any]:
    return browser.window.rows(browser.window.first, browser.window.end)


def inspections(admin: Console) -> list[Any]:
    return [e for e in admin.opslog.list(1000) if e.action.startswith("inspect.")]


@story
async def test_the_logins_tab_shows_the_newest_logins_first(
    open_as: Callable[..., Console], tenants: list[str]
) -> None:
    tenant = tenants[0]
    async with console_app(open_as("sam")) as (app, pilot):
        logins = await open_tab(pilot, "l")
        rows = held(logins)
        assert len(rows) == 200 and all(isinstance(r, LoginEvent) for r in rows)
        assert [(r.at, r.id) for r in rows] == sorted(((r.at, r.id) for r in rows), reverse=True)
        newest = platform_rows(
            open_as(None), tenant, "SELECT id FROM login_events ORDER BY at DESC, id DESC LIMIT 1"
        )
        assert rows[0].id == newest[0][0]
        shown = screen_text(app)
        assert "When (UTC)" in shown and "row 1 · holding 1–200, newest first" in shown
        # What applies is said, and nothing looks applied that is not (no "since 7d" hint).
        assert "newest first · all time, no filter" in shown
        assert "7d" not in shown and "since: all" in shown
        assert f"login #{rows[0].id}" in shown  # the detail pane: the newest login
        assert app.focused is logins.table
    logged = [e for e in inspections(open_as(None)) if e.operator == "sam"]
    assert {e.target for e in logged} == {tenant}
    assert len(logged) == 2  # the first page (later pages are the same inspection) and the chart


@story
async def test_scrolling_down_reads_page_after_page_and_the_window_stays_bounded(
    open_as: Callable[..., Console], tenants: list[str]
) -> None:
    async with console_app(open_as("sam")) as (app, pilot):
        logins = await open_tab(pilot, "l")
        window = logins.window
        held_after_each_end: list[int] = []
        while window.has_after:
            await pilot.press("end")
            await settle(pilot)
            held_after_each_end.append(len(window))
        # 3,000 logins in pages of 200: the window grows a page at a time up to 2,000 rows,
        # then slides (pages dropped above) until the oldest login is read.
        assert (
            held_after_each_end == [400, 600, 800, 1000, 1200, 1400, 1600, 1800, 2000] + [2000] * 5
        )
        assert (window.first, window.end, window.cursors_kept) == (1000, 3000, 15)
        await pilot.press("end")
        await settle(pilot)
        assert logins.table.cursor == 2999 and "row 3,000 · holding 1,001–3,000" in screen_text(app)

        logins.table.move_to(window.first + 5)  # back up near the top of the window
        await settle(pilot)
        assert (window.first, len(window)) == (800, 2000)  # the page above re-read from its cursor
        assert logins.table.cursor == 1005 and logins.table.highlighted is window.row(1005)

        await pilot.press("home")  # the newest again: start over
        await settle(pilot)
        assert (window.first, len(window), logins.table.cursor) == (0, 200, 0)
        await pilot.press("j", "j", "k")  # the list keys every list has
        assert logins.table.cursor == 1
        await pilot.press("G")
        await settle(pilot)
        assert logins.table.cursor == 199  # the last row read (End, as it does)
        await pilot.press("g")
        await settle(pilot)
        assert logins.table.cursor == 0


@story
async def test_failed_only_and_a_user_narrow_the_logins(
    open_as: Callable[..., Console], tenants: list[str]
) -> None:
    tenant = tenants[0]
    failures = platform_rows(
        open_as(None), tenant, "SELECT count(*) FROM login_events WHERE result <> 'success'"
    )[0][0]
    async with console_app(open_as("sam")) as (app, pilot):
        logins = await open_tab(pilot, "l")
        await pilot.press("f")
        await settle(pilot)
        rows = held(logins)
        assert rows and len(rows) == min(200, failures)
        assert all(r.result != "success" for r in rows)
        assert "✗ " in screen_text(app)
        assert " · failed only" in screen_text(app)  # the status line says what applies

        email = rows[0].user_email
        await pilot.press("slash", "tab", "tab", *email, "enter")  # since, until, then user
        await settle(pilot)
        rows = held(logins)
        assert rows and all(r.user_email == email and r.result != "success" for r in rows)
        assert app.focused is logins.table
        assert f"user {email} · failed only" in screen_words(app)
        chart = logins.query_one(ActivityChart).summary  # the chart is of that user too
        theirs = open_as("sam").inspection.summary(tenant, user=email, per="hour")
        assert chart is not None and chart.activity.logins == theirs.activity.logins
        assert theirs.activity.logins < open_as("sam").inspection.summary(tenant).activity.logins

        await pilot.press("slash", "escape")  # Esc leaves the filter bar, then leaves the tenant
        assert app.focused is logins.table
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, TenantDetailScreen)


@story
async def test_a_filter_that_makes_no_sense_is_refused_before_anything_is_read(
    open_as: Callable[..., Console], tenants: list[str]
) -> None:
    async with console_app(open_as("sam")) as (app, pilot):
        logins = await open_tab(pilot, "l")
        before = len(inspections(open_as(None)))
        await pilot.press("slash", *"yesterday", "enter")
        await settle(pilot)
        assert "--since: 'yesterday' is not a time" in screen_words(app)
        assert len(held(logins)) == 200  # what was shown stays
        assert len(inspections(open_as(None))) == before


@story
async def test_the_detail_pane_shows_every_field_of_the_highlighted_login(
    open_as: Callable[..., Console], tenants: list[str]
) -> None:
    async with console_app(open_as("sam")) as (app, pilot):
        logins = await open_tab(pilot, "l")
        await pilot.press("down", "down")
        await settle(pilot)
        row = logins.table.highlighted
        assert isinstance(row, LoginEvent) and row is held(logins)[2]
        shown = screen_words(app)
        for field in (
            f"login #{row.id}",
            row.at.strftime("%Y-%m-%d %H:%M:%S UTC"),
            row.result,
            f"method {row.method}",
            f"user {row.user_email}",
            f"from {row.ip}",
            row.user_agent[:40],
        ):
            assert field in shown, field
        assert "row 3 ·" in shown


@story
async def test_the_activity_chart_draws_logins_and_failures_per_hour(
    open_as: Callable[..., Console], tenants: list[str]
) -> None:
    async with console_app(open_as("sam")) as (app, pilot):
        logins = await open_tab(pilot, "l")
        chart = logins.query_one(ActivityChart)
        assert chart.summary is not None
        activity = chart.summary.activity
        assert activity.per == "hour" and len(activity.buckets) >= 7 * 24
        shown = screen_words(app)
        assert f"logins {activity.logins:,}" in shown and f"failed {activity.failures:,}" in shown
        assert "bursts" in shown and "per hour" in shown


@story
async def test_the_audit_tab_shows_payload_sizes_and_never_a_payload(
    open_as: Callable[..., Console], tenants: list[str]
) -> None:
    tenant = tenants[0]
    sealed = [
        bytes(r[0])
        for r in platform_rows(
            open_as(None),
            tenant,
            "SELECT payload FROM audit_events ORDER BY at DESC, id DESC LIMIT 5",
        )
    ]
    async with console_app(open_as("sam")) as (app, pilot):
        audit = await open_tab(pilot, "a")
        rows = held(audit)
        assert len(rows) == 200 and all(
            isinstance(r, AuditEvent) and not hasattr(r, "payload") for r in rows
        )
        await pilot.press("down")
        await settle(pilot)
        row = audit.table.highlighted
        assert isinstance(row, AuditEvent)
        shown = screen_words(app)
        assert "Size" in shown and f"{rows[0].payload_size} B" in shown
        assert f"audit #{row.id}" in shown and f"sealed size {row.payload_size} bytes" in shown
        assert (
            f"actor {row.actor}" in shown
            and f"key {row.key_id}" in shown
            and row.record_id in shown
        )
        assert row.payload_size == len(sealed[1])
        svg = app.export_screenshot()
        for payload in sealed:
            assert payload.hex() not in svg and payload[12:28].hex() not in svg


@story
async def test_a_viewer_is_told_why_and_nothing_is_read_or_logged(
    open_as: Callable[..., Console], tenants: list[str]
) -> None:
    async with console_app(open_as("vic")) as (app, pilot):
        logins = await open_tab(pilot, "l")
        assert NEEDS_SECURITY in screen_words(app) and "Your roles: viewer" in screen_words(app)
        assert not len(logins.window) and logins.browser is None
        await pilot.press("a")
        await settle(pilot)
        assert NEEDS_SECURITY in screen_words(app)
        await pilot.press("f", "slash", "end")  # the tab's keys do nothing here
        await settle(pilot)
        await pilot.press("7")
        await settle(pilot)
        assert NEEDS_SECURITY in screen_words(app) and "Find user" in screen_text(app)
        await pilot.press(*"someone@example.com", "enter")  # nowhere to type it
        await settle(pilot)
    assert inspections(open_as(None)) == []


@story
async def test_the_palette_opens_the_logins_of_the_highlighted_tenant(
    open_as: Callable[..., Console], tenants: list[str]
) -> None:
    tenant = tenants[0]
    async with console_app(open_as("sam")) as (app, pilot):
        await app.run_on_screen("tenants", "open_detail('show_logins')")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, TenantDetailScreen) and screen.tenant_name == tenant
        assert len(screen.query_one("#logins-browser", EventBrowser).window) == 200
        assert isinstance(app.focused, EventTable)


@story
async def test_the_canary_inside_every_payload_never_reaches_the_screen(
    open_as: Callable[..., Console], seed_tenants: Callable[..., list[str]]
) -> None:
    marker = f"CANARY-{secrets.token_hex(12)}"
    tenants = seed_tenants(marker=marker)
    admin = open_as(None)
    sealed = [
        bytes(r[0])
        for t in tenants
        for r in platform_rows(
            admin, t, "SELECT payload FROM audit_events ORDER BY at DESC, id DESC LIMIT 5"
        )
    ]
    email = platform_rows(admin, tenants[0], "SELECT email FROM users ORDER BY id LIMIT 1")[0][0]
    seen: list[str] = []
    async with console_app(open_as("sam")) as (app, pilot):
        await open_tab(pilot, "l")
        for keys in (
            ("down",),
            ("end",),
            ("f",),
            ("a",),
            ("down", "down"),
            ("end",),
            ("7",),
            (*email, "enter"),
        ):
            await pilot.press(*keys)
            await settle(pilot)
            seen += [app.export_screenshot(), screen_text(app)]
        assert f"{email} is a user of 1 tenant" in screen_words(app)
    shown = "\n".join(seen + [m for _s, m in app.notices])
    assert marker not in shown and marker.lower() not in shown.lower()
    for payload in sealed:
        for form in (payload.hex(), payload[12:28].hex(), base64.b64encode(payload).decode()):
            assert form not in shown
