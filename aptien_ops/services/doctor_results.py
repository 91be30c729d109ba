"""What ``aptien-ops doctor`` found: one :class:`Finding` per check, gathered in a report.

These types are the doctor's contract with its readers (the CLI prints them, the TUI shows
them): a finding's ``check`` id is stable, its ``detail`` and ``fix`` are one line each in the
operator's words, and neither ever holds a secret.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from aptien_ops.errors import ExitCode, OpsError


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NOT_APPLICABLE = "not applicable"
    """The check is about production only, and this is a sandbox."""
    NOT_CHECKED = "not checked"
    """A check it depends on failed (the catalog cannot be reached: its policy is not read)."""


#: How a verdict is marked on a terminal, alike in the CLI and the TUI.
MARKS = {
    Verdict.PASS: "✓",
    Verdict.FAIL: "✗",
    Verdict.NOT_APPLICABLE: "–",
    Verdict.NOT_CHECKED: "?",
}


@dataclass(frozen=True)
class Finding:
    """One check of the install and what it found.

    ``check`` is a stable dotted id: ``process.account``, ``files.key.region-eu``,
    ``catalog.admins``, ``cluster.eu-pg-1.privileges``, ``region.eu.store``. Its first part
    is the area (process, accounts, files, catalog, cluster, region).
    """

    check: str
    verdict: Verdict
    detail: str
    """What was found, one line."""
    fix: str = ""
    """What to do about a failure, one line (a command where there is one); empty otherwise."""
    connectivity: bool = False
    """A failure to reach a system (the catalog, a cluster): see :attr:`DoctorReport.exit_code`."""

    @property
    def ok(self) -> bool:
        """Passed, or does not apply here. A finding not checked is not known to be ok."""
        return self.verdict in (Verdict.PASS, Verdict.NOT_APPLICABLE)

    @classmethod
    def passed(cls, check: str, detail: str) -> Finding:
        return cls(check, Verdict.PASS, detail)

    @classmethod
    def failed(cls, check: str, detail: str, fix: str, *, connectivity: bool = False) -> Finding:
        return cls(check, Verdict.FAIL, detail, fix, connectivity)

    @classmethod
    def from_error(cls, check: str, error: OpsError, fix: str = "") -> Finding:
        """A failure as the console itself reports it: its message, its hint (or ``fix``)."""
        return cls.failed(
            check, error.message, error.hint or fix, connectivity=error.code == "unavailable"
        )

    @classmethod
    def not_applicable(cls, check: str, why: str) -> Finding:
        return cls(check, Verdict.NOT_APPLICABLE, why)

    @classmethod
    def not_checked(cls, check: str, why: str) -> Finding:
        return cls(check, Verdict.NOT_CHECKED, why)

    def as_json(self) -> dict[str, object]:
        return {
            "check": self.check,
            "ok": self.ok,
            "verdict": str(self.verdict),
            "detail": self.detail,
            "fix": self.fix,
            "connectivity": self.connectivity,
        }


@dataclass(frozen=True)
class DoctorReport:
    """Every finding of one run, in the order they were checked."""

    mode: str
    config: str
    findings: tuple[Finding, ...]
    recorded: str
    """How this run is in the ops log (``ops-log entry #12``), or why it is not."""

    @property
    def failed(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.verdict is Verdict.FAIL)

    @property
    def exit_code(self) -> ExitCode:
        """0 when nothing failed; 6 when every failure is a system that could not be reached
        (the install may be right, something is down); 7 when anything else failed."""
        failed = self.failed
        if not failed:
            return ExitCode.OK
        if all(f.connectivity for f in failed):
            return ExitCode.UNAVAILABLE
        return ExitCode.INTEGRITY

    def as_json(self) -> dict[str, object]:
        return {
            "mode": self.mode,
            "config": self.config,
            "ok": not self.failed,
            "recorded": self.recorded,
            "findings": [f.as_json() for f in self.findings],
        }


def not_checked(checks: Sequence[str], why: str) -> list[Finding]:
    """The same "not checked" finding for each of ``checks``."""
    return [Finding.not_checked(check, why) for check in checks]
