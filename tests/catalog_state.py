"""What a change would leave in a sandbox, read straight from its catalog (one console for as
many reads as a test needs): tenants, operators, approvals, backups, the ops log, incidents,
and the files of its directory (tenant databases, backups, exports)."""

from __future__ import annotations

from pathlib import Path

#: Files SQLite makes and removes by itself while a connection is open.
_SCRATCH = ("-wal", "-shm", "-journal")


#: Where :meth:`CatalogState.state` has the ops log (oldest entry first).
OPSLOG = 4


class CatalogState:
    def __init__(self, config: Path) -> None:
        from aptien_ops.composition import open_console

        self.console = open_console(config)
        self.directory = config.parent

    def state(self) -> tuple[object, ...]:
        with self.console.ctx.catalog.read() as tx:
            rows = (
                tx.tenants.all(),
                tx.operators.all(),
                tx.approvals.all(),
                tx.backups.all(include_pruned=True),
                tx.opslog.entries(),
                tx.incidents.all(),
            )
        files = sorted(
            str(path.relative_to(self.directory))
            for path in self.directory.rglob("*")
            if path.is_file() and not path.name.endswith(_SCRATCH)
        )
        return (*rows, files)

    def close(self) -> None:
        self.console.close()
