"""``aptien-ops``: the TUI on a terminal, the scripted command line everywhere else.

Exit codes (SPEC §5): 0 ok, 1 internal, 2 invalid, 3 not found, 4 forbidden, 5 conflict,
6 unavailable, 7 integrity, 8 pending approval.
"""

from __future__ import annotations

import gc
import json
import sys

import click

from aptien_ops import __version__
from aptien_ops.cli.state import CliState
from aptien_ops.errors import ExitCode, InternalError, InvalidInput, OpsError

EPILOG = """\b
Examples:
  aptien-ops                              open the TUI (on a terminal)
  aptien-ops --json tenant list --region eu
  aptien-ops operator grant sam admin     (needs a second admin: exit 8)
  aptien-ops ops-log verify

Exit codes: 0 ok, 1 internal, 2 invalid, 3 not found, 4 forbidden, 5 conflict,
6 unavailable, 7 integrity failure, 8 awaiting approval."""


@click.group(
    invoke_without_command=True,
    epilog=EPILOG,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--config",
    metavar="PATH",
    help="ops.toml to use (default: $APTIEN_OPS_CONFIG, ./ops.toml, ~/.config/aptien-ops/ops.toml, embedded sandbox).",
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
    global _last_state
    state = _last_state = ctx.ensure_object(CliState)
    state.config, state.json, state.yes, state.verbose, state.read_only = (
        config,
        as_json,
        yes,
        verbose,
        read_only,
    )
    ctx.call_on_close(state.close)
    if ctx.invoked_subcommand is None:
        if sys.stdin.isatty() and sys.stdout.isatty() and not as_json:
            from aptien_ops.cli.tui import run_tui

            run_tui(state)
        else:
            click.echo(ctx.get_help(), err=True)
            ctx.exit(ExitCode.INVALID)


_last_state: CliState | None = None


def _register() -> None:
    from aptien_ops.cli import (
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
        tui.tui,
        inspect.inspect,
    ):
        cli.add_command(command)
    from aptien_ops.cli import backups

    cli.add_command(backups.backup)


_register()


def _report(error: OpsError, as_json: bool) -> None:
    if as_json:
        sys.stderr.write(json.dumps(error.as_json(), ensure_ascii=False) + "\n")
    else:
        label = "pending approval" if error.exit_code == ExitCode.PENDING_APPROVAL else "error"
        sys.stderr.write(f"aptien-ops: {label}: {error.one_line()}\n")


def main(argv: list[str] | None = None) -> None:
    """Entry point: runs the CLI and turns every outcome into the documented exit code."""
    # A short-lived command allocates many long-lived objects (SQLAlchemy's import, a page of
    # rows): collecting them costs more than it frees. Collection resumes, with everything
    # imported so far frozen out of it, once the console is open (CliState.console).
    gc.disable()
    args = sys.argv[1:] if argv is None else argv
    as_json = "--json" in args
    try:
        rc = cli.main(args=args, prog_name="aptien-ops", standalone_mode=False)
        if isinstance(rc, int) and rc:
            sys.exit(rc)
    except OpsError as error:
        _report(error, as_json)
        sys.exit(error.exit_code)
    except click.exceptions.Abort:
        _report(InvalidInput("cancelled"), as_json)
        sys.exit(ExitCode.INVALID)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.ClickException as usage:
        if as_json:
            _report(InvalidInput(usage.format_message()), True)
        else:
            usage.show()
        sys.exit(ExitCode.INVALID)
    except KeyboardInterrupt:
        sys.stderr.write("aptien-ops: interrupted\n")
        sys.exit(130)
    except Exception as bug:  # noqa: BLE001 - the one place a bug becomes exit 1
        _internal(bug, as_json)
    gc.freeze()  # nothing left worth collecting; spare the interpreter's exit a full pass
    sys.exit(ExitCode.OK)


def _internal(bug: Exception, as_json: bool) -> None:
    where = "the log file"
    try:
        from aptien_ops.config import load_settings
        from aptien_ops.eventlog import EventLog

        settings = load_settings(_last_state.config if _last_state else None)
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
    sys.exit(ExitCode.INTERNAL)
