"""Login activity over time above the Logins table: logins and failures per hour (or day) as
two sparklines, failures in the error colour, and the bursts of failures the summary found.

It reads :meth:`InspectionService.summary` for the time window of the filters (7 days when
none is given) in its own worker, so the table's pages never wait for it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Sparkline, Static

from aptien_ops.errors import OpsError
from aptien_ops.inspect_query import LoginFilters
from aptien_ops.screens.formatting import count, plural, short_minute
from aptien_ops.screens.service_calls import ServiceCaller
from aptien_ops.terminal_text import shown

if TYPE_CHECKING:
    from aptien_ops.login_activity import FailureBurst, LoginActivity
    from aptien_ops.screens.app import OpsApp
    from aptien_ops.services.inspection_results import TenantActivity

#: Windows up to this long are drawn per hour; longer ones per day.
HOURLY_UP_TO = timedelta(days=31)
DEFAULT_WINDOW = timedelta(days=7)


def burst_line(activity: LoginActivity, width: int = 78) -> Text:
    """``⚠ 2 bursts · latest: 34 failures from 203.0.113.7 at 03-12 09:12 · per hour 03-07
    09:26 → 03-14 09:26``, or a calm line, in at most ``width`` cells.

    What gives way when the line is short: the word "latest", the window's times (days only),
    the window, then "failures" becomes "failed" and the address or IP the latest burst came
    from loses its middle (``…`` where it was cut), and only then the line its end.
    """
    bursts, limits = activity.bursts, activity.thresholds
    since, until = short_minute(activity.since), short_minute(activity.until)
    windows = (
        f" · per {activity.per} {since} → {until}",
        f" · per {activity.per} {since[:5]} → {until[:5]}",
        "",
    )
    if not bursts:
        calm = f"no bursts (≥ {limits.failures} failures in {limits.window_minutes:g} min)"
        window = next((w for w in windows if len(calm) + len(w) <= width), "")
        return _cut(Text.assemble((calm, "dim"), (window, "dim")), width)
    latest = bursts[-1]
    head = f"⚠ {plural(len(bursts), 'burst')}"
    key = shown(latest.key)
    said = "from" if latest.by == "ip" else "for"
    for window in windows:
        for word in (" latest:", ""):
            line = _burst(head, word, latest, said, key, window)
            if line.cell_len <= width:
                return line
    # "failed" for "failures"; the address or IP gives up its middle; then the line its end.
    room = width - _burst(head, "", latest, said, "", "", noun="failed").cell_len
    short = middle(key, max(room, min(len(key), KEY_AT_LEAST)))
    return _cut(_burst(head, "", latest, said, short, "", noun="failed"), width)


#: The fewest cells of a burst's address or IP the line keeps (cut in the middle).
KEY_AT_LEAST = 8


def _burst(
    head: str,
    word: str,
    latest: FailureBurst,
    said: str,
    key: str,
    window: str,
    *,
    noun: str = "failures",
) -> Text:
    return Text.assemble(
        (head, "bold red"),
        (f" ·{word} {count(latest.failures)} {noun} {said} {key}", "red"),
        (f" at {short_minute(latest.start)}", "red"),
        (window, "dim"),
    )


def middle(text: str, width: int) -> str:
    """``greta.vog…cme.example``: ``text`` in ``width`` cells, cut in the middle (an address
    keeps its start and its domain)."""
    if len(text) <= width:
        return text
    if width < 2:
        return "…"[:width]
    tail = (width - 1) // 2
    return text[: width - 1 - tail] + "…" + (text[-tail:] if tail else "")


def _cut(text: Text, width: int) -> Text:
    text.truncate(width, overflow="ellipsis")
    return text


class ActivityChart(Vertical, ServiceCaller):
    """Logins and failures of one tenant over the filters' time window."""

    def __init__(self, tenant: str, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="activity-chart")
        self.tenant = tenant
        self.summary: TenantActivity | None = None
        self._window: tuple[str | None, str | None, str | None] | None = None

    @property
    def ops(self) -> OpsApp:
        return cast("OpsApp", self.app)

    def compose(self) -> ComposeResult:
        with Horizontal(classes="chart-row"):
            yield Label("logins", classes="chart-label", id="chart-logins-label")
            yield Sparkline([], id="chart-logins")
        with Horizontal(classes="chart-row"):
            yield Label("failed", classes="chart-label", id="chart-failures-label")
            yield Sparkline([], id="chart-failures")
        yield Static(Text("reading activity…", style="dim"), id="chart-bursts")

    def per(self, filters: LoginFilters) -> str:
        """``hour`` for windows up to a month, else ``day`` (a sparkline is a few dozen cells)."""
        now = self.ops.services.ctx.now()
        query = filters.resolve(now)
        since, until = query.since or now - DEFAULT_WINDOW, query.until or now
        return "hour" if until - since <= HOURLY_UP_TO else "day"

    def show_window(self, filters: LoginFilters) -> None:
        """Read the summary of the filters' time window and user, unless it is the one
        shown."""
        window = (filters.since, filters.until, filters.user)
        if window == self._window:
            return
        self._window = window
        name, per, inspection = self.tenant, self.per(filters), self.ops.services.inspection
        since, until, user = window
        self.query_one("#chart-bursts", Static).update(Text("reading activity…", style="dim"))
        self.load(
            lambda: inspection.summary(name, since=since, until=until, per=per, user=user),
            self._shown,
        )

    def _shown(self, summary: TenantActivity) -> None:
        self.summary = summary
        activity = summary.activity
        buckets = activity.buckets
        self.query_one("#chart-logins", Sparkline).data = [b.logins for b in buckets]
        self.query_one("#chart-failures", Sparkline).data = [b.failures for b in buckets]
        self.query_one("#chart-logins-label", Label).update(f"logins {count(activity.logins):>7}")
        rate = f"{activity.failure_rate:.0%}"
        self.query_one("#chart-failures-label", Label).update(
            f"failed {count(activity.failures):>7} {rate:>4}"
        )
        self._show_bursts()

    def on_resize(self) -> None:
        if self.summary is not None:
            self._show_bursts()

    def _show_bursts(self) -> None:
        assert self.summary is not None
        line = self.query_one("#chart-bursts", Static)
        width = line.content_size.width or self.content_size.width
        line.update(burst_line(self.summary.activity, width))

    def service_refused(self, error: OpsError) -> None:
        self._window = None  # so the next filter applied tries again
        self.query_one("#chart-bursts", Static).update(
            Text(f"no chart: {error.one_line()}", style="red")
        )
