"""Service calls off the UI thread, for the app, every screen and every dialog: results come
back as :class:`ServiceOutcome` messages; a refusal is shown in the service's own words, a
four-eyes request says who approves it, and a change refused because another operator changed
the row meanwhile (:class:`~aptien_ops.errors.Stale`) says what changed and offers a reload."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import work
from textual.dom import DOMNode
from textual.message import Message
from textual.worker import Worker, WorkerState, get_current_worker

from aptien_ops.errors import OpsError, PendingApproval, Stale
from aptien_ops.wording import approvers_words


class ServiceOutcome(Message, bubble=False):
    """A service call finished in a worker thread; handled back on the UI thread.

    Exactly one of ``error`` / ``pending`` is set on failure; otherwise ``done(result)`` runs.
    """

    def __init__(
        self,
        done: Callable[[Any], None] | None,
        result: Any = None,
        *,
        error: OpsError | None = None,
        pending: PendingApproval | None = None,
        changed: bool = False,
    ) -> None:
        super().__init__()
        self.done = done
        self.result = result
        self.error = error
        self.pending = pending
        self.changed = changed


def pending_notice(pending: PendingApproval) -> str:
    """``request #7 recorded; another admin or security operator must approve`` — what the
    operator does next (who approves: the policy's roles for the action, as the CLI says)."""
    who = approvers_words(pending.approvers)
    return f"request #{pending.approval_id} recorded; {who} must approve"


class ServiceCaller(DOMNode):
    """Runs service calls off the UI thread. Mixed into the app and every screen.

    ``load`` is for reads (a newer load cancels an older one), ``change`` for mutations.
    Widgets are only touched in ``done`` callbacks, which run on the UI thread.
    """

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def load(self, call: Callable[[], Any], done: Callable[[Any], None]) -> None:
        self._call_service(call, done, changed=False)

    @work(thread=True, exclusive=True, exit_on_error=False, group="change")
    def change(self, call: Callable[[], Any], done: Callable[[Any], None]) -> None:
        self._call_service(call, done, changed=True)

    @work(thread=True, exclusive=True, exit_on_error=False, group="plan")
    def plan(self, call: Callable[[], Any], done: Callable[[Any], None]) -> None:
        """A read an action needs before it asks the operator (a prune's dry run, what a purge
        destroys), apart from the screen's reloads."""
        self._call_service(call, done, changed=False)

    @work(thread=True, exclusive=True, exit_on_error=False, group="prepare")
    def prepare(self, call: Callable[[], Any], done: Callable[[Any], None]) -> None:
        """Shape what was loaded for the table (filter, sort, cut to a window) off the UI thread:
        that work grows with the fleet. A newer one cancels an older one; reads (``load``) go
        on."""
        self._call_service(call, done, changed=False)

    def reading(self) -> bool:
        """A read of this node's (``load``) is still on its way."""
        return any(
            w.node is self and w.group == "load" and not w.is_finished for w in self.app.workers
        )

    def _call_service(
        self, call: Callable[[], Any], done: Callable[[Any], None], *, changed: bool
    ) -> None:
        try:
            outcome = ServiceOutcome(done, call(), changed=changed)
        except PendingApproval as pending:
            outcome = ServiceOutcome(None, pending=pending, changed=changed)
        except OpsError as error:
            outcome = ServiceOutcome(None, error=error, changed=changed)
        if not get_current_worker().is_cancelled:
            self.post_message(outcome)

    def on_service_outcome(self, outcome: ServiceOutcome) -> None:
        if isinstance(outcome.error, Stale):
            # Another operator changed it since it was read: say what, offer to read it again.
            self.changed_meanwhile(outcome.error)
            return
        if outcome.pending is not None:
            self.approval_pending(outcome.pending)
        elif outcome.error is not None:
            self.service_refused(outcome.error)
        elif outcome.done is not None:
            outcome.done(outcome.result)
        if outcome.changed:
            self.after_change()

    def changed_meanwhile(self, stale: Stale) -> None:
        """A change refused because another operator changed the row since this screen read
        it: a dialog says what it is now and offers to read it again (``after_change``; a
        screen also reads again when the dialog closes, as after every dialog)."""
        from aptien_ops.screens.modals import ConfirmModal

        question = f"{stale.message}. Nothing was changed."
        dialog = ConfirmModal(question, yes="Reload", no="Close", title="Changed meanwhile")
        self.app.push_screen(dialog, lambda reload: self.after_change() if reload else None)

    def approval_pending(self, pending: PendingApproval) -> None:
        """The change was recorded as a four-eyes request: say who must approve it."""
        self.app.notify(
            pending_notice(pending),
            title="Awaiting approval",
            severity="warning",
            timeout=10,
            markup=False,
        )

    def service_refused(self, error: OpsError) -> None:
        """Show a refusal or failure exactly as the service words it."""
        title = "Refused" if error.code == "forbidden" else f"Error ({error.code})"
        self.app.notify(error.one_line(), title=title, severity="error", timeout=10, markup=False)
        if error.code == "forbidden":  # revoked meanwhile? the keys offered follow the catalog
            refresh_roles = getattr(self.app, "refresh_roles", None)
            if refresh_roles is not None:
                refresh_roles()

    def after_change(self) -> None:
        """Called after every change attempt (done, pending or refused): reload what is shown."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # A worker that raised something other than OpsError hit a bug: say so, keep running.
        if event.state == WorkerState.ERROR and event.worker.node is self:
            error = event.worker.error
            self.log.error("worker failed", worker=event.worker.name, error=repr(error))
            self.app.notify(
                f"internal error: {type(error).__name__}: {error}",
                title="Bug",
                severity="error",
                timeout=15,
                markup=False,
            )
