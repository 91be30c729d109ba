"""What the commands' parameters share: free text refused by its limit while the line is read,
before the console opens anything."""

from __future__ import annotations

from dataclasses import dataclass

import click

from aptien_ops.domain.free_text import FreeText


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
