"""``notice send ID --enqueue`` on a PostgreSQL catalog: the send is recorded (one delivery),
then a job per region of its audience, run by real ``aptien-ops worker`` processes of that
region as the operator who queued it; each representative told once per channel, counted at
the loopback SMTP server and in the tenants' databases."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from jobs_world import worker_until_idle
from test_op_notice_send import ACME, GLOBEX, REP, World, world

from cli_runner import run_cli
from notice_reading import inapp_messages

__all__ = ["world"]

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize("world", ["postgresql"], indirect=True)
def test_a_queued_notice_is_told_by_each_regions_workers_once(world: World) -> None:
    w = world
    notice_id = w.draft()
    send = ("--json", "notice", "send", notice_id, "--enqueue")
    queued = run_cli(*send, config=w.config, operator="olga")
    assert queued.code == 0, queued.stderr
    jobs: list[dict[str, Any]] = queued.json()  # type: ignore[assignment]
    assert [(j["kind"], j["region"], j["target"]) for j in jobs] == [
        ("notify", "eu", notice_id),
        ("notify", "us", notice_id),
    ]
    assert w.server.messages == []
    again: list[dict[str, Any]] = run_cli(*send, config=w.config, operator="olga").json()  # type: ignore[assignment]
    assert [j["already_queued"] for j in again] == [True, True]

    worker_until_idle(w.config, "us")
    assert w.server.per_recipient() == Counter({REP[GLOBEX]: 1})
    worker_until_idle(w.config, "eu")
    assert w.server.per_recipient() == Counter({REP[ACME]: 1, REP[GLOBEX]: 1})
    assert len(inapp_messages(w)) == 1  # acme's representative is a user of its database
    shown = run_cli("--json", "notice", "deliveries", notice_id, config=w.config)
    [delivery] = shown.json()  # type: ignore[misc]
    assert delivery["channels"]["email"] == {"sent": 2, "pending": 0, "failed": 0}
    # A send run after the jobs delivers nothing more: one delivery, all told.
    resumed = run_cli("--json", "notice", "send", notice_id, config=w.config, operator="olga")
    assert resumed.code == 0, resumed.stderr
    assert w.server.per_recipient() == Counter({REP[ACME]: 1, REP[GLOBEX]: 1})
    console = w.console("ada")
    try:
        with console.ctx.catalog.read() as tx:
            entries = [e for e in tx.opslog.entries() if e.action == "notice.send"]
    finally:
        console.close()
    by_worker = [e for e in entries if '"batch"' in e.params]
    assert sorted(e.operator for e in by_worker) == ["olga", "olga"]
    assert all(e.outcome == "ok" for e in by_worker)
