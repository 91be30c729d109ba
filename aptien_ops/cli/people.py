"""``operator`` and ``approval`` commands."""

from __future__ import annotations

import click

from aptien_ops.cli.output import fields, table
from aptien_ops.cli.params import grep_option, if_version_option, reason_option
from aptien_ops.cli.state import CliState, pass_state
from aptien_ops.domain import Operator


@click.group()
def operator() -> None:
    """Operators (Aptien staff, by OS account) and their roles.

    \b
    Roles: viewer, operator, security, partner-manager, billing, admin.
    Granting admin needs a second admin's approval (exit 8, then: approval approve ID).
    Examples:
      aptien-ops operator add jdoe --role operator --role security
      aptien-ops operator grant jdoe admin
      aptien-ops operator sessions
    """


@operator.command("whoami")
@pass_state
def whoami(state: CliState) -> None:
    """Who this run acts as (OS account, SSH origin, session, roles)."""
    data = state.console().operators.whoami().as_json()
    state.out(data, fields(data))


@operator.command("list")
@pass_state
def operator_list(state: CliState) -> None:
    """Every operator with their roles."""
    ops = [o.as_json() for o in state.console().operators.list()]
    state.out(ops, table(ops, ("name", "roles", "active", "added_by", "added_at")))


@operator.command("add")
@click.argument("user")
@click.option("--role", "roles", multiple=True, required=True, help="A role to hold (repeatable).")
@pass_state
def operator_add(state: CliState, user: str, roles: tuple[str, ...]) -> None:
    """Add USER (an OS account) as an operator."""
    op = state.console().operators.add(user, roles).as_json()
    state.out(op, f"added {op['name']} with roles {', '.join(op['roles'])}")  # type: ignore[arg-type]


@operator.command("grant")
@click.argument("user")
@click.argument("role")
@if_version_option("operator")
@pass_state
def operator_grant(state: CliState, user: str, role: str, seen: int | None) -> None:
    """Grant ROLE to USER (admin: recorded for a second admin's approval)."""
    _now_holds(state, state.console().operators.grant(user, role, seen=seen))


@operator.command("revoke")
@click.argument("user")
@click.argument("role")
@if_version_option("operator")
@pass_state
def operator_revoke(state: CliState, user: str, role: str, seen: int | None) -> None:
    """Take ROLE away from USER."""
    _now_holds(state, state.console().operators.revoke(user, role, seen=seen))


@operator.command("sessions")
@click.option("--all", "ended", is_flag=True, help="Also the sessions that have ended.")
@pass_state
def operator_sessions(state: CliState, ended: bool) -> None:
    """Who is in the console now, from where and since when (security, admin; logged).

    A session whose process is gone without having ended (a crash, a lost host) is shown as
    stale, never as on; one held on another bastion host as elsewhere."""
    rows = [r.as_json() for r in state.console().sessions.list(ended=ended).sessions]
    state.out(rows, table(rows, ("operator", "origin", "since", "state", "host", "session_id")))


def _now_holds(state: CliState, changed: Operator) -> None:
    """The operator after a grant or revoke: ``jdoe now holds admin, operator``."""
    roles = ", ".join(sorted(changed.roles)) or "no roles"
    state.out(changed.as_json(), f"{changed.name} now holds {roles}")


@click.group()
def approval() -> None:
    """Four-eyes requests: approve or reject what another operator asked for.

    \b
    Examples:
      aptien-ops approval list --state pending
      aptien-ops approval list --grep acme-gmbh
      aptien-ops approval approve 12
      aptien-ops approval reject 12 --reason "not agreed in the change board"
    """


@approval.command("list")
@click.option("--state", "wanted", metavar="STATE", help="pending, approved, rejected or failed.")
@grep_option("requests")
@pass_state
def approval_list(state: CliState, wanted: str | None, grep: str | None) -> None:
    """Requests, newest first. --grep expired finds pending requests past their lifetime."""
    items = [a.as_json() for a in state.console().approvals.list(wanted, grep=grep)]
    state.out(
        items,
        table(
            items, ("id", "action", "target", "state", "requested_by", "requested_at", "decided_by")
        ),
    )


@approval.command("approve")
@click.argument("approval_id", type=int)
@if_version_option("request")
@pass_state
def approval_approve(state: CliState, approval_id: int, seen: int | None) -> None:
    """Approve request APPROVAL_ID and run it (you cannot approve your own). Two operators
    approving it at once run it once: the second is refused (exit 5)."""
    decision = state.console().approvals.approve(approval_id, seen=seen)
    done = f"approved #{approval_id}: {decision.action} {decision.target} done"
    state.out(decision.as_json(), done)


@approval.command("reject")
@click.argument("approval_id", type=int)
@reason_option()
@if_version_option("request")
@pass_state
def approval_reject(state: CliState, approval_id: int, reason: str, seen: int | None) -> None:
    """Reject request APPROVAL_ID (or withdraw your own)."""
    a = state.console().approvals.reject(approval_id, reason, seen=seen).as_json()
    state.out({**a, "state": "rejected"}, f"rejected #{approval_id}")
