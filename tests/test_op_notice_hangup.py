"""``notice send`` stopped by the SSH connection lost (SIGHUP) or SIGTERM mid-send, as the real
program with a real SMTP server on loopback holding its third e-mail: exit 128 + the signal
with its one line, the accepted e-mails marked sent and the rest pending (none half-sent), the
attempt in the ops log as ``failed:interrupted``, and a rerun sends the rest exactly once. On
a SQLite and a PostgreSQL catalog (the ``world`` of tests/test_op_notice_send.py)."""

from __future__ import annotations

import signal

import pytest
from test_op_notice_send import World, _five_representatives, _send_stopped, world

from cli_runner import run_cli

__all__ = ["world"]  # the fixture, used by its name


@pytest.mark.parametrize(
    ("signum", "said"),
    [(signal.SIGHUP, "hung up"), (signal.SIGTERM, "terminated")],
    ids=["sighup", "sigterm"],
)
def test_the_connection_lost_mid_send_keeps_what_was_sent_and_a_rerun_sends_the_rest_once(
    world: World, signum: int, said: str
) -> None:
    """SIGHUP (the SSH session gone) or SIGTERM while the third e-mail waits for the server:
    exit 128 + the signal with its one line, the two accepted e-mails marked sent, the rest
    pending (none half-sent), the attempt logged as interrupted; the rerun sends the rest."""
    w = world
    wanted = _five_representatives(w)
    notice_id = w.draft()
    code, err = _send_stopped(w, notice_id, 2, signum)
    assert code == 128 + signum, err
    assert [line for line in err.splitlines() if line][-1] == f"aptien-ops: {said}", err
    assert "Traceback" not in err, err
    assert len(w.server.messages) == 2
    shown = run_cli("--json", "notice", "deliveries", notice_id, config=w.config, operator="vic")
    [delivery] = shown.json()
    assert delivery["channels"] == {"email": {"sent": 2, "pending": 3, "failed": 0}}
    log = run_cli("--json", "ops-log", "list", "--limit", "20", config=w.config).json()
    [send, *_] = [e for e in log if e["action"] == "notice.send"]
    assert (send["target"], send["outcome"]) == (notice_id, "failed:interrupted")
    done = run_cli("--json", "notice", "send", notice_id, config=w.config, operator="olga")
    assert done.code == 0, done.stderr
    assert done.json()["resumed"] is True
    assert w.server.per_recipient() == wanted
    shown = run_cli("--json", "notice", "deliveries", notice_id, config=w.config, operator="vic")
    assert shown.json()[0]["channels"] == {"email": {"sent": 5, "pending": 0, "failed": 0}}
