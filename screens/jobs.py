"""Job tracking: the long jobs running in screens' workers, and quitting while one runs."""

from __future__ import annotations

from textual.app import App

from aptien_ops.screens.base import OpsScreen
from aptien_ops.screens.formatting import plural
from aptien_ops.screens.modals import ConfirmModal


class JobTracking(App[None]):
    """The app's part that knows the running jobs and asks before quitting (mixed into
    ``OpsApp``, whose ``__init__`` sets ``jobs`` and ``quit_when_done``)."""

    jobs: dict[OpsScreen, str]
    quit_when_done: bool
    locked: bool

    def job_started(self, screen: OpsScreen, doing: str) -> None:
        self.jobs[screen] = doing

    def job_ended(self, screen: OpsScreen) -> None:
        """A screen's job is over (done, refused or failed): quit if the operator asked to."""
        self.jobs.pop(screen, None)
        if self.quit_when_done and not self.jobs:
            self.exit()

    async def action_quit(self) -> None:
        """Quit; while a long job (a backup run, a verification, a restore, a migration) is
        going, ask first. Its worker thread
        cannot be stopped halfway (each backup is written whole or not at all), so the
        console offers to quit once it is done, showing its progress until then."""
        if not self.jobs:
            self.exit()
            return
        # Locked, the question names no tenant (the lock screen hides them all).
        doing = plural(len(self.jobs), "job") if self.locked else "; ".join(self.jobs.values())

        def decided(yes: bool | None) -> None:
            if yes:
                self.quit_when_done = True
                self.notify(
                    f"quitting once this is done: {doing}", title="Quit when done", timeout=30
                )

        question = (
            f"Still going: {doing}.\nIt cannot be stopped halfway safely. Quit once it is"
            " done? Its progress stays on its screen until then."
        )
        self.push_screen(
            ConfirmModal(question, yes="Quit when done", title="A job is running"), decided
        )
