"""What the commands' parameters share: free text refused by its limit while the line is read,
before the console opens anything."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from aptien_ops.domain.free_text import GREP, REASON, FreeText

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class TextLimit:
    """An option callback refusing text over ``kind``'s limit as the line is read (the service
    checks it again, with everything else about the field).

    Raises (when called): InvalidInput when the text is over the limit.
    """

    kind: FreeText

    def __call__(
        self, _ctx: click.Context, _param: click.Parameter, value: str | None
    ) -> str | None:
        if value is not None:
            self.kind.within_limit(value)
        return value


def grep_option(rows: str) -> Callable[[F], F]:
    """``--grep TEXT``: only the ``rows`` (``entries``, ``requests``) holding TEXT."""
    return click.option(
        "--grep",
        metavar="TEXT",
        callback=TextLimit(GREP),
        help=f"Only {rows} holding TEXT in a column the list shows, case-insensitive; TEXT is"
        f" taken literally (% and _ are no wildcards), {GREP.help}. The catalog searches"
        " every row, not only the newest.",
    )


def reason_option(why: str = "Why", *, kept: str = "the ops log") -> Callable[[F], F]:
    """The required ``--reason`` of a command that changes or exports something: free text
    within ``REASON``'s limit, its help saying ``why`` and where it is ``kept``."""
    return click.option(
        "--reason",
        required=True,
        callback=TextLimit(REASON),
        help=f"{why} (kept in {kept}; {REASON.help}).",
    )


def if_version_option(what: str) -> Callable[[F], F]:
    """``--if-version N``: change the ``what`` only while it is the version N that was read
    (``show``/``list --json`` print it); changed since, the command exits 5 saying what it is
    now, and changes nothing."""
    return click.option(
        "--if-version",
        "seen",
        type=click.IntRange(min=1, max=2**31 - 1),
        metavar="N",
        help=f"Only if the {what} is still at version N, as read (its `version` in --json);"
        " another operator's change since is refused with exit 5, saying what changed.",
    )
