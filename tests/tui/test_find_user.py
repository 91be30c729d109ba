"""Find user (key 7): where an e-mail address is a user across the fleet, streamed with progress,
saying so when nobody is found or a cluster is down; and the keys in help and the palette."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey
from tui_helpers import console_app, palette_titles, screen_text, screen_words, settle, story

from aptien_ops.backends.tenant_schema import utc_timestamp
from aptien_ops.composition import Console
from aptien_ops.screens.find_user import FindUserScreen, SearchProgress, UserFound
from aptien_ops.screens.help import key_sections

pytestmark = pytest.mark.tui


def a_user_of(admin: Console, tenant: str) -> str:
    """An address that is a user of ``tenant`` (read as the cluster admin)."""
    store = admin.ctx.store(admin.tenants.show(tenant).cluster or "")
    with store.connect(tenant) as conn:
        return str(conn.execute("SELECT email FROM users ORDER BY id LIMIT 1").fetchone()[0])


def also_a_user_of(admin: Console, tenant: str, email: str) -> None:
    """The platform adds ``email`` as a user of ``tenant`` too (SQLite sandbox clusters)."""
    store = admin.ctx.store(admin.tenants.show(tenant).cluster or "")
    with store.connect(tenant) as conn:
        conn.execute(
            "INSERT INTO users (email, display_name, created_at) VALUES (?, 'Pat', ?)",
            (email, utc_timestamp(datetime(2025, 1, 2, tzinfo=UTC))),
        )
        conn.commit()


def table_rows(app: object) -> list[list[str]]:
    table = app.screen.query_one(DataTable)  # type: ignore[attr-defined]
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


@story
async def test_find_user_streams_every_tenant_where_the_address_is_a_user(
    open_as: Callable[..., Console], seed_tenants: Callable[..., list[str]]
) -> None:
    first, second = seed_tenants()
    admin = open_as(None)
    email = a_user_of(admin, first)
    also_a_user_of(admin, second, email)
    messages: list[Message] = []
    async with console_app(
        open_as("sam"),
        screen="7",
        message_hook=lambda m: isinstance(m, (UserFound, SearchProgress)) and messages.append(m),
    ) as (app, pilot):
        assert isinstance(app.screen, FindUserScreen) and app.focused is app.screen.query_one(
            "#find-email"
        )
        await pilot.press(*email.upper(), "enter")  # addresses are compared lower-cased
        await settle(pilot)
        rows = table_rows(app)
        assert [r[0] for r in rows] == [first, second]
        assert rows[1][3] == "never" and rows[0][3] != "never"  # the added user never logged in
        assert f"{email} is a user of 2 tenants · 2 searched in every region" in screen_words(app)
        assert f"{email} in {first}" in screen_words(app)  # the detail of the highlighted tenant
        # A highlight event from before the final sort (the other tenant's result came first)
        # must not put the other tenant's detail under the cursor on the first row.
        table = app.screen.query_one("#find-table", DataTable)
        table.post_message(DataTable.RowHighlighted(table, 0, RowKey(second)))
        await settle(pilot)
        assert f"{email} in {first}" in screen_words(app) and table.cursor_row == 0
    progress = [(m.done, m.total) for m in messages if isinstance(m, SearchProgress)]
    assert sorted(progress) == [(1, 2), (2, 2)]
    assert sorted(m.hit.tenant.name for m in messages if isinstance(m, UserFound)) == [
        first,
        second,
    ]


@story
async def test_find_user_says_when_nobody_is_found_and_the_region_narrows_it(
    open_as: Callable[..., Console], seed_tenants: Callable[..., list[str]]
) -> None:
    seed_tenants()
    async with console_app(open_as("sam"), screen="7") as (app, pilot):
        await pilot.press(*"nobody@nowhere.example", "enter")
        await settle(pilot)
        assert (
            "no tenant has a user nobody@nowhere.example · 2 searched in every region"
            in screen_words(app)
        )
        assert table_rows(app) == []
        await pilot.press("R")  # region eu: searched again
        await settle(pilot)
        assert "· 1 searched in region eu" in screen_words(app)


@story
async def test_find_user_refuses_an_address_without_at_and_reads_nothing(
    open_as: Callable[..., Console], seed_tenants: Callable[..., list[str]]
) -> None:
    seed_tenants()
    async with console_app(open_as("sam"), screen="7") as (app, pilot):
        await pilot.press(*"'; DROP TABLE users; --", "enter")
        await settle(pilot)
        assert "EMAIL must be an e-mail address" in screen_words(app)
    assert not [e for e in open_as(None).opslog.list(100) if e.action.startswith("inspect.")]


@story
async def test_find_user_names_the_cluster_that_is_down(
    open_as: Callable[..., Console], seed_tenants: Callable[..., list[str]]
) -> None:
    names = seed_tenants()
    admin = open_as(None)
    us = next(n for n in names if admin.tenants.show(n).region == "us")
    email = a_user_of(admin, us)
    directory = admin.ctx.store("us-sandbox-1").directory  # type: ignore[attr-defined]
    directory.rename(directory.with_name("us-sandbox-1.away"))
    directory.write_text(
        "the disk holding this cluster is gone\n"
    )  # a file where the directory was
    async with console_app(open_as("sam"), screen="7") as (app, pilot):
        await pilot.press(*email, "enter")
        await settle(pilot)
        shown = screen_words(app)
        assert f"no tenant has a user {email} · 2 searched" in shown
        assert (
            "⚠ 1 could not be searched: cluster us-sandbox-1 (1 tenant): cluster 'us-sandbox-1'"
            in shown
        )


@story
async def test_help_and_the_palette_list_find_user_and_the_inspection_tabs(
    open_as: Callable[..., Console], seed_tenants: Callable[..., list[str]]
) -> None:
    async with console_app(open_as("sam")) as (app, pilot):
        titles = palette_titles(app)
        for title in (
            "Go to Find user",
            "Find user by e-mail",
            "Show tenant logins",
            "Show tenant change audit",
        ):
            assert title in titles, title
        assert (
            "Tenant: Back" not in titles and "Tenant: Overview" not in titles
        )  # Open tenant does that
        sections = dict(key_sections(app))
        assert ("7", "go to Find user") in sections["Everywhere"]
        assert ("l", "login history, paged as you scroll (security role)") in sections["Tenant"]
        tab_keys = dict(sections["Logins, Audit"])
        assert "f" in tab_keys and "/" in tab_keys and "End" in tab_keys
        await pilot.press("question_mark")
        await settle(pilot)
        assert "go to Find user" in screen_text(app)

    async with console_app(open_as("vic")) as (viewer, _):
        titles = palette_titles(viewer)
        assert "Go to Find user" in titles and "Find user by e-mail" not in titles


@story
async def test_the_final_list_is_made_in_the_worker_and_added_a_chunk_per_frame(
    open_as: Callable[..., Console],
    seed_tenants: Callable[..., list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import threading

    from aptien_ops.screens import find_user

    first, second = seed_tenants()
    admin = open_as(None)
    email = a_user_of(admin, first)
    also_a_user_of(admin, second, email)
    made_on: list[bool] = []
    final_list = find_user.final_list

    def watched(result: object) -> object:
        made_on.append(threading.current_thread() is threading.main_thread())
        return final_list(result)  # type: ignore[arg-type]

    monkeypatch.setattr(find_user, "final_list", watched)
    monkeypatch.setattr(find_user, "CHUNK_ROWS", 1)  # two hits: two frames
    async with console_app(open_as("sam"), screen="7") as (app, pilot):
        await pilot.press(*email, "enter")
        await settle(pilot)
        assert made_on == [False]  # the hits were ordered and their rows made off the UI thread
        assert [r[0] for r in table_rows(app)] == [first, second]
        assert app.screen.query_one("#find-table", DataTable).cursor_row == 0
