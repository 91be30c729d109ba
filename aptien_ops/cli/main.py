"""``aptien-ops``: the TUI on a terminal, the scripted command line everywhere else.

Exit codes (SPEC §5): 0 ok, 1 internal, 2 invalid, 3 not found, 4 forbidden, 5 conflict,
6 unavailable, 7 integrity, 8 pending approval.
"""

from __future__ import annotations

import gc
import io
import json
import sys
from collections.abc import Sequence
from typing import NoReturn

import click

from aptien_ops import __version__
from aptien_ops.cli import interrupts
from aptien_ops.cli.global_flags import hoisted
from aptien_ops.cli.leaving import leave
from aptien_ops.cli.output import say
from aptien_ops.cli.state import CliState
from aptien_ops.domain import Identity
from aptien_ops.errors import (
    MESSAGE_LIMIT,
    ExitCode,
    InternalError,
    InvalidInput,
    NotConfirmed,
    OpsError,
)

EPILOG = """\b
Examples:
  aptien-ops                              open the TUI (on a terminal)
  aptien-ops --json tenant list --region eu
  aptien-ops operator grant sam admin     (needs a second admin: exit 8)
  aptien-ops ops-log verify

The options above go anywhere on the line: aptien-ops tenant list --json.
Exit codes: 0 ok, 1 internal, 2 invalid (or a confirmation answered no), 3 not found,
4 forbidden, 5 conflict, 6 unavailable, 7 integrity failure, 8 awaiting approval."""


@click.group(
    invoke_without_command=True,
    epilog=EPILOG,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--config",
    metavar="PATH",
    help="ops.toml to use (default: $APTIEN_OPS_CONFIG, ./ops.toml, "
    "~/.config/aptien-ops/ops.toml, embedded sandbox).",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print exactly one JSON value on stdout; messages and errors go to stderr.",
)
@click.option("--yes", "-y", is_flag=True, help="Answer yes to confirmations (scripts).")
@click.option("--verbose", "-v", is_flag=True, help="Also write operator events to stderr.")
@click.option("--read-only", is_flag=True, help="Refuse every change (TUI hides mutating actions).")
@click.version_option(__version__, prog_name="aptien-ops")
@click.pass_context
def cli(
    ctx: click.Context, config: str | None, as_json: bool, yes: bool, verbose: bool, read_only: bool
) -> None:
    """Aptien Ops — run the Aptien platform: tenants, regions, operators, approvals, ops log."""
    state = ctx.ensure_object(CliState)
    state.config, state.json, state.yes, state.verbose, state.read_only = (
        config,
        as_json,
        yes,
        verbose,
        read_only,
    )
    ctx.call_on_close(state.close)
    if ctx.invoked_subcommand is None:
        if as_json:
            raise InvalidInput(
                "no command given", hint="aptien-ops --help lists them; the TUI takes no --json"
            )
        if sys.stdin.isatty() and sys.stdout.isatty():
            from aptien_ops.cli.tui import run_tui

            run_tui(state)
        else:
            click.echo(ctx.get_help(), err=True)
            ctx.exit(ExitCode.INVALID)


def _register() -> None:
    from aptien_ops.cli import (
        doctor,
        inspect,
        keys,
        lifecycle,
        opslog,
        people,
        policy,
        sandbox,
        tenants,
        tui,
    )

    for command in (
        sandbox.sandbox,
        tenants.region,
        tenants.tenant,
        lifecycle.fleet,
        people.operator,
        people.approval,
        opslog.ops_log,
        policy.policy,
        keys.keys,
        doctor.doctor,
        tui.tui,
        inspect.inspect,
    ):
        cli.add_command(command)
    from aptien_ops.cli import backups

    cli.add_command(backups.backup)
    from aptien_ops.cli import partner_files, partner_links, partners

    del partner_files, partner_links  # they add their commands to the partner group
    cli.add_command(partners.partner)
    from aptien_ops.cli import breach, breach_notify

    del breach_notify  # it adds its commands to the breach group
    cli.add_command(breach.breach)
    from aptien_ops.cli import billing, billing_notify, billing_sync, billing_webhook

    del (
        billing_notify,
        billing_sync,
        billing_webhook,
    )  # they add their commands to the billing group
    cli.add_command(billing.billing)
    from aptien_ops.cli import op_notices

    cli.add_command(op_notices.notice)
    from aptien_ops.cli import jobs

    cli.add_command(jobs.jobs)
    cli.add_command(jobs.worker)


_register()


def _report(error: OpsError, as_json: bool) -> None:
    if as_json:
        sys.stderr.write(json.dumps(error.as_json(), ensure_ascii=True) + "\n")
    else:
        sys.stderr.write(f"aptien-ops: {error.label}: {error.one_line()}\n")


