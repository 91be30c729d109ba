"""``aptien-ops doctor``: check a production install and say how to fix what is wrong.

Checks, in order (docs/production.md, Doctor): the process (the service account, run through
sudo by an operator; its config root's alone), the accounts, the files (data and key
directories, every key, the public signing keys, the event log, the password files), the
catalog (reachable, schema, opened by the console, mode, policy, admins, its two roles and the
ops log's triggers), each cluster (reachable, its admin's privileges) and each region (its
backup store, its PostgreSQL client tools). In a sandbox only the catalog, the clusters and
the stores are checked; the rest is marked not applicable.

Every check stands on its own: one that fails never hides another, and what depends on a
failed one is marked not checked. Nothing is changed: the catalog is read as it is, and the
console opens it (to authorise and record the run) only when that changes nothing, that is
when its schema is this code's. The doctor runs even when the console could not open (the
catalog is down or behind, a key is not private, the process is not the service account): it
then records nothing. When the catalog opens, the run is authorised (every role may run it:
the findings hold no personal data and no secret) and recorded as one ops-log attempt,
``doctor.run``, ``ok`` or ``failed:integrity`` / ``failed:unavailable`` as the exit code says.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from aptien_ops.config import ClusterSettings, Settings
from aptien_ops.errors import ExitCode, Forbidden, OpsError
from aptien_ops.permissions import Action
from aptien_ops.ports import CatalogProbe, TenantStore
from aptien_ops.services.context import OpsContext
from aptien_ops.services.doctor_catalog import catalog_findings, uncurrent
from aptien_ops.services.doctor_fleet import cluster_findings, region_findings
from aptien_ops.services.doctor_host import (
    Account,
    account_findings,
    file_findings,
    process_findings,
    sandbox_findings,
)
from aptien_ops.services.doctor_results import DoctorReport, Finding, Verdict

__all__ = ["DoctorReport", "DoctorService", "Finding", "InstallProbes", "Verdict"]

OPENED = "the console opens it: its ops log has a signed head, its mode is the config's"


@dataclass(frozen=True)
class InstallProbes:
    """How the doctor reaches what it checks; each is opened afresh and read as it is."""

    catalog: Callable[[], CatalogProbe]
    """The catalog (never created, upgraded or bootstrapped). Raises: ConfigError."""
    cluster: Callable[[ClusterSettings], TenantStore]
    """A cluster's tenant store. Raises: InvalidInput (a malformed url)."""
    client_tools: Callable[[str], Mapping[str, str | None]]
    """For a cluster kind, each client tool its backups run and where it was found (None:
    not found)."""
    environ: Mapping[str, str]
    """This process's environment: where sudo reports the operator."""


class DoctorService:
    """Runs every check of the install; see the module's docstring."""

    def __init__(
        self,
        settings: Settings,
        probes: InstallProbes,
        ctx: OpsContext | None,
        refusal: OpsError | None = None,
    ) -> None:
        """``ctx`` is the console's context, or None when the console would not open, for
        the reason ``refusal`` says (the doctor then checks what it can and records nothing).
        """
        self.settings = settings
        self.probes = probes
        self.ctx = ctx
        self.refusal = refusal

    def run(self) -> DoctorReport:
        """Check the install. Never raises for what it finds: failures are findings.

        Raises: Forbidden when the catalog opens and the operator may not run the doctor (or
        is no operator): logged, nothing checked.
        """
        if self.ctx is None:
            reason = self.refusal.message if self.refusal else "no console"
            stopped = Finding.not_checked("catalog.opens", f"the console stopped first: {reason}")
            return self._report(self._check(stopped), "not recorded: the console did not open")
        closed = uncurrent(self.probes.catalog)
        if closed is not None:
            opens = Finding.not_checked("catalog.opens", closed)
            return self._report(self._check(opens), f"not recorded: {closed}")
        findings: list[Finding] | None = None
        try:
            with self.ctx.audited(Action.DOCTOR_RUN, self.settings.source) as attempt:
                findings = self._check(Finding.passed("catalog.opens", OPENED))
                failed = [f.check for f in findings if f.verdict is Verdict.FAIL]
                if failed:
                    report = self._report(findings, "")
                    code = (
                        "unavailable" if report.exit_code == ExitCode.UNAVAILABLE else "integrity"
                    )
                    attempt.fail(code, checks=len(findings), failed=failed)
                else:
                    attempt.ok(checks=len(findings))
        except Forbidden:
            raise
        except OpsError as refused:
            if findings is None:  # the catalog would not open: nobody can be authorised on it
                opens = Finding.from_error("catalog.opens", refused)
                return self._report(self._check(opens), "not recorded: the catalog did not open")
            return self._report(findings, f"not recorded: {refused.message}")
        entry = attempt.entry
        return self._report(findings, f"ops-log entry #{entry.seq}" if entry else "not recorded")

    def _report(self, findings: Sequence[Finding], recorded: str) -> DoctorReport:
        settings = self.settings
        return DoctorReport(settings.mode, settings.source, tuple(findings), recorded)

    def _check(self, opens: Finding) -> list[Finding]:
        settings, probes = self.settings, self.probes
        findings: list[Finding] = []
        if settings.sandbox:
            findings += sandbox_findings()
            writer: Account | None = Account.this_process()
        else:
            findings += _guarded("process", lambda: process_findings(settings, probes.environ))
            findings += _guarded("accounts", lambda: account_findings(settings))
            findings += _guarded("files", lambda: file_findings(settings))
            writer = Account.named(settings.bastion.service_account)
        findings += _guarded("catalog", lambda: catalog_findings(settings, probes.catalog, opens))
        findings += _guarded("cluster", lambda: cluster_findings(settings, probes.cluster))
        findings += _guarded(
            "region", lambda: region_findings(settings, writer, probes.client_tools)
        )
        return findings


def _guarded(area: str, check: Callable[[], list[Finding]]) -> list[Finding]:
    """The findings of one area; an error the area's checks did not expect becomes a failed
    finding of its own, so it hides nothing else."""
    try:
        return check()
    except OpsError as refused:
        return [Finding.from_error(area, refused)]
    except OSError as exc:
        stopped = f"the {area} checks stopped: {exc.strerror or exc}"
        return [Finding.failed(area, stopped, "look at what it names, then run the doctor again")]
