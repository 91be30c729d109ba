"""``sandbox`` commands: a self-contained console to try everything on."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import click

from aptien_ops.cli.output import fields
from aptien_ops.cli.state import CliState, pass_state
from aptien_ops.sandbox_billing import BILLING_PORT


def _not_connected(port: int) -> dict[str, object]:
    return {
        "connected": False,
        "hint": f"start aptien-ops sandbox billing-server --port {port}, then sandbox init again",
    }


def _billing_line(billing: Any) -> str:
    """``billing  connected: 11 linked (active 4, past_due 2, …)`` or not connected and why."""
    if not billing["connected"]:
        return f"billing                 not connected: {billing['hint']}"
    counts = Counter(billing["licences"].values())
    states = ", ".join(f"{state} {n}" for state, n in sorted(counts.items()))
    return f"billing                 connected, {billing['linked']} linked now ({states})"


@click.group()
def sandbox() -> None:
    """The embedded sandbox: SQLite catalog and tenants, local stores, demo operators.

    \b
    Examples:
      aptien-ops sandbox init --path /tmp/demo
      aptien-ops --config /tmp/demo/ops.toml tenant list
    """


@sandbox.command("init")
@click.option(
    "--path",
    "path",
    type=click.Path(path_type=Path),
    help="Directory for the sandbox (default: the user data dir).",
)
@click.option(
    "--billing-port",
    default=BILLING_PORT,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Where sandbox billing-server listens on 127.0.0.1 (billing is connected if it runs).",
)
@pass_state
def sandbox_init(state: CliState, path: Path | None, billing_port: int) -> None:
    """Write a self-contained sandbox (ops.toml, data, keys) with demo operators and the demo
    tenants of the examples (acme-gmbh, …), each with its users' logins and change audit,
    and a partner register (nordic-sales, …) with partners in both regions: some eligible,
    some expiring soon, one whose assignment has lapsed, reviews and a few contact shares.
    Dates are relative to today (UTC).

    If ``aptien-ops sandbox billing-server`` runs, billing is connected to it ([billing] in
    the sandbox's ops.toml) and it gets a Stripe customer per demo tenant (active, trialing,
    past due, unpaid, cancelled), linked and read by a full billing sync; without it billing
    shows "not connected".

    Running it again on the same directory changes nothing that is there already (and
    completes what an interrupted run left).
    """
    from aptien_ops.cli.progress import Bar
    from aptien_ops.composition import open_console
    from aptien_ops.composition.adapters import backend
    from aptien_ops.permissions import read_only_refusal
    from aptien_ops.sandbox import DEMO_TENANTS, default_sandbox_dir, write_sandbox_config
    from aptien_ops.sandbox_billing import billing_url, connect_billing

    if state.read_only:  # before a directory, a file or a catalog is made
        raise read_only_refusal("sandbox init")
    directory = (path or default_sandbox_dir()).expanduser().resolve()
    config, created = write_sandbox_config(directory)
    server_up = backend("billing_server", "answers")(billing_url(billing_port))
    if server_up:
        connect_billing(config, billing_url(billing_port))
    console = open_console(config, verbose=state.verbose, clock=state.clock)
    try:
        before = {t.name for t in console.tenants.list()}
        progress = Bar("demo tenants", enabled=not state.json)
        seeded = console.seeding.seed_demo(progress=progress)
        partners = console.seeding.seed_partners(name for name, *_ in DEMO_TENANTS)
        operators = [o.name for o in console.operators.list()]
        billing = console.sandbox_billing.seed() if server_up else None
    finally:
        console.close()
    data = {
        "path": str(directory),
        "config": str(config),
        "created": created,
        "operators": operators,
        "demo_tenants_added": sum(1 for name, *_ in DEMO_TENANTS if name not in before),
        "demo_tenants_seeded": sum(1 for s in seeded if s.stats is not None),
        "demo_partners_added": partners.partners,
        "demo_assignments_added": partners.assignments,
        "billing": billing.as_json() if billing else _not_connected(billing_port),
    }
    shown = {k: v for k, v in data.items() if k != "billing"}
    state.out(
        data,
        fields(shown) + f"\n{_billing_line(data['billing'])}\n\nnext: aptien-ops --config {config}",
    )


@sandbox.command("billing-server")
@click.option(
    "--port",
    default=BILLING_PORT,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="The port on 127.0.0.1 (loopback only).",
)
def sandbox_billing_server(port: int) -> None:
    """Run the sandbox's Stripe-compatible server (localstripe, from the dev extras) on
    127.0.0.1 until Ctrl-C: then run sandbox init, which connects the sandbox's billing to it
    and makes a Stripe customer for each demo tenant. No network is needed. Its customers
    are kept in memory: a restarted server starts empty.

    \b
    Example:
      aptien-ops sandbox billing-server &
      aptien-ops sandbox init
    """
    from aptien_ops.composition.adapters import backend

    def ready(url: str) -> None:
        click.echo(f"billing server on {url} (Ctrl-C stops it); next: aptien-ops sandbox init")

    backend("billing_server", "serve")(port, ready)


@sandbox.command("seed")
@click.option(
    "--tenants",
    default=4,
    show_default=True,
    type=int,
    help="How many tenants (across both regions).",
)
@click.option("--users", default=50, show_default=True, type=int, help="Platform users per tenant.")
@click.option(
    "--events", default=2000, show_default=True, type=int, help="Change-audit events per tenant."
)
@click.option("--logins", type=int, help="Login events per tenant (default: events / 5).")
@click.option(
    "--seed", "seed", default=1, show_default=True, type=int, help="Same seed, same activity."
)
@pass_state
def sandbox_seed(
    state: CliState, tenants: int, users: int, events: int, logins: int | None, seed: int
) -> None:
    """Provision tenants and fill them with realistic platform activity (encrypted payloads);
    add the sandbox's partner register (as ``sandbox init`` does) and assign its partners to
    the tenants they cover.

    Acts as the platform does, with tenant keys the console never reads. Sandbox mode only.

    \b
    Example:
      aptien-ops sandbox seed --tenants 20 --users 200 --events 50000 --seed 7
    """
    from aptien_ops.cli.progress import Bar
    from aptien_ops.services.sandbox_seed import SeedRequest

    request = SeedRequest(tenants=tenants, users=users, events=events, logins=logins, seed=seed)
    seeding = state.console().seeding
    seeded = seeding.seed(request, progress=Bar("seeding", enabled=not state.json))
    partners = seeding.seed_partners(s.tenant for s in seeded)
    rows = [s.as_json() for s in seeded]
    from aptien_ops.cli.output import table

    state.out(
        rows,
        table(
            rows,
            (
                "tenant",
                "region",
                "users",
                "logins",
                "audit_events",
                "records",
                "seconds",
                "skipped",
            ),
        )
        + f"\n\npartners: {partners.partners} added, {partners.assignments} assignments,"
        f" {partners.shares} contact shares",
    )
