"""``inspect logins | audit | user | summary | export``: who logged in from where, who changed
what, when — from metadata alone. Every command needs the ``security`` role and is logged."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from aptien_ops.cli.output import echo, fields, say, table
from aptien_ops.cli.params import TextLimit, reason_option
from aptien_ops.cli.state import CliState, pass_state
from aptien_ops.domain import iso
from aptien_ops.domain.free_text import FILTER_VALUE
from aptien_ops.terminal_text import shown
from aptien_ops.wording import plural

if TYPE_CHECKING:
    from aptien_ops.services.inspection_results import TenantActivity

LOGIN_COLUMNS = ("at", "user_email", "ip", "result", "method", "user_agent")
AUDIT_COLUMNS = ("at", "actor", "action", "datasheet", "record_id", "key_id", "payload_size")
USER_COLUMNS = (
    ("tenant", 26),
    ("state", 10),
    ("region", 6),
    ("active", 6),
    ("last_login", 28),
    ("last_login_ip", 24),
    ("last_attempt_result", 20),
)


#: How many bursts and first-seen IPs ``inspect summary`` lists without ``--all``.
LISTED = 20
#: A filter's value: refused over its limit as the line is read.
FILTER = TextLimit(FILTER_VALUE)


def _rows(
    rows: Sequence[Mapping[str, Any]], widths: Mapping[str, int] | None = None
) -> list[dict[str, Any]]:
    """``rows`` with their text escaped for a terminal and cut to ``widths`` (user agents run
    long, and strangers type them)."""
    return [
        {
            k: shown(v, width=(widths or {}).get(k)) if isinstance(v, str) else v
            for k, v in r.items()
        }
        for r in rows
    ]


def _since_until(command: Any) -> Any:
    command = click.option(
        "--until",
        metavar="TIME",
        help="Up to (exclusive) TIME: ISO-8601 (UTC if no zone) or 24h, 7d, 2w ago.",
    )(command)
    return click.option(
        "--since",
        metavar="TIME",
        help="From TIME on: ISO-8601 (UTC if no zone) or 24h, 7d, 2w ago.",
    )(command)


def _paging(command: Any) -> Any:
    command = click.option(
        "--after",
        metavar="CURSOR",
        help="Continue after the page that printed CURSOR (same filters).",
    )(command)
    return click.option(
        "--limit", default=50, show_default=True, type=int, help="Rows per page (1-1000)."
    )(command)


@click.group(epilog=f"A filter's value has {FILTER_VALUE.help}.")
def inspect() -> None:
    """Login history and change audit of a tenant, from metadata alone (role security).

    Payloads stay sealed: on PostgreSQL the console reads as the region's inspector role, which
    the server refuses every payload column. Each command is recorded in the ops log.

    \b
    Examples (in a sandbox, act as sam, its security colleague, as the first line does):
      export APTIEN_OPS_OPERATOR=sam
      aptien-ops inspect logins acme-gmbh --failed
      aptien-ops inspect audit acme-gmbh --actor goran.okafor@acme-gmbh.example --since 7d
      aptien-ops inspect user goran.okafor@acme-gmbh.example
      aptien-ops inspect summary acme-gmbh --since 7d
      aptien-ops inspect export acme-gmbh --kind logins --format csv --output logins.csv \
