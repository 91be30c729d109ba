"""A worker's job consoles: one per job thread and operator, each acting as its operator (its
own roles, event log and tenant stores) on the worker's one catalog engine, never an engine
of its own; closing them leaves the worker's catalog open."""

from __future__ import annotations

import threading
from pathlib import Path

from aptien_ops.composition import open_console
from aptien_ops.composition.console import Console
from aptien_ops.composition.worker import _JobConsoles


def test_job_consoles_act_as_their_operator_on_the_workers_catalog(
    catalog_config: Path,
) -> None:
    base = open_console(catalog_config)
    consoles = _JobConsoles(base)
    made: dict[str, list[Console]] = {}

    def job_thread(name: str) -> None:
        first = consoles.get("ada")
        made[name] = [first, consoles.get("ada"), consoles.get("zed-nobody")]

    try:
        threads = [threading.Thread(target=job_thread, args=(n,)) for n in ("t1", "t2")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        first, again, other = made["t1"]
        assert again is first, "a job thread keeps its console per operator between jobs"
        assert made["t2"][0] is not first, "each job thread has its own"
        for console in (*made["t1"], *made["t2"]):
            assert console.ctx.catalog is base.ctx.catalog
            assert console.ctx.events is not base.ctx.events
            assert console.ctx.identity.operator in ("ada", "zed-nobody")
        assert (first.identity.operator, other.identity.operator) == ("ada", "zed-nobody")
        assert base.identity.operator not in ("ada", "zed-nobody")
        # Each job reads its own operator's roles: a stranger has none, whatever the
        # worker's own operator has.
        assert other.ctx.my_roles() == frozenset()
        assert base.ctx.my_roles()
        consoles.close()
        assert not consoles.opened
        assert base.tenants.list() is not None, "the worker's catalog is still open"
    finally:
        base.close()
