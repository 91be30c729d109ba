"""``billing notify --enqueue`` on a PostgreSQL catalog: a job per region with a notice due,
run by real ``aptien-ops worker`` processes of that region as the operator who queued it;
each representative told once, counted at the loopback SMTP server."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from jobs_world import worker_until_idle
from test_billing_notify import ACME, GLOBEX, INITECH, REP, World, world

from aptien_ops.composition import open_console

__all__ = ["world"]

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize("world", ["postgresql"], indirect=True)
def test_billing_notices_go_out_by_region_through_the_workers_once(world: World) -> None:
    w = world
    queued = w.cli("--enqueue")
    assert queued.code == 0, queued.stderr
    jobs: list[dict[str, Any]] = queued.json()  # type: ignore[assignment]
    assert [(j["kind"], j["region"], j["target"]) for j in jobs] == [
        ("notify", "eu", "billing"),
        ("notify", "us", "billing"),
    ]
    assert w.server.messages == []
    again: list[dict[str, Any]] = w.cli("--enqueue").json()  # type: ignore[assignment]
    assert [j["already_queued"] for j in again] == [True, True]

    worker_until_idle(w.config, "us")
    assert w.server.per_recipient() == Counter({REP[GLOBEX]: 1, REP[INITECH]: 1})
    worker_until_idle(w.config, "eu")
    assert w.server.per_recipient() == Counter({REP[t]: 1 for t in (ACME, GLOBEX, INITECH)})
    left: dict[str, Any] = w.cli().json()  # type: ignore[assignment]
    assert left["notices"] == []  # nothing left to tell
    console = open_console(w.config)
    try:
        for job in jobs:
            assert console.jobs.show(int(job["job_id"])).state == "succeeded"
        with console.ctx.catalog.read() as tx:
            entries = [e for e in tx.opslog.entries() if e.action == "billing.notify"]
    finally:
        console.close()
    by_worker = [e for e in entries if '"worker"' in e.params]
    assert sorted(e.target for e in by_worker) == ["eu", "us"]
    assert {e.operator for e in by_worker} == {"bill"}
    assert all(e.outcome == "ok" for e in by_worker)