--reason "SEC-42"
    """


def _page(state: CliState, page: Any, columns: Sequence[str], widths: Mapping[str, int]) -> None:
    data = page.as_json()
    if state.json:
        state.out(data)
        return
    if page.notice:
        say(f"note: {shown(page.notice)}")
    rows: list[dict[str, Any]] = data["rows"]
    echo(table(_rows(rows, widths), columns))
    more = f"; next page: --after {page.next_cursor}" if page.next_cursor else "; no more rows"
    say(f"{plural(len(rows), 'row')}, newest first{more}")


@inspect.command("logins")
@click.argument("name")
@_since_until
@click.option("--user", callback=FILTER, metavar="EMAIL", help="Only this user's logins.")
@click.option("--ip", callback=FILTER, help="Only logins from this address.")
@click.option("--failed", is_flag=True, help="Only failed logins.")
@click.option(
    "--result",
    callback=FILTER,
    help="Only this result (success, failure:bad_password, failure:mfa, …).",
)
@_paging
@pass_state
def inspect_logins(
    state: CliState,
    name: str,
    since: str | None,
    until: str | None,
    user: str | None,
    ip: str | None,
    failed: bool,
    result: str | None,
    limit: int,
    after: str | None,
) -> None:
    """Login events of tenant NAME, newest first: time, user, IP, result, method, user agent."""
    from aptien_ops.inspect_query import LoginFilters

    filters = LoginFilters(since=since, until=until, user=user, ip=ip, failed=failed, result=result)
    page = state.console().inspection.logins(name, filters, limit=limit, after=after)
    _page(state, page, LOGIN_COLUMNS, {"user_agent": 48, "user_email": 40})


@inspect.command("audit")
@click.argument("name")
@_since_until
@click.option("--actor", callback=FILTER, metavar="EMAIL", help="Only changes by this user.")
@click.option(
    "--action", callback=FILTER, help="Only this action (create, update, export, archive, delete)."
)
@click.option(
    "--datasheet", callback=FILTER, help="Only this datasheet (employees, contacts, applicants)."
)
@click.option("--record", callback=FILTER, metavar="ID", help="Only changes to this record.")
@_paging
@pass_state
def inspect_audit(
    state: CliState,
    name: str,
    since: str | None,
    until: str | None,
    actor: str | None,
    action: str | None,
    datasheet: str | None,
    record: str | None,
    limit: int,
    after: str | None,
) -> None:
    """Change-audit events of tenant NAME, newest first: who changed which record, when, and
    the size of the sealed payload (never its bytes)."""
    from aptien_ops.inspect_query import AuditFilters

    filters = AuditFilters(
        since=since, until=until, actor=actor, action=action, datasheet=datasheet, record=record
    )
    page = state.console().inspection.audit(name, filters, limit=limit, after=after)
    _page(state, page, AUDIT_COLUMNS, {"actor": 40})


@inspect.command("user")
@click.argument("email")
@click.option("--region", help="Only tenants of this region.")
@pass_state
def inspect_user(state: CliState, email: str, region: str | None) -> None:
    """Every tenant where EMAIL is a user, with the last login; the whole fleet, in parallel.

    Rows print as they are found (in any order; --json prints one list sorted by tenant).
    Purged tenants are skipped; suspended and cancelled ones are searched and say so.
    Exit 6 if some tenant could not be searched (the rows found are printed all the same).
    """
    from aptien_ops.cli.progress import Bar
    from aptien_ops.errors import Unavailable
    from aptien_ops.services.inspection_results import UserHit

    printed = 0

    def show(hit: UserHit) -> None:
        nonlocal printed
        if state.json:
            return
        row = hit.as_json()
        if not printed:  # the header waits for the first row: a refusal prints nothing on stdout
            echo("  ".join(c.upper().ljust(w) for c, w in USER_COLUMNS).rstrip())
        printed += 1
        cells = (
            shown(row.get(c) if row.get(c) is not None else "-", width=w).ljust(w)
            for c, w in USER_COLUMNS
        )
        echo("  ".join(cells).rstrip())

    search = state.console().inspection.find_user(
        email, region=region, on_hit=show, progress=Bar("searching", enabled=not state.json)
    )
    if state.json:
        state.out([hit.as_json() for hit in search.hits])
    else:
        say(
            f"{plural(len(search.hits), 'tenant')} of {search.searched} searched;"
            f" {search.skipped_purged} purged skipped"
        )
    if search.failures:
        first = search.failures[0]
        raise Unavailable(
            f"{plural(len(search.failures), 'tenant')} could not be searched;"
            " the list is incomplete",
            hint=f"{first.tenant.name}: {first.error}",
        )


@inspect.command("summary")
@click.argument("name")
@_since_until
@click.option(
    "--per",
    type=click.Choice(["hour", "day"]),
    help="Bucket size (default: hour up to 48 h, else day).",
)
@click.option(
    "--all",
    "every",
    is_flag=True,
    help=f"List every burst and first-seen IP (default: the first {LISTED} of each).",
)
@pass_state
def inspect_summary(
    state: CliState,
    name: str,
    since: str | None,
    until: str | None,
    per: str | None,
    every: bool,
) -> None:
    """Login activity of NAME (default the last 7 days): logins per hour or day, failure rate,
    distinct IPs and user agents, bursts of failures per user or IP (thresholds in ops.toml
    [inspection]) and IPs seen for the first time.

    The bursts and the first-seen IPs list the first few of each in time, then say how many
    more there are (--json: bursts_total and first_seen_ips_total count them all); --all lists
    every one.
    """
    summary = state.console().inspection.summary(name, since=since, until=until, per=per)
    listed = None if every else LISTED
    if state.json:
        state.out(summary.as_json(listed))
        return
    if summary.notice:
        say(f"note: {shown(summary.notice)}")
    echo(_summary_text(summary, listed))


def _capped(title: str, rows: list[dict[str, Any]], total: int, columns: Sequence[str]) -> str:
    """``title`` over a table of ``rows``, then how many of ``total`` it left out."""
    if not total:
        return f"{title}\nnone"
    more = total - len(rows)
    tail = f"\n… and {more:,} more (--all lists every one)" if more else ""
    return f"{title}\n{table(rows, columns)}{tail}"


def _summary_text(summary: TenantActivity, listed: int | None) -> str:
    """The summary as an operator reads it: the counts, then one table per part."""
    activity, limits = summary.activity, summary.activity.thresholds
    head: dict[str, object] = {
        "tenant": summary.tenant.name,
        "state": str(summary.tenant.state),
        "since": iso(activity.since),
        "until": iso(activity.until),
        "logins": activity.logins,
        "failures": activity.failures,
        "distinct_users": activity.distinct_users,
        "distinct_ips": activity.distinct_ips,
        "distinct_user_agents": activity.distinct_user_agents,
        "failure_rate": f"{activity.failure_rate * 100:.2f} %",
    }
    top = max((b.logins for b in activity.buckets), default=0) or 1
    buckets = [
        {**b.as_json(), "activity": "#" * round(30 * b.logins / top)} for b in activity.buckets
    ]
    bursts = [b.as_json() for b in activity.bursts[:listed]]
    first_seen = [a.as_json() for a in activity.first_seen_ips[:listed]]
    return "\n\n".join(
        [
            fields(head),
            f"LOGINS PER {activity.per.upper()}\n"
            + table(buckets, ("start", "logins", "failures", "activity")),
            _capped(
                f"BURSTS (>= {limits.failures} failures within {limits.window_minutes:g} min)",
                _rows(bursts, {"key": 48}),
                len(activity.bursts),
                ("by", "key", "start", "end", "failures"),
            ),
            _capped(
                "FIRST-SEEN IPS",
                _rows(first_seen),
                len(activity.first_seen_ips),
                ("ip", "first_at", "logins", "failures"),
            ),
        ]
    )


@inspect.command("export")
@click.argument("name")
@click.option("--kind", required=True, type=click.Choice(["logins", "audit"]), help="Which events.")
@click.option(
    "--format", "fmt", required=True, type=click.Choice(["jsonl", "csv"]), help="JSON lines or CSV."
)
@click.option(
    "--output",
    required=True,
    type=click.Path(path_type=Path),
    help="A new file (never overwritten; mode 0600).",
)
@reason_option("Why this personal data leaves the console")
@_since_until
@pass_state
def inspect_export(
    state: CliState,
    name: str,
    kind: str,
    fmt: str,
    output: Path,
    reason: str,
    since: str | None,
    until: str | None,
) -> None:
    """Write NAME's login or audit events (metadata only) to a file, newest first.

    Logged in the ops log with the reason before it starts and with the row count when done.
    """
    done = state.console().inspection.export(
        name, kind=kind, fmt=fmt, output=output, reason=reason, since=since, until=until
    )
    if not state.json and done.notice:
        say(f"note: {shown(done.notice)}")
    state.out(
        done.as_json(),
        f"exported {plural(done.rows, f'{kind} event')} to {shown(done.output)}"
        f" (sha256 {done.sha256})",
    )
