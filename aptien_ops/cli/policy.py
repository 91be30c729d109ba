"""``policy`` commands: the security policy a production catalog holds."""

from __future__ import annotations

import json

import click

from aptien_ops.cli.output import table
from aptien_ops.cli.state import CliState, pass_state


@click.group("policy")
def policy() -> None:
    """The security policy: four-eyes actions and their approvers, approval lifetime,
    retention, legal holds, session limits.

    A production catalog holds it (set when the catalog was created); a config cannot change
    it. `policy set` is itself four-eyes: it exits 8 and runs when a second admin approves.

    \b
    Examples:
      aptien-ops policy show
      aptien-ops policy set approval_lifetime_hours 12
      aptien-ops policy set legal_holds '["acme-gmbh", "maple-health"]'
    """


@policy.command("show")
@pass_state
def policy_show(state: CliState) -> None:
    """The policy in force and where it comes from."""
    view = state.console().policy.show()
    data = view.as_json()
    rows = [
        {"key": key, "value": json.dumps(value), "meaning": view.describe(key)}
        for key, value in view.policy.as_json().items()
    ]
    head = f"{view.mode} · policy from the {view.source}\n"
    state.out(data, head + table(rows, ("key", "value", "meaning")))


@policy.command("set")
@click.argument("key")
@click.argument("value")
@pass_state
def policy_set(state: CliState, key: str, value: str) -> None:
    """Request that KEY take VALUE (JSON, or a bare word); a second admin approves it."""
    state.console().policy.set(key, value)
