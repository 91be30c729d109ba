"""``partner publish`` and ``partner import``."""

from __future__ import annotations

import click

from aptien_ops.cli.partners import partner
from aptien_ops.cli.state import CliState, pass_state
from aptien_ops.partner_files import IMPORT_COLUMNS
from aptien_ops.wording import plural


@partner.command("publish")
@click.option("--format", "fmt", required=True, help="html or json.")
@click.option("--output", required=True, metavar="FILE", help="The file.")
@pass_state
def partner_publish(state: CliState, fmt: str, output: str) -> None:
    """Write the official list for the website: the partners eligible today (UTC), with their
    kinds and coverage, every value escaped. The file is replaced whole, never half-written."""
    done = state.console().partners.publish(fmt, output)
    state.out(done.as_json(), f"published {plural(done.partners, 'partner')} to {done.path}")


@partner.command("import", epilog="Columns: " + ",".join(IMPORT_COLUMNS))
@click.argument("file")
@click.option("--dry-run", is_flag=True, help="Only print the diff; change nothing.")
@pass_state
def partner_import(state: CliState, file: str, dry_run: bool) -> None:
    """Load the register from FILE (CSV, UTF-8, a BOM is fine): partners not yet known are
    added, known ones changed, those missing from the file ended. The diff is printed first;
    it is applied in one transaction or not at all. A bad file is refused naming its line
    and column. Lists in a cell (kinds, coverage, expertise) are separated by ';' or spaces;
    dates are YYYY-MM-DD (UTC)."""
    diff = state.console().partners.import_csv(file, dry_run=dry_run)
    lines = [f"+ {name}" for name in diff.added]
    lines += [f"~ {name}" for name in diff.changed]
    lines += [f"- {name}" for name in diff.ended]
    verdict = "applied" if diff.applied else "dry run: nothing changed"
    summary = (
        f"{plural(len(diff.added), 'partner')} added, {len(diff.changed)} changed,"
        f" {len(diff.ended)} ended, {diff.unchanged} unchanged ({verdict})"
    )
    state.out(diff.as_json(), "\n".join([*lines, summary]))
