"""``doctor``: check a production install, each finding with its fix."""

from __future__ import annotations

import click

from aptien_ops.cli.state import CliState, pass_state
from aptien_ops.errors import ExitCode, IntegrityFailure, OpsError, Unavailable
from aptien_ops.services.doctor_results import MARKS, DoctorReport, Verdict
from aptien_ops.witness import shown


@click.command("doctor")
@pass_state
def doctor(state: CliState) -> None:
    """Check this production install: the process (the service account, through sudo), the
    accounts, the files and their modes (keys, public signing keys, event log, password
    files), the catalog (reachable, schema, mode, policy, two admins, its roles and the ops
    log's triggers), each cluster (reachable, its admin's privileges) and each region (backup
    store, pg_dump and pg_restore). One line per finding; a fix under each that failed.

    In a sandbox only the catalog, the clusters and the backup stores are checked. The doctor
    runs even when the catalog is down; when the catalog opens it is recorded in the ops log.

    \b
    Exit codes:
      0  every check passed (or does not apply here)
      6  the only failures are systems that could not be reached (the catalog, a cluster)
      7  anything else failed: the install needs fixing

    \b
    Examples:
      sudo -u aptien-ops aptien-ops doctor
      sudo -u aptien-ops aptien-ops --json doctor
    """
    from aptien_ops.composition import open_doctor

    try:
        service = state.console(defer_catalog=True).doctor
    except OpsError as refusal:  # the doctor still checks what it can
        service = open_doctor(state.config, refusal, clock=state.clock)
    if service.settings.sandbox:
        state.info(
            "aptien-ops doctor checks production installs; this is a sandbox: only its catalog,"
            " clusters and backup stores are checked"
        )
    report = service.run()
    state.out([f.as_json() for f in report.findings], _lines(report))
    failed = report.failed
    if not failed:
        state.info(f"all {len(report.findings)} checks passed or do not apply ({report.recorded})")
        return
    summary = (
        f"{len(failed)} of {len(report.findings)} checks failed:"
        f" {', '.join(f.check for f in failed)} ({report.recorded})"
    )
    hint = "fix each as shown, then run the doctor again; docs/production.md, Doctor"
    if report.exit_code == ExitCode.UNAVAILABLE:
        raise Unavailable(summary, hint=hint)
    raise IntegrityFailure(summary, hint=hint)


def _lines(report: DoctorReport) -> str:
    width = max((len(f.check) for f in report.findings), default=0)
    lines = []
    for finding in report.findings:
        mark = MARKS[finding.verdict]
        lines.append(f"{mark} {finding.check.ljust(width)}  {shown(finding.detail)}")
        if finding.verdict is Verdict.FAIL and finding.fix:
            lines.append(f"  {' ' * width}  fix: {shown(finding.fix)}")
    return "\n".join(lines)
