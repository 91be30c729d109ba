"""``backup run | list | due | verify | restore | reconcile | prune``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from aptien_ops.cli.output import fields, say, table
from aptien_ops.cli.params import grep_option
from aptien_ops.cli.progress import Bar
from aptien_ops.cli.state import CliState, pass_state
from aptien_ops.domain import iso
from aptien_ops.wording import plural

if TYPE_CHECKING:
    from aptien_ops.backup_policy import BackupRecord, PruneDecision
    from aptien_ops.errors import OpsError
    from aptien_ops.services.backups import RunOutcome


def _size(n: object) -> str:
    if not isinstance(n, int):
        return "-"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


@click.group()
def backup() -> None:
    """Encrypted backups, kept in each tenant's own region: run, verify, restore, schedule,
    retention.

    Each backup is compressed and encrypted to the tenant's own key; purging a tenant destroys
    that key, and with it every backup of the tenant. A restore puts a backup back into service
    in its own region: into a new tenant, or over its tenant's data (a second operator
    approves). It is swapped in only once every table's row count matches the backup.

    \b
    Examples:
      aptien-ops backup run acme-gmbh nordlicht-as
      aptien-ops backup run --due --parallel 4      (cron: back up and verify what is due)
      aptien-ops backup list acme-gmbh
      aptien-ops backup verify bk-20250101T020000Z-1a2b3c --level restore
      aptien-ops backup restore bk-20250101T020000Z-1a2b3c --to acme-gmbh-restored
      aptien-ops backup restore bk-20250101T020000Z-1a2b3c --to acme-gmbh   (exit 8: approve)
      aptien-ops backup prune --dry-run

    Exit codes: 3 unknown backup or tenant, 5 tenant purged or the target exists, 6 store or
    cluster unavailable, 7 a backup failed verification or did not restore faithfully,
    8 a replacement awaits approval.
    """


def _failure(outcomes: list[RunOutcome]) -> OpsError | None:
    """The error the run exits with: a failed backup before a failed verification."""
    failed = sorted((o for o in outcomes if not o.ok), key=lambda o: o.action != "backup")
    if not failed or failed[0].error is None:
        return None
    first = failed[0].error
    return type(first)(
        f"{len(failed)} of {len(outcomes)} failed; first: {failed[0].tenant}: {first.message}",
        hint="see the list above; rerunning backs up and verifies what is still due",
    )


@backup.command("run")
@click.argument("names", nargs=-1, metavar="[NAME]...")
@click.option(
    "--due",
    is_flag=True,
    help="Every tenant due for a backup, then every backup due for verification.",
)
@click.option(
    "--region", help="Every tenant of this region (with --due: only this region's due work)."
)
@click.option(
    "--parallel", default=1, show_default=True, type=int, help="Backups at once per cluster (1-16)."
)
@click.option(
    "--enqueue",
    is_flag=True,
    help="Queue the work for the region workers and return at once with the job ids"
    " (a PostgreSQL catalog).",
)
@pass_state
def backup_run(
    state: CliState,
    names: tuple[str, ...],
    due: bool,
    region: str | None,
    parallel: int,
    enqueue: bool,
) -> None:
    """Back up tenants NAME..., or what is due (--due), or a whole region (--region R).

    \b
    Examples:
      aptien-ops backup run acme-gmbh
      aptien-ops backup run --region eu --parallel 2
      aptien-ops --json backup run --due        (cron-friendly; exit 0 when all went well)
      aptien-ops --json backup run --due --enqueue   (the region workers do it)
    """
    if enqueue:
        from aptien_ops.cli.jobs import show_enqueued

        show_enqueued(state, state.console().jobs.enqueue_backups(names, due=due, region=region))
        return
    bar = Bar("backup", enabled=not state.json)
    outcomes = state.console().backups.run(
        names, due=due, region=region, parallel=parallel, progress=bar if bar.enabled else None
    )
    rows = [o.as_json() for o in outcomes]
    for row in rows:
        row["size"] = _size(row["ciphertext_size"])
    ok = sum(1 for o in outcomes if o.ok)
    human = (
        table(rows, ("tenant", "action", "backup_id", "ok", "size", "seconds", "detail"))
        if rows
        else "nothing to do"
    )
    state.out(
        [o.as_json() for o in outcomes],
        f"{human}\n{ok} of {len(rows)} succeeded" if rows else human,
    )
    error = _failure(outcomes)
    if error is not None:
        raise error


@backup.command("list")
@click.argument("name", required=False)
@click.option("--all", "include_pruned", is_flag=True, help="Also backups that retention pruned.")
@grep_option("backups")
@pass_state
def backup_list(state: CliState, name: str | None, include_pruned: bool, grep: str | None) -> None:
    """Backups (of NAME), oldest first, with their status and last verification.

    A pure read of the catalog's index: backups found in the store but not in the index are
    named in a note (run `backup reconcile`), and indexed backups whose files have vanished
    are shown as "missing".
    Status: verified, unverified, failed, missing or pruned.
    --grep looks in the id, tenant, region, cluster, time and status (`--grep failed`), not
    in the size or the last verification.
    """
    listing = state.console().backups.listing(name, include_pruned=include_pruned, grep=grep)
    for note in listing.notes:  # warnings about the store: on stderr even with --json
        say(f"aptien-ops: {note}")
    rows = [r.as_json() for r in listing.rows]
    if state.json:
        state.out(rows)
        return
    shown = []
    for row in listing.rows:
        last = row.last_verification
        verified = f"{last.level} {'ok' if last.ok else 'FAILED'} {iso(last.at)}" if last else "-"
        size = _size(row.record.ciphertext_size)
        shown.append({**row.as_json(), "size": size, "last_verification": verified})
    columns = ("id", "tenant", "region", "created_at", "size", "status", "last_verification")
    state.out(rows, table(shown, columns) + f"\n{plural(len(rows), 'backup')}")


@backup.command("reconcile")
@click.option("--region", help="Only this region's store.")
@pass_state
def backup_reconcile(state: CliState, region: str | None) -> None:
    """Bring the catalog's index in line with the region stores: index backups the stores
    hold, report indexed ones whose files are gone, remove stale partial files left by
    crashed runs. `backup run` does it first; so does `fleet check` for an operator.
    """
    report = state.console().backups.reconcile(region)
    lines = [
        f"indexed {plural(len(report.indexed), 'backup')} found in the store"
        + (f": {', '.join(report.indexed[:5])}" if report.indexed else ""),
        f"{plural(len(report.missing), 'indexed backup')} missing from the store"
        + (f": {', '.join(report.missing[:5])}" if report.missing else ""),
        f"removed {plural(len(report.cleaned), 'stale partial file')}",
    ]
    state.out(report.as_json(), "\n".join(lines))


@backup.command("due")
@click.option("--region", help="Only this region.")
@pass_state
def backup_due(state: CliState, region: str | None) -> None:
    """Tenants due for a backup and backups due for verification (overdue first).

    `backup run --due` works through this list.
    """
    items = [i.as_json() for i in state.console().backups.due(region=region)]
    if not items:
        state.out(items, "nothing is due")
        return
    late = sum(1 for i in items if i["overdue"])
    state.out(
        items,
        table(items, ("kind", "tenant", "region", "backup_id", "overdue", "deadline", "reason"))
        + f"\n{len(items)} due, {late} overdue",
    )


@backup.command("verify")
@click.argument("backup_id")
@click.option(
    "--level", metavar="LEVEL", help="quick | full | restore (default: the region's verify_level)."
)
@click.option(
    "--enqueue",
    is_flag=True,
    help="Queue the work for the region workers and return at once with the job ids"
    " (a PostgreSQL catalog).",
)
@pass_state
def backup_verify(state: CliState, backup_id: str, level: str | None, enqueue: bool) -> None:
    """Verify BACKUP_ID and record the result (exit 7 when it fails, saying what).

    \b
    quick    sizes, ciphertext SHA-256, manifest signature (no tenant key needed)
    full     decrypt, decompress, check the dump's SHA-256 and walk the archive
    restore  restore into a scratch database in the same region, compare row counts

    \b
    Example:
      aptien-ops backup verify bk-20250101T020000Z-1a2b3c --level restore
    """
    if enqueue:
        from aptien_ops.cli.jobs import show_enqueued

        show_enqueued(state, [state.console().jobs.enqueue_verify(backup_id, level)])
        return
    result = state.console().backups.verify(backup_id, level)
    data = result.as_json()
    state.out(data, fields(data))


@backup.command("restore")
@click.argument("backup_id")
@click.option(
    "--to",
    "to",
    required=True,
    metavar="NAME",
    help="A new tenant (made in the backup's region), or the backup's own tenant to replace"
    " its data (asks first; a second operator approves).",
)
@pass_state
def backup_restore(state: CliState, backup_id: str, to: str) -> None:
    """Put BACKUP_ID back into service as tenant NAME.

    The backup is restored into a new database on a cluster of its own region and checked:
    hashes, the archive's table of contents and every table's row count against its signed
    manifest. Only then does it take the place of NAME's database, in one step; until then
    nothing of NAME changes, and a failure at any point leaves it as it was. Rerunning the
    same command converges.

    \b
    NAME new:   a tenant is provisioned in the backup's region for the source tenant's
                country (with its own backup key) and gets the restored data.
    NAME the backup's own tenant: its current data is replaced (everything written since
                the backup is lost; back it up first). Asks unless --yes; recorded as a
                four-eyes request (exit 8) that runs when a second operator approves it.

    \b
    Examples:
      aptien-ops backup restore bk-20250101T020000Z-1a2b3c --to acme-gmbh-restored
      aptien-ops --yes backup restore bk-20250101T020000Z-1a2b3c --to acme-gmbh
    """
    from aptien_ops.backup_policy import check_backup_id
    from aptien_ops.cli.progress import StepPrinter
    from aptien_ops.domain import validate_tenant_name

    # Nothing typed is echoed (the line below) before it is known to be an id and a name.
    check_backup_id(backup_id)
    validate_tenant_name(to)

    def confirm(record: BackupRecord) -> None:
        state.confirm(
            f"replace ALL data of tenant {record.tenant} with backup {record.id} of"
            f" {iso(record.created_at)}? Everything written since then is lost"
        )

    bar = Bar("restoring", enabled=not state.json)
    if not state.json:
        state.info(f"restoring {backup_id} into {to}:")
    result = state.console().backups.restore(
        backup_id,
        to,
        progress=bar if bar.enabled else None,
        steps=StepPrinter(not state.json),
        confirm_replace=confirm,
    )
    verb = "data replaced" if result.replaced else "restored"
    state.out(
        result.as_json(),
        f"{result.tenant}: {verb} from {result.backup_id} ({result.tables} tables,"
        f" {result.rows:,} rows) — {result.detail}",
    )


@backup.command("prune")
@click.option("--dry-run", is_flag=True, help="Only show what would be deleted.")
@pass_state
def backup_prune(state: CliState, dry_run: bool) -> None:
    """Apply retention: keep the newest backup of each of the last N days, weeks and months
    (ops.toml), always the newest, everything under legal hold or of a cancelled tenant
    within its retention; purged tenants' (unreadable) backups are deleted.

    Asks before deleting unless --yes.
    """

    def confirm(doomed: list[PruneDecision]) -> None:
        tenants = len({d.tenant for d in doomed})
        state.confirm(
            f"delete {plural(len(doomed), 'backup')} of {plural(tenants, 'tenant')}? "
            "They cannot be restored afterwards"
        )

    decisions = state.console().backups.prune(dry_run=dry_run, confirm=confirm)
    rows = [d.as_json() for d in decisions]
    doomed = [r for r in rows if r["action"] == "prune"]
    verb = "would prune" if dry_run else "pruned"
    human = (
        (table(doomed, ("backup_id", "tenant", "created_at", "reasons")) + "\n") if doomed else ""
    )
    state.out(
        rows, f"{human}{verb} {plural(len(doomed), 'backup')}, kept {len(rows) - len(doomed)}"
    )
