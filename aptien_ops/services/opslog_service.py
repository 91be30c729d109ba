"""Reading and verifying the ops log."""

from __future__ import annotations

from aptien_ops.domain import OpsLogEntry
from aptien_ops.errors import InvalidInput
from aptien_ops.opslog import VerifyReport, verify_chain
from aptien_ops.permissions import Action
from aptien_ops.services.context import OpsContext


class OpsLogService:
    def __init__(self, ctx: OpsContext) -> None:
        self.ctx = ctx

    def list(self, limit: int = 50) -> list[OpsLogEntry]:
        """Newest first. Raises: InvalidInput (limit), Forbidden."""
        if not 1 <= limit <= 100_000:
            raise InvalidInput(f"--limit must be between 1 and 100000, got {limit}")
        return self.ctx.view(
            Action.OPSLOG_VIEW,
            "ops-log",
            lambda tx: tx.opslog.entries(limit=limit, newest_first=True),
        )

    def verify(self) -> VerifyReport:
        """Walk the whole chain. Raises: IntegrityFailure naming the first bad entry, Forbidden.

        The verification itself is logged (outcome ``ok`` or ``failed:integrity``) so an auditor
        can see when the log was last checked.
        """

        with self.ctx.audited(Action.OPSLOG_VERIFY, "ops-log") as attempt:
            with self.ctx.catalog.read() as tx:
                report = verify_chain(self.ctx.opslog_key, tx.opslog.stream(), tx.opslog.head())
            # Appending after a broken entry is still safe: the chain continues from the head.
            attempt.ok(entries=report.entries)
        return report
