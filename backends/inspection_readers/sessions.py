"""The tenant connections an inspection reader keeps open between pages."""

from __future__ import annotations

import sqlite3
from collections import OrderedDict
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from aptien_ops.errors import OpsError

#: Tenant connections a reader keeps open; ``inspect user`` walks hundreds of tenants.
KEEP_OPEN = 4


class Sessions:
    """Open tenant connections, least recently used closed first."""

    def __init__(self) -> None:
        self.open: OrderedDict[str, tuple[ExitStack | None, Any]] = OrderedDict()

    def get(self, tenant: str, opener: Callable[[str], tuple[ExitStack | None, Any]]) -> Any:
        """``tenant``'s connection, opened by ``opener`` if none is. Raises as ``opener``."""
        if tenant in self.open:
            self.open.move_to_end(tenant)
        else:
            self.open[tenant] = opener(tenant)
            while len(self.open) > KEEP_OPEN:
                self.drop(next(iter(self.open)))
        return self.open[tenant][1]

    def drop(self, tenant: str) -> None:
        stack, conn = self.open.pop(tenant, (None, None))
        try:
            if stack is not None:
                stack.close()
            elif conn is not None:
                conn.close()
        except (OpsError, sqlite3.Error):
            pass  # closing a connection that already failed: its error was reported

    def close(self) -> None:
        for tenant in list(self.open):
            self.drop(tenant)
