"""The two header lines every screen shows: who is acting, in which mode, on which region,
and where the operator is (no clock: the console never shows a moving time)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label

from aptien_ops.screens.formatting import role_list

if TYPE_CHECKING:
    from aptien_ops.screens.app import OpsApp


class OpsHeader(Vertical):
    """Operator, roles, SANDBOX/PRODUCTION, region filter, READ-ONLY; then the screen tabs."""

    def compose(self) -> ComposeResult:
        with Horizontal(id="ops-header-top"):
            yield Label("Aptien Ops", id="ops-header-title")
            yield Label(id="ops-header-mode")
            yield Label("READ-ONLY", id="ops-header-readonly")
            yield Label(id="ops-header-who")
            yield Label(id="ops-header-region")
        yield Label(id="ops-header-nav", markup=True)

    @property
    def ops(self) -> OpsApp:
        return cast("OpsApp", self.app)

    def on_mount(self) -> None:
        settings = self.ops.services.settings
        mode = self.query_one("#ops-header-mode", Label)
        mode.update("SANDBOX" if settings.sandbox else "PRODUCTION")
        mode.set_class(settings.sandbox, "-sandbox")
        mode.set_class(not settings.sandbox, "-production")
        self.query_one("#ops-header-readonly", Label).display = self.ops.services.ctx.read_only
        self._show_nav()
        self.watch(self.app, "roles", self._show_who)
        self.watch(self.app, "region_filter", self._show_region)

    def _show_who(self) -> None:
        roles = self.ops.roles
        shown = "…" if roles is None else role_list(roles)
        self.query_one("#ops-header-who", Label).update(
            f"{self.ops.services.identity.operator} ({shown})"
        )

    def _show_region(self) -> None:
        region = self.ops.region_filter
        label = self.query_one("#ops-header-region", Label)
        label.update(f"region: {region or 'all'}")
        label.set_class(region is not None, "-filtered")

    def on_resize(self) -> None:
        self._show_nav()

    def _show_nav(self) -> None:
        current = getattr(self.screen, "MODE", "")
        width = self.size.width or self.app.size.width
        # The full titles; else the short ones (80 columns); else the tiny ones, closer (60).
        for tabs, pad in (
            (self.ops.tabs(), " "),
            (self.ops.tabs(short=True), " "),
            (self.ops.tabs(tiny=True), ""),
        ):
            lead, texts = " " if not pad else "", [f"{pad}{key} {title} " for key, _, title in tabs]
            if len(lead) + sum(map(len, texts)) <= width:
                break
        parts = [lead]
        for text, (_key, mode, _title) in zip(texts, tabs, strict=True):
            parts.append(f"[reverse b]{text}[/]" if mode == current else text)
        self.query_one("#ops-header-nav", Label).update("".join(parts))