def main(argv: list[str] | None = None) -> NoReturn:
    """Entry point of the ``aptien-ops`` script: :func:`run`, then exit with its code (and
    never hang there: aptien_ops/cli/leaving.py)."""
    leave(run(sys.argv[1:] if argv is None else argv, process_ends=True))


def run(
    argv: Sequence[str], *, process_ends: bool = False, identity: Identity | None = None
) -> int:
    """Run one command line and return its exit code (SPEC §5) instead of exiting.

    Every outcome is translated here: an error becomes its exit code and one line on stderr
    (a JSON body with ``--json``), a bug exit 1 with its traceback in the log file, an
    interrupt 130. The console the command opened is closed before this returns.

    ``process_ends`` is for :func:`main`: the process exits right after, so collection is left
    as the command left it, everything frozen. ``identity`` is who the console acts as when not
    this process's own (tests of production, as sudo would report an operator; nothing on the
    command line reaches it). Otherwise (tests run commands in their own
    process) collection is restored as it was and what the command froze is thawed again.
    """
    # A short-lived command allocates many long-lived objects (SQLAlchemy's import, a page of
    # rows): collecting them costs more than it frees. Collection resumes, with everything
    # imported so far frozen out of it, once the console is open (CliState.console).
    collecting, frozen = gc.isenabled(), gc.get_freeze_count()
    gc.disable()
    try:
        return int(_translated(list(argv), identity, freeze=process_ends))
    finally:
        if process_ends:
            gc.freeze()  # nothing left worth collecting; spare the interpreter's exit a full pass
        else:
            if gc.get_freeze_count() > frozen:
                gc.unfreeze()  # thaws what was frozen before too: freezing only spares work
            if collecting:
                gc.enable()
            else:
                gc.disable()


def _translated(args: list[str], identity: Identity | None, *, freeze: bool) -> int:
    as_json, state = "--json" in args, CliState(identity=identity, freeze=freeze)
    try:
        line = hoisted(cli, args)
        as_json = line.json
        rc = cli.main(args=line.argv, prog_name="aptien-ops", standalone_mode=False, obj=state)
        if interrupts.interrupted():  # pressed where it could not raise, and never raised
            return interrupts.stopped()
        return int(rc) if isinstance(rc, int) and rc else ExitCode.OK
    except OpsError as error:
        _report(error, as_json)
        return error.exit_code
    except click.exceptions.Abort as abort:
        if isinstance(abort.__cause__, KeyboardInterrupt):  # click turns Ctrl-C into Abort
            return interrupts.stopped()
        _report(NotConfirmed(), as_json)  # end of input at a confirmation
        return ExitCode.INVALID
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.ClickException as usage:
        if as_json or _quotes_too_much(usage):
            _report(_usage_error(usage), as_json)
        else:
            shown = io.StringIO()  # click quotes what was typed: "No such command '…'"
            usage.show(file=shown)
            say(shown.getvalue().rstrip("\n"))
        return ExitCode.INVALID
    except KeyboardInterrupt:
        return interrupts.stopped()
    except Exception as bug:  # noqa: BLE001 - the one place a bug becomes exit 1
        return _internal(bug, state.config, as_json)


def _usage_error(usage: click.ClickException) -> InvalidInput:
    """A usage error as one JSON-able line (a group's help is not an error message)."""
    if isinstance(usage, click.exceptions.NoArgsIsHelpError):
        path = usage.ctx.command_path
        return InvalidInput(f"{path} needs a command", hint=f"{path} --help lists them")
    if isinstance(usage, click.UsageError) and usage.ctx is not None:
        return InvalidInput(
            usage.format_message(), hint=f"{usage.ctx.command_path} --help shows the usage"
        )
    return InvalidInput(usage.format_message())


def _quotes_too_much(usage: click.ClickException) -> bool:
    """Whether Click's message quotes more of a bad value than one line (the help of a group
    without its command is shown whole)."""
    if isinstance(usage, click.exceptions.NoArgsIsHelpError):
        return False
    return len(usage.format_message()) > MESSAGE_LIMIT


def _internal(bug: Exception, config: str | None, as_json: bool) -> int:
    where = "the log file"
    try:
        from aptien_ops.config import load_settings
        from aptien_ops.eventlog import EventLog

        settings = load_settings(config)
        log = EventLog.for_settings(settings)
        log.internal_error(bug)
        log.close()
        where = str(settings.logging.file)
    except (OpsError, OSError):
        pass
    _report(
        InternalError(f"internal error ({type(bug).__name__}); the traceback is in {where}"),
        as_json,
    )
    return ExitCode.INTERNAL
