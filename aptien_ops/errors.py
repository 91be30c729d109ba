"""The console's own error types, one exit code each (SPEC §5).

Adapters translate driver exceptions into these at their edge; the CLI and the TUI only
ever see :class:`OpsError` subclasses. Messages are one line, written for an operator.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum

from aptien_ops.terminal_text import shown
from aptien_ops.wording import approvers_words

#: The longest message an error carries: one line a tired operator reads at a glance, however
#: much of what they typed it quotes.
MESSAGE_LIMIT = 300
#: The longest hint: it may quote a driver's detail before the advice, which must survive.
HINT_LIMIT = 600


def one_line(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """``text`` on one line (white space collapsed), cut to ``limit`` characters with ``…``."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


class ExitCode(IntEnum):
    OK = 0
    INTERNAL = 1
    INVALID = 2
    NOT_FOUND = 3
    FORBIDDEN = 4
    CONFLICT = 5
    UNAVAILABLE = 6
    INTEGRITY = 7
    PENDING_APPROVAL = 8


class OpsError(Exception):
    """Base of every error the console reports to an operator.

    A kind of error names its exit code as a class keyword, ``class NotFound(OpsError,
    exit_code=ExitCode.NOT_FOUND)``; its JSON ``code`` is that exit code's name in lower case
    (``not_found``). A subclass without the keyword keeps its parent's.
    """

    exit_code: ExitCode = ExitCode.INTERNAL
    code: str = "internal"
    label: str = "error"
    """How the command line's one line names it: ``aptien-ops: <label>: <message>``."""

    def __init_subclass__(cls, exit_code: ExitCode | None = None, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if exit_code is not None:
            cls.exit_code, cls.code = exit_code, exit_code.name.lower()

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        # Keep it to one short line whatever the caller passed in.
        self.message = one_line(message)
        self.hint = None if hint is None else one_line(hint, HINT_LIMIT)
        super().__init__(self.message)

    def one_line(self) -> str:
        """The message (and hint) as a terminal shows it: messages quote input, so any control
        or bidi character in it is escaped (``as_json`` keeps the text as it is)."""
        return shown(f"{self.message} ({self.hint})" if self.hint else self.message)

    def as_json(self) -> dict[str, object]:
        body: dict[str, object] = {"code": self.code, "message": self.message}
        if self.hint:
            body["hint"] = self.hint
        return {"error": body}


class InvalidInput(OpsError, exit_code=ExitCode.INVALID):
    """Bad arguments, a malformed name, an invalid configuration."""


class NotConfirmed(InvalidInput):
    """The operator answered no (or nothing) to a confirmation, so the command stopped before
    it changed anything. Exit 2, as any input that stops a command before it acts."""

    label = "stopped"

    def __init__(self) -> None:
        super().__init__("you answered no; nothing was changed")


class ConfigError(InvalidInput):
    """The configuration file is malformed, unknown keys, wrong values, or a secret in it."""


class NotFound(OpsError, exit_code=ExitCode.NOT_FOUND):
    """No such tenant, backup, operator, request or file."""


class Forbidden(OpsError, exit_code=ExitCode.FORBIDDEN):
    """The operator's roles do not allow the action."""


class Conflict(OpsError, exit_code=ExitCode.CONFLICT):
    """Exists already, wrong state, or lost a race."""


class Stale(Conflict):
    """The row changed since the operator read it (another operator won the race): nothing
    was changed; the message says what the row is now. The TUI offers to read it again."""

    label = "changed meanwhile"


class Unavailable(OpsError, exit_code=ExitCode.UNAVAILABLE):
    """A backend (database, store, SMTP, Stripe) cannot be reached."""


class IntegrityFailure(OpsError, exit_code=ExitCode.INTEGRITY):
    """Verification failed: a log entry, a backup or a manifest does not check out."""


class PendingApproval(OpsError, exit_code=ExitCode.PENDING_APPROVAL):
    """The action was recorded and waits for a second operator's approval.

    Not a failure: the CLI exits 8 and prints the approval so it can be handed on.
    """

    label = "pending approval"

    def __init__(
        self,
        message: str,
        *,
        approval_id: int,
        action: str,
        target: str,
        approvers: Iterable[str] = ("admin",),
    ) -> None:
        #: The roles that may approve it (the policy's, for its action).
        self.approvers = tuple(sorted(set(approvers)))
        who = approvers_words(self.approvers)
        super().__init__(message, hint=f"{who} runs: aptien-ops approval approve {approval_id}")
        self.approval_id = approval_id
        self.action = action
        self.target = target

    def as_json(self) -> dict[str, object]:
        body = super().as_json()
        err = body["error"]
        assert isinstance(err, dict)
        err.update(
            approval_id=self.approval_id,
            action=self.action,
            target=self.target,
            approvers=list(self.approvers),
        )
        return body


class InternalError(OpsError):
    """A bug. The traceback goes to the log file; the operator sees one line."""
