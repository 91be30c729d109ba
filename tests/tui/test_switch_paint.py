"""A key that switches screens draws the new screen as soon as it is ready: no whole-app
restyle, no fixed delay before the first frame.

Timings are benchmarked in bench/tui_switch.py; these tests count what a switch does instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.app import App
from tui_helpers import console_app, settle, story

from aptien_ops.composition import Console
from aptien_ops.screens.app import SCREENS

pytestmark = pytest.mark.tui


def counting(app: App[Any], name: str, into: list[str]) -> None:
    """Note every call of ``app``'s method ``name`` (and still make it)."""
    method = getattr(app, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        into.append(name)
        return method(*args, **kwargs)

    setattr(app, name, counted)


@story
async def test_no_switch_restyles_the_whole_app(
    open_as: Callable[..., Console], demo_tenants: None
) -> None:
    # Textual restyles every node of every screen (all stylesheets parsed again) when a mode
    # is entered whose screen it has not marked current: it never marked a new one, so every
    # first visit paid it twice and the first return once more.
    async with console_app(open_as("ada")) as (app, pilot):
        restyles: list[str] = []
        counting(app, "refresh_css", restyles)
        for tab in SCREENS[1:]:
            for key in (tab.key, "1", tab.key, "1"):  # first visit, back, return, back
                await pilot.press(key)
                await settle(pilot)
            assert restyles == [], tab.title


@story
async def test_a_switch_holds_its_frames_only_until_the_screen_is_resumed(
    open_as: Callable[..., Console], demo_tenants: None
) -> None:
    # Textual holds every frame for 50 ms after a switch (a timer named "delay_update"); the
    # console draws as soon as the screen is mounted and resumed, which on a return is at once.
    async with console_app(open_as("ada")) as (app, pilot):
        delays: list[str] = []
        set_timer = app.set_timer

        def noting(delay: float, callback: Any = None, **options: Any) -> Any:
            delays.append(options.get("name") or "")
            return set_timer(delay, callback, **options)

        app.set_timer = noting  # type: ignore[method-assign]
        drawn: list[str] = []
        display = app._display

        def drawing(screen: Any, renderable: Any) -> None:
            if renderable is not None and not app._batch_count:
                drawn.append(type(screen).__name__)
            display(screen, renderable)

        app._display = drawing  # type: ignore[method-assign]
        for key in ("2", "1", "2", "1"):
            await pilot.press(key)
            await settle(pilot)
            assert app._batch_count == 0, key
        assert "delay_update" not in delays
        assert "TenantsScreen" in drawn and drawn[-1] == "DashboardScreen"
