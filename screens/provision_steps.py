"""The live list of a tenant's provisioning steps: a mark, the step, what it leaves behind."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from aptien_ops.screens.formatting import step_mark
from aptien_ops.services.provisioning import STEPS

#: What each step leaves behind, in the operator's words.
STEP_TEXT = {
    "reserve": "name reserved, cluster chosen",
    "owner-role": "owner role, password sealed",
    "database": "database, CONNECT revoked from PUBLIC",
    "schema": "tenant schema applied",
    "inspector-grants": "inspector reads metadata columns only",
    "backup-identity": "backup key made, secret sealed",
    "active": "tenant active",
}


class StepList(Static):
    """Every step with its status: pending, start (running), done, skip (done before) or failed."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.status: dict[str, str] = {}

    def begin(self) -> None:
        """A run starts: the service reports every step but the first, which runs at once."""
        self.status = {step: "pending" for step in STEPS}
        self.status[STEPS[0]] = "start"
        self.show()

    def report(self, step: str, status: str) -> None:
        """The service reported ``step`` as start, done or skip."""
        if self.status.get(STEPS[0]) == "start":
            self.status[STEPS[0]] = "done"  # a later step reported: the first one is behind us
        self.status[step] = status
        self.show()

    def finish(self) -> None:
        self.status = {
            step: ("skip" if status == "skip" else "done") for step, status in self.status.items()
        }
        self.show()

    def fail(self) -> str:
        """Mark the first step not done as failed (the run stopped there) and return it."""
        failed = next((s for s in STEPS if self.status.get(s) not in ("done", "skip")), STEPS[0])
        self.status[failed] = "failed"
        self.show()
        return failed

    def show(self) -> None:
        lines = Text()
        for n, step in enumerate(STEPS):
            status = self.status.get(step, "pending")
            if n:
                lines.append("\n")
            lines.append_text(step_mark(status))
            lines.append(f"{step:<17}", style="bold" if status in ("start", "failed") else "")
            note = STEP_TEXT[step] + (" (done before)" if status == "skip" else "")
            lines.append(note, style="dim" if status in ("pending", "skip") else "")
        self.update(lines)
